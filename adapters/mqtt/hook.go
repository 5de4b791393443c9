package mqtt

import (
	"bytes"
	"errors"
	"log/slog"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/beckonhq/beckon/adapters/mqtt/wire"
)

// pendingTTL bounds how long an accepted CONNECT whose CONNACK could not
// be written (so that mochi never reports its end) counts against its
// user's connections.
const pendingTTL = 30 * time.Second

// refusal is a CONNACK refusal: its MQTT 5 reason and MQTT 3.1.1 return
// code (docs/protocol.md "Connecting").
type refusal struct {
	v5, v3 byte
	why    string
}

var (
	refuseCredentials = refusal{0x86, 4, "bad user name or password"}
	refuseClientID    = refusal{0x85, 2, "client identifier not valid"}
	refuseQuota       = refusal{0x97, 3, "too many connections of this user"}
	refuseShutdown    = refusal{0x88, 3, "server shutting down"}
)

var errRefused = errors.New("connection refused")

// hook implements the protocol on mochi's hooks. Every method runs on a
// connection's read goroutine (or its connection goroutine): none waits
// for the Engine.
type hook struct {
	mochi.HookBase
	s *Server
}

func (h *hook) ID() string { return "beckon" }

// Provides is asked for every packet: a switch, no allocation.
func (h *hook) Provides(b byte) bool {
	switch b {
	case mochi.OnConnect, mochi.OnConnectAuthenticate, mochi.OnSessionEstablish, mochi.OnSessionEstablished,
		mochi.OnACLCheck, mochi.OnSubscribed, mochi.OnUnsubscribed, mochi.OnPublish, mochi.OnQosComplete,
		mochi.OnDisconnect:
		return true
	}
	return false
}

// OnConnect authenticates the connection (REM-1), checks its client ID and
// its user's connection count, and refuses it with the CONNACK code of
// the doc, or records it.
func (h *hook) OnConnect(cl *mochi.Client, pk packets.Packet) error {
	s := h.s
	user := string(pk.Connect.Username)
	cid := pk.Connect.ClientIdentifier
	refuse := func(r refusal, err error) error {
		code := r.v3
		if cl.Properties.ProtocolVersion == 5 {
			code = r.v5
		}
		s.log.Info("mqtt: connection refused", slog.String("client", cid), slog.String("user", user),
			slog.String("why", r.why), slog.Any("err", err))
		_ = cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ReasonCode: code})
		return errRefused
	}
	if err := wire.ValidID(user); err != nil || !pk.Connect.UsernameFlag {
		return refuse(refuseCredentials, err)
	}
	if err := s.opts.Authenticator.Authenticate(user, pk.Connect.Password); err != nil {
		return refuse(refuseCredentials, err)
	}
	device, err := wire.ParseClientID(user, cid)
	if err != nil {
		return refuse(refuseClientID, err)
	}
	// The device's wish (docs/protocol.md "Sessions"): clean start false
	// asks to resume; the expiry is MQTT 5's Session Expiry Interval, or
	// for MQTT 3.1.1 the server's when not clean, capped by it.
	resume := !pk.Connect.Clean
	limit := int(s.opts.SessionExpiry / time.Second)
	expiry := 0
	switch {
	case cl.Properties.ProtocolVersion == 5:
		expiry = int(min(pk.Properties.SessionExpiryInterval, uint32(limit)))
	case resume:
		expiry = limit
	}
	// The adapter keeps sessions itself (session.go): mochi forgets this
	// client when its connection ends.
	cl.Properties.Clean = true
	cl.Properties.Props.SessionExpiryInterval = 0
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return refuse(refuseShutdown, nil)
	}
	n := 0
	now := time.Now()
	for other, c := range s.conns {
		switch {
		case c.user != user:
		case !c.established && now.Sub(c.created) > pendingTTL:
			delete(s.conns, other)
		case c.cid != cid: // a connection with the same ID is taken over, not added
			n++
		}
	}
	if n >= s.opts.MaxConnsPerUser {
		return refuse(refuseQuota, nil)
	}
	c := newConn(s, cl, user, device, cid)
	c.resume, c.expiry = resume, expiry
	s.conns[cl] = c
	return nil
}

// OnConnectAuthenticate accepts what OnConnect accepted.
func (h *hook) OnConnectAuthenticate(cl *mochi.Client, _ packets.Packet) bool {
	return h.s.conn(cl) != nil
}

// OnSessionEstablish runs before mochi takes over an older connection
// with the same client ID: mochi's copy of its unacknowledged messages is
// dropped, so that mochi never writes them to the new connection (the
// session's queue does, when the device resumes). Mochi writes the old
// connection a DISCONNECT before the new one's CONNACK; if the old one is
// stuck (its device stopped reading), it is closed without it after
// disconnectGrace, so that the new connection waits no longer.
func (h *hook) OnSessionEstablish(cl *mochi.Client, _ packets.Packet) {
	if old, ok := h.s.mochi.Clients.Get(cl.ID); ok && old != cl {
		old.ClearInflights()
		time.AfterFunc(disconnectGrace, func() { old.Stop(packets.ErrSessionTakenOver) })
	}
}

// OnSessionEstablished starts the connection's worker and publisher.
func (h *hook) OnSessionEstablished(cl *mochi.Client, _ packets.Packet) {
	s := h.s
	s.mu.Lock()
	c := s.conns[cl]
	if c == nil || s.closed {
		s.mu.Unlock()
		_ = s.mochi.DisconnectClient(cl, packets.ErrServerShuttingDown)
		return
	}
	c.established = true
	s.workers.Add(2)
	s.mu.Unlock()
	go c.work()
	go c.publish()
	// A subscription inherited from a connection taken over is granted.
	if _, ok := cl.State.Subscriptions.Get(wire.EventsTopic(c.cid)); ok {
		c.markSubscribed()
	}
	if _, ok := cl.State.Subscriptions.Get(wire.ReplyTopic(c.cid)); ok {
		c.replySub.Store(true)
	}
}

// OnACLCheck confines a device to its own topics (REM-2): it may publish
// to its req topic and subscribe to its reply and events topics, by their
// exact names (so no wildcard, $share or $SYS filter matches).
func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	c := h.s.conn(cl)
	if c == nil {
		return false
	}
	if write {
		return topic == wire.ReqTopic(c.cid)
	}
	return topic == wire.ReplyTopic(c.cid) || topic == wire.EventsTopic(c.cid)
}

// OnSubscribed notes the granted subscriptions; the events one makes the
// connection the session (see join).
func (h *hook) OnSubscribed(cl *mochi.Client, pk packets.Packet, codes []byte) {
	c := h.s.conn(cl)
	if c == nil {
		return
	}
	for i, f := range pk.Filters {
		if i >= len(codes) || codes[i] >= packets.ErrUnspecifiedError.Code {
			continue
		}
		switch f.Filter {
		case wire.EventsTopic(c.cid):
			c.markSubscribed()
		case wire.ReplyTopic(c.cid):
			c.replySub.Store(true)
		}
	}
}

// OnUnsubscribed: without its events subscription a connection cannot be
// the session, so it is closed (the session ends); without its reply
// subscription, replies are dropped.
func (h *hook) OnUnsubscribed(cl *mochi.Client, pk packets.Packet) {
	c := h.s.conn(cl)
	if c == nil {
		return
	}
	for _, f := range pk.Filters {
		switch f.Filter {
		case wire.EventsTopic(c.cid):
			c.kick("unsubscribed from its events")
		case wire.ReplyTopic(c.cid):
			c.replySub.Store(false)
		}
	}
}

// OnPublish hands a request to the connection's worker (the ACL check let
// only the device's own req topic through) and keeps it from being routed
// anywhere. The token bucket decides here, in arrival order; a refusal
// still goes through the worker, which answers it with 7008.
func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	c := h.s.conn(cl)
	if c == nil {
		return pk, packets.ErrRejectPacket
	}
	j := job{payload: bytes.Clone(pk.Payload), correlation: pk.Properties.CorrelationData,
		respTopic: pk.Properties.ResponseTopic, limited: !c.bucket.take(time.Now())}
	select {
	case c.requests <- j:
	default:
		h.s.log.Warn("mqtt: request dropped: the connection's queue is full", slog.String("client", c.cid))
	}
	return pk, packets.CodeSuccessIgnore
}

// OnQosComplete takes the device's PUBACK of an event (conn.acked).
func (h *hook) OnQosComplete(cl *mochi.Client, pk packets.Packet) {
	if c := h.s.conn(cl); c != nil {
		c.acked(pk.PacketID)
	}
}

// OnDisconnect forgets the connection; its worker ends its session.
func (h *hook) OnDisconnect(cl *mochi.Client, _ error, _ bool) {
	s := h.s
	s.mu.Lock()
	c := s.conns[cl]
	delete(s.conns, cl)
	s.mu.Unlock()
	if c != nil {
		c.end()
	}
}

// conn returns the connection record of cl, nil if none.
func (s *Server) conn(cl *mochi.Client) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[cl]
}
