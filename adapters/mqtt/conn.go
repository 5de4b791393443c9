package mqtt

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/beckonhq/beckon/adapters/mqtt/wire"
	"github.com/beckonhq/beckon/kernel"
)

// conn is one accepted connection: the user it authenticated as, its
// device, and the goroutines that serve it.
type conn struct {
	s       *Server
	cl      *mochi.Client
	user    string
	device  string
	cid     string // ClientID(user, device)
	v5      bool
	created time.Time

	established bool // CONNACK sent and the goroutines run; guarded by Server.mu

	requests chan job          // read goroutine -> worker; never blocks the sender
	events   chan kernel.Event // Deliver -> publisher; never blocks the sender

	subscribed chan struct{} // closed when the events subscription is granted
	subOnce    sync.Once
	replySub   atomic.Bool // the device is subscribed to its reply topic
	done       chan struct{}
	doneOnce   sync.Once

	bucket bucket // read goroutine only
}

// requestQueue*RequestBurst requests of a connection wait for its worker
// at most, those refused with 7008 included: a device that far over its
// rate has requests dropped unanswered (logged).
const requestQueue = 4

// job is one request as received, for the worker.
type job struct {
	payload     []byte
	correlation []byte // MQTT 5 CorrelationData
	respTopic   string // MQTT 5 ResponseTopic
	limited     bool   // over the rate: refused with 7008
}

func newConn(s *Server, cl *mochi.Client, user, device, cid string) *conn {
	now := time.Now()
	return &conn{
		s: s, cl: cl, user: user, device: device, cid: cid, created: now,
		v5:         cl.Properties.ProtocolVersion == 5,
		requests:   make(chan job, requestQueue*s.opts.RequestBurst),
		events:     make(chan kernel.Event, s.opts.EventQueue),
		subscribed: make(chan struct{}),
		done:       make(chan struct{}),
		bucket: bucket{tokens: float64(s.opts.RequestBurst), burst: float64(s.opts.RequestBurst),
			rate: s.opts.RequestsPerSecond, last: now},
	}
}

func (c *conn) key() sessionKey { return sessionKey{c.user, c.device} }

func (c *conn) markSubscribed() { c.subOnce.Do(func() { close(c.subscribed) }) }

func (c *conn) end() { c.doneOnce.Do(func() { close(c.done) }) }

// kick closes the connection from the server side; its session ends.
func (c *conn) kick(why string) {
	c.s.log.Warn("mqtt: disconnecting a device", slog.String("client", c.cid), slog.String("why", why))
	go func() { _ = c.s.mochi.DisconnectClient(c.cl, packets.ErrAdministrativeAction) }()
}

// work applies the connection's presence and its requests, one at a time.
func (c *conn) work() {
	defer c.s.workers.Done()
	sub := c.subscribed
	for {
		select {
		case <-c.done:
			c.leave()
			return
		case <-sub:
			sub = nil
			c.join()
		case j := <-c.requests:
			c.handle(j)
		}
	}
}

// join makes this connection the session: an earlier connection of the
// same client ID that still is gets Disconnect first, so that the kernel
// never sees two; the session is registered for Deliver before Connect is
// applied, so the events Connect re-delivers (SYN-1) find it.
func (c *conn) join() {
	s := c.s
	key := c.key()
	ses := s.acquire(key)
	defer s.release(key, ses)
	ses.mu.Lock()
	defer ses.mu.Unlock()
	if old := ses.owner; old != nil {
		s.setOwner(ses, nil)
		if _, err := s.opts.Engine.Do(s.ctx, kernel.Disconnect(c.user, c.device)); err != nil {
			s.log.Warn("mqtt: ending the session taken over", slog.String("client", c.cid), slog.Any("err", err))
		}
	}
	select {
	case <-c.done:
		return
	default:
	}
	s.setOwner(ses, c)
	if _, err := s.opts.Engine.Do(s.ctx, kernel.Connect(c.user, c.device)); err != nil {
		s.setOwner(ses, nil)
		s.log.Warn("mqtt: connecting a session", slog.String("client", c.cid), slog.Any("err", err))
		c.kick("the session could not start")
	}
}

// leave ends the session if this connection still is it.
func (c *conn) leave() {
	s := c.s
	key := c.key()
	ses := s.acquire(key)
	defer s.release(key, ses)
	ses.mu.Lock()
	defer ses.mu.Unlock()
	s.mu.Lock()
	mine := ses.owner == c
	if mine {
		ses.owner = nil
	}
	s.mu.Unlock()
	if !mine {
		return
	}
	if _, err := s.opts.Engine.Do(s.ctx, kernel.Disconnect(c.user, c.device)); err != nil {
		s.log.Warn("mqtt: ending a session", slog.String("client", c.cid), slog.Any("err", err))
	}
}

// handle answers one request with exactly one reply, or drops it when it
// has no correlation ID to answer with.
func (c *conn) handle(j job) {
	req, err := DecodeRequest(j.payload, c.user, c.device, c.s.opts.MaxRequestBytes)
	if err == nil && j.respTopic != "" && j.respTopic != wire.ReplyTopic(c.cid) {
		err = malformed("ResponseTopic %q is not this device's reply topic %q", j.respTopic, wire.ReplyTopic(c.cid))
	}
	if err == nil && j.limited {
		err = errTooManyRequests
	}
	if err != nil && req.ID == "" && len(j.correlation) == 0 {
		c.s.log.Debug("mqtt: dropped a request without correlation ID", slog.String("client", c.cid), slog.Any("err", err))
		return
	}
	r := wire.Reply[any]{ID: req.ID}
	if err == nil {
		r.Result, err = c.apply(req)
	}
	if err != nil {
		r = failure(req.ID, err)
	}
	payload, err := json.Marshal(r)
	if err != nil {
		c.s.log.Error("mqtt: encoding a reply", slog.Any("err", err))
		return
	}
	if !c.replySub.Load() {
		c.s.log.Debug("mqtt: reply dropped: the device is not subscribed to it", slog.String("client", c.cid))
		return
	}
	if err := c.send(wire.ReplyTopic(c.cid), payload, j.correlation); err != nil {
		c.s.log.Debug("mqtt: writing a reply", slog.String("client", c.cid), slog.Any("err", err))
	}
}

func (c *conn) apply(req Request) (any, error) {
	eng := c.s.opts.Engine
	switch {
	case req.History != nil:
		q := req.History
		msgs, err := eng.HistoryAs(c.s.ctx, c.user, q.Conv, q.After, q.Limit)
		if err != nil {
			return nil, err
		}
		return wire.NewHistoryResult(msgs), nil
	case req.ListOpen:
		invs, err := eng.OpenInvitations(c.s.ctx, c.user)
		if err != nil {
			return nil, err
		}
		return wire.NewOpenResult(invs), nil
	case req.Records != nil:
		q := req.Records
		// one more than the page: whether there is a next page
		rs, err := eng.Records(c.user, q.After, q.Limit+1)
		if err != nil {
			return nil, err
		}
		return wire.NewRecordsResult(rs, q.Limit), nil
	}
	res, err := eng.Do(c.s.ctx, *req.Input)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return nil, err
	}
	if req.Input.Op == kernel.OpInvite || req.Input.Op == kernel.OpInviteInGroup {
		return wire.InviteResult{InviteID: res.InviteID}, nil
	}
	return struct{}{}, nil
}

// publish writes the session's events in order, numbered from 1.
func (c *conn) publish() {
	defer c.s.workers.Done()
	var seq uint64
	for {
		select {
		case <-c.done:
			return
		case ev := <-c.events:
			seq++
			payload, err := wire.EncodeEvent(seq, ev)
			if err == nil {
				err = c.send(wire.EventsTopic(c.cid), payload, nil)
			}
			if err != nil {
				c.kick(fmt.Sprintf("writing event %d: %v", seq, err))
				return
			}
		}
	}
}

// send writes one QoS 1 PUBLISH to this connection, and only to it: a
// takeover's new connection never gets the old one's events.
func (c *conn) send(topic string, payload []byte, correlation []byte) error {
	cl := c.cl
	if cl.State.Inflight.Len() >= c.s.opts.EventQueue {
		return fmt.Errorf("%d messages unacknowledged", cl.State.Inflight.Len())
	}
	id, err := cl.NextPacketID()
	if err != nil {
		return err
	}
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1},
		TopicName:   topic,
		Payload:     payload,
		PacketID:    uint16(id),
		Created:     time.Now().Unix(),
	}
	if c.v5 && len(correlation) > 0 {
		pk.Properties.CorrelationData = correlation
	}
	cl.State.Inflight.Set(pk)
	cl.State.Inflight.DecreaseSendQuota()
	return cl.WritePacket(pk)
}

// bucket is a token bucket: rate tokens a second, at most burst.
type bucket struct {
	tokens, burst, rate float64
	last                time.Time
}

func (b *bucket) take(now time.Time) bool {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
