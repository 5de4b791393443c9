package mqtt

import (
	"errors"
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
	// resume: the device asked to resume its session (clean start or
	// clean session false); expiry: the seconds its session is to outlive
	// a lost connection (Options.SessionExpiry).
	resume bool
	expiry int

	established bool // CONNACK sent and the goroutines run; guarded by Server.mu

	requests chan job      // read goroutine -> worker; never blocks the sender
	wakeC    chan struct{} // Keep -> publisher: the queue may have more; capacity 1
	ses      *session      // once joined: the session this connection is
	// started is closed once join has made this connection the session,
	// resumed telling whether it was resumed (the Session notice).
	started chan struct{}
	resumed bool

	pmu  sync.Mutex
	pids map[uint16]uint64 // events written and not acknowledged: packet ID -> Seq

	// wmu is held while writing: the worker (a reply) and the publisher
	// (events) each write, under it, everything due (flush), so that a
	// connection's events keep their order and go out with the reply of
	// the same batch in one write.
	wmu     sync.Mutex
	cc      *corkConn // the connection's bytes (establish wraps every one)
	noticed bool      // the Session notice is written; guarded by wmu

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
	cc := cl.Net.Conn.(*corkConn) // every connection comes through establish
	return &conn{
		s: s, cl: cl, cc: cc, user: user, device: device, cid: cid, created: now,
		v5:         cl.Properties.ProtocolVersion == 5,
		requests:   make(chan job, requestQueue*s.opts.RequestBurst),
		wakeC:      make(chan struct{}, 1),
		started:    make(chan struct{}),
		pids:       make(map[uint16]uint64),
		subscribed: make(chan struct{}),
		done:       make(chan struct{}),
		bucket: bucket{tokens: float64(s.opts.RequestBurst), burst: float64(s.opts.RequestBurst),
			rate: s.opts.RequestsPerSecond, last: now},
	}
}

func (c *conn) key() sessionKey { return sessionKey{c.user, c.device} }

func (c *conn) markSubscribed() { c.subOnce.Do(func() { close(c.subscribed) }) }

func (c *conn) end() { c.doneOnce.Do(func() { close(c.done) }) }

// wake tells the publisher that the queue may have more.
func (c *conn) wake() {
	select {
	case c.wakeC <- struct{}{}:
	default:
	}
}

// kick closes the connection from the server side (leave then suspends
// or ends its session, as for any lost connection). A connection already
// closed is left alone.
func (c *conn) kick(why string) {
	if c.cl.Closed() {
		return
	}
	c.s.log.Warn("mqtt: disconnecting a device", slog.String("client", c.cid), slog.String("why", why))
	go c.s.disconnect(c.cl, packets.ErrAdministrativeAction)
}

// errBehind: the device has not acknowledged Options.EventQueue events
// written to its connection.
var errBehind = errors.New("the device does not keep up")

// lost closes a connection a write to which failed: the network or the
// device ended it (a reset, a broken pipe), which is no news (Debug).
func (c *conn) lost(what string, err error) {
	c.s.log.Debug("mqtt: a write failed: the connection is lost", slog.String("client", c.cid),
		slog.String("writing", what), slog.Any("err", err))
	go c.s.disconnect(c.cl, packets.ErrAdministrativeAction)
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

// join makes this connection the session. A device that asks to resume
// gets its session back if it is still there (REM-5): the events it has
// not acknowledged are written again, then the rest; else, and for a
// device that starts clean, a new one starts (Connect: SYN-1 re-delivers
// what is pending, REM-6), the session there ending first (Disconnect of
// one that has a connection; Connect ends one away itself), so that the
// kernel never sees two. A session whose queue overflowed is
// never resumed. This connection is the session (the owner) before the
// Engine calls, so the events they cause find it.
func (c *conn) join() {
	s := c.s
	ses, unlock := s.lockSession(c.key())
	defer unlock()
	resume := c.resume && !ses.isBroken()
	if old := ses.owner; old != nil && !resume {
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
	c.ses = ses
	s.setOwner(ses, c)
	ses.setAway(false)
	in := kernel.Input{Op: kernel.OpConnect, User: c.user, Session: c.device, Timeout: c.expiry}
	if resume {
		in.Op = kernel.OpResume
	}
	res, err := s.opts.Engine.Do(s.ctx, in)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		s.setOwner(ses, nil)
		s.log.Warn("mqtt: starting a session", slog.String("client", c.cid), slog.Any("err", err))
		c.kick("the session could not start")
		return
	}
	c.resumed = res.Resumed
	close(c.started)
	c.wake()
}

// leave ends or suspends the session if this connection still is it: a
// session with an expiry whose connection was lost stays, away (REM-4);
// a clean disconnect (the device's DISCONNECT) ends it, as does the loss
// of a connection without expiry, or of one whose queue overflowed.
func (c *conn) leave() {
	s := c.s
	ses, unlock := s.lockSession(c.key())
	defer unlock()
	s.mu.Lock()
	mine := ses.owner == c
	s.mu.Unlock()
	if !mine {
		return // taken over: the owner changes only under ses.mu
	}
	s.setOwner(ses, nil)
	in := kernel.Suspend(c.user, c.device)
	if c.expiry == 0 || c.cl.StopCause() == packets.CodeDisconnect || ses.isBroken() {
		in = kernel.Disconnect(c.user, c.device)
	}
	ses.setAway(in.Op == kernel.OpSuspend)
	if _, err := s.opts.Engine.Do(s.ctx, in); err != nil {
		s.log.Warn("mqtt: ending a session", slog.String("client", c.cid), slog.String("op", in.Op.String()), slog.Any("err", err))
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
	payload, err := wire.EncodeReply(r)
	if err != nil {
		c.s.log.Error("mqtt: encoding a reply", slog.Any("err", err))
		return
	}
	if !c.replySub.Load() {
		c.s.log.Debug("mqtt: reply dropped: the device is not subscribed to it", slog.String("client", c.cid))
		return
	}
	c.flush(&reply{payload: payload, correlation: j.correlation})
}

// reply is a reply to write: its payload and MQTT 5 CorrelationData.
type reply struct {
	payload, correlation []byte
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

// publish writes, once join has made this connection the session, the
// Session notice, then the session's queue in order (port.Keeper): the
// events not acknowledged by an earlier connection first; then each event
// as it is queued, unless the worker's flush wrote it first.
func (c *conn) publish() {
	defer c.s.workers.Done()
	select {
	case <-c.done:
		return
	case <-c.started:
	}
	for {
		if !c.flush(nil) {
			return
		}
		select {
		case <-c.done:
			return
		case <-c.wakeC:
		}
	}
}

// flush writes what is due on the connection, under wmu and in one write:
// once the connection is the session (join), the Session notice first,
// then the session's events not written yet, in order; then r, if not
// nil. It reports false when the connection is done for: a write failed
// (lost) or the device does not acknowledge its events (kicked); a reply
// that cannot be written is only logged, as its connection is lost anyway.
func (c *conn) flush(r *reply) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.cc.cork()
	ok := c.writeEvents()
	if ok && r != nil {
		if err := c.send(wire.ReplyTopic(c.cid), r.payload, r.correlation, 0); err != nil {
			c.s.log.Debug("mqtt: writing a reply", slog.String("client", c.cid), slog.Any("err", err))
		}
	}
	if err := c.cc.uncork(); err != nil && ok {
		c.lost("a batch of writes", err)
		return false
	}
	return ok
}

// writeEvents writes the Session notice, if it is due and not written,
// and the session's events not written yet; wmu is held.
func (c *conn) writeEvents() bool {
	select {
	case <-c.started:
	default:
		return true // not the session yet: no notice, no events
	}
	if !c.noticed {
		if err := c.send(wire.EventsTopic(c.cid), wire.EncodeSessionNotice(c.resumed, c.expiry), nil, 0); err != nil {
			c.lost("the session notice", err)
			return false
		}
		c.noticed = true
	}
	for {
		e, ok := c.ses.next(c)
		if !ok {
			return true
		}
		payload, err := wire.EncodeEvent(e.Seq, e.Event)
		if err == nil {
			err = c.send(wire.EventsTopic(c.cid), payload, nil, e.Seq)
		}
		if err != nil {
			if errors.Is(err, errBehind) {
				c.kick(fmt.Sprintf("writing event %d: %v", e.Seq, err))
			} else {
				c.lost(fmt.Sprintf("event %d", e.Seq), err)
			}
			return false
		}
	}
}

// acked takes the device's PUBACK of packet id: an event's acknowledges
// it and every one before it (QoS 1 acknowledgements come in order).
func (c *conn) acked(id uint16) {
	c.pmu.Lock()
	seq, ok := c.pids[id]
	delete(c.pids, id)
	c.pmu.Unlock()
	if !ok {
		return
	}
	if c.ses.ack(c, seq) && c.expiry > 0 { // the store keeps only a resumable session's events
		c.s.opts.Engine.Acked(c.user, c.device, seq)
	}
}

// send writes one PUBLISH to this connection, and only to it: a
// takeover's new connection never gets the old one's events. An event
// (seq, its Seq, not 0) goes at QoS 1: its PUBACK acknowledges it (acked).
// A reply or the Session notice (seq 0) goes at QoS 0: it belongs to this
// connection, which TCP keeps in order and intact, and is never sent again
// on another, so a PUBACK would add a packet each way and nothing else.
func (c *conn) send(topic string, payload []byte, correlation []byte, seq uint64) error {
	cl := c.cl
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish},
		TopicName:   topic,
		Payload:     payload,
		Created:     time.Now().Unix(),
	}
	if c.v5 && len(correlation) > 0 {
		pk.Properties.CorrelationData = correlation
	}
	if seq == 0 {
		return cl.WritePacket(pk)
	}
	if n := cl.State.Inflight.Len(); n >= c.s.opts.EventQueue {
		return fmt.Errorf("%w: %d events unacknowledged", errBehind, n)
	}
	id, err := cl.NextPacketID()
	if err != nil {
		return err
	}
	pk.FixedHeader.Qos, pk.PacketID = 1, uint16(id)
	c.pmu.Lock()
	c.pids[pk.PacketID] = seq
	c.pmu.Unlock()
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
