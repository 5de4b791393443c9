package scale

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beckonhq/beckon/adapters/mqtt/wire"
	"github.com/beckonhq/beckon/internal/mqttload"
	"github.com/beckonhq/beckon/internal/mqttpacket"
)

// Patience bounds every wait of a device: dialling, CONNACK, SUBACK, a
// request's reply.
const Patience = mqttload.Patience

// maxPacket bounds what a device accepts from the server: its events and
// replies are small JSON objects (docs/protocol.md "Limits").
const maxPacket = 1 << 20

// readBuffer is each connection's read buffer: events and replies are a
// few hundred bytes, and ten thousand idle devices should cost little.
const readBuffer = 512

// Event is an event ("Events"), or the Session message that opens the
// events topic of a connection asking to resume ("Sequence numbers"):
// only the fields the load program checks.
type Event struct {
	Seq      uint64 `json:"seq"`
	Type     string `json:"type"`
	InviteID string `json:"inviteID"`
	Resumed  bool   `json:"resumed"` // of a Session message
}

// sessionType is the Type of the Session message.
const sessionType = "Session"

// Reply is the answer to one request ("Requests and replies").
type Reply = mqttload.Reply

// Device is one MQTT 3.1.1 device written from docs/protocol.md with the
// few packets it needs (internal/mqttpacket), lean enough for ten thousand
// in one process: one read goroutine per connection, no other, and the
// caller pings. It keeps its session across connections: Connect after
// Drop asks to resume. It is not built on mqttload.Client, which keeps a
// ping goroutine and a 4 KiB read buffer per connection and does not
// reconnect; it shares mqttload's requests (Replies, Invite, Answer).
type Device struct {
	User, ID string
	cid      string
	token    string
	addr     string
	clean    bool
	onEvent  func(*Device, Event, time.Time)

	wmu    sync.Mutex // serializes writes; guards conn and nextID
	conn   net.Conn
	nextID uint16

	up      atomic.Bool
	dropped atomic.Bool   // the connection was ended by Drop or Close
	reading chan struct{} // closed when the current connection's reader ends

	replies mqttload.Replies

	lastSeq uint64 // reader only
	opened  bool   // reader only: the current connection has had an event or Session message
	stats   Stats
}

// Stats count what a device saw on its events topics.
type Stats struct {
	Events   atomic.Uint64 // handed to OnEvent (Session messages excluded)
	Dups     atomic.Uint64 // dropped: seq not above the last handled (QoS 1 re-delivery)
	Gaps     atomic.Uint64 // a seq above last+1: events lost
	Sessions atomic.Uint64 // Session messages
	Fresh    atomic.Uint64 // Session messages with resumed=false
	Lost     atomic.Uint64 // connections that ended without Drop or Close
}

// DeviceOptions say where and as whom a device connects.
type DeviceOptions struct {
	Addr     string // host:port of the server's MQTT listener
	User, ID string // user and device IDs
	Token    string
	Clean    bool // clean session: false asks the server to keep the session (resume)
	// OnEvent gets each event once, in seq order, on the read goroutine,
	// with when it was read; and each Session message. It must not block.
	OnEvent func(*Device, Event, time.Time)
}

// NewDevice returns a device, not yet connected.
func NewDevice(o DeviceOptions) *Device {
	on := o.OnEvent
	if on == nil {
		on = func(*Device, Event, time.Time) {}
	}
	return &Device{User: o.User, ID: o.ID, cid: wire.ClientID(o.User, o.ID), token: o.Token, addr: o.Addr,
		clean: o.Clean, onEvent: on}
}

// Stats are the device's counters.
func (d *Device) Stats() *Stats { return &d.stats }

// Up reports whether the device's connection is open.
func (d *Device) Up() bool { return d.up.Load() }

// Connect dials, sends CONNECT, and subscribes to the reply topic, then to
// the events topic (its grant makes the connection the session); it
// returns once both are granted. keepAlive is sent in CONNECT; the caller
// pings (Ping). A device connects when new and after Drop; Connect and
// Drop are not called at once.
func (d *Device) Connect(keepAlive time.Duration) error {
	if d.reading != nil && d.dropped.Load() {
		<-d.reading // the dropped connection's reader is done with the seq state
	}
	if d.Up() {
		return fmt.Errorf("scale: %s: already connected: Drop it first", d.cid)
	}
	if d.reading != nil {
		<-d.reading // a lost connection's reader, ending
	}
	c, err := net.DialTimeout("tcp", d.addr, Patience)
	if err != nil {
		return fmt.Errorf("scale: %s: %w", d.cid, err)
	}
	fail := func(err error) error {
		c.Close()
		return fmt.Errorf("scale: %s: %w", d.cid, err)
	}
	r := bufio.NewReaderSize(c, readBuffer)
	_ = c.SetDeadline(time.Now().Add(Patience))
	connect := mqttpacket.Connect{ClientID: d.cid, User: d.User, Password: d.token, Clean: d.clean,
		KeepAlive: uint16(keepAlive / time.Second)}
	if _, err := c.Write(connect.Encode()); err != nil {
		return fail(err)
	}
	p, err := mqttpacket.ReadPacket(r, nil, maxPacket)
	if err != nil {
		return fail(fmt.Errorf("no CONNACK: %w", err))
	}
	if p.Kind != mqttpacket.KindConnack || len(p.Body) != 2 {
		return fail(fmt.Errorf("got packet type %d before CONNACK", p.Kind))
	}
	if p.Body[1] != 0 {
		return fail(fmt.Errorf("CONNACK return code %d (docs/protocol.md \"Connecting\")", p.Body[1]))
	}
	_ = c.SetDeadline(time.Time{})
	subacks := make(chan mqttpacket.Packet, 2)
	d.wmu.Lock()
	d.conn = c
	d.dropped.Store(false)
	d.up.Store(true)
	d.wmu.Unlock()
	d.reading = make(chan struct{})
	d.opened = false
	go d.read(c, r, subacks, d.reading)
	// Both SUBSCRIBEs at once: the server handles a connection's packets
	// in order, so reply is granted before events.
	replyID, eventsID := d.writeWithID(func(id uint16) []byte { return mqttpacket.Subscribe(id, wire.ReplyTopic(d.cid)) }),
		d.writeWithID(func(id uint16) []byte { return mqttpacket.Subscribe(id, wire.EventsTopic(d.cid)) })
	timeout := time.NewTimer(Patience)
	defer timeout.Stop()
	for granted := 0; granted < 2; {
		select {
		case p, ok := <-subacks:
			if !ok {
				return fmt.Errorf("scale: %s: connection lost while subscribing", d.cid)
			}
			if id := p.ID(); (id != replyID && id != eventsID) || len(p.Body) != 3 || p.Body[2] != 1 {
				d.Drop()
				return fmt.Errorf("scale: %s: SUBACK %v, want packet %d or %d granted QoS 1", d.cid, p.Body, replyID, eventsID)
			}
			granted++
		case <-timeout.C:
			d.Drop()
			return fmt.Errorf("scale: %s: no SUBACK within %v", d.cid, Patience)
		}
	}
	return nil
}

// writeWithID writes the packet build makes with a fresh packet ID and
// returns the ID (0 if the connection is down).
func (d *Device) writeWithID(build func(id uint16) []byte) uint16 {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if d.conn == nil {
		return 0
	}
	d.nextID++
	if d.nextID == 0 {
		d.nextID = 1
	}
	id := d.nextID
	d.writeLocked(build(id))
	return id
}

func (d *Device) write(b []byte) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	d.writeLocked(b)
}

// writeLocked writes b; a failed write closes the connection, which ends
// its reader.
func (d *Device) writeLocked(b []byte) {
	if d.conn == nil {
		return
	}
	_ = d.conn.SetWriteDeadline(time.Now().Add(Patience))
	if _, err := d.conn.Write(b); err != nil {
		d.conn.Close()
	}
}

// read handles one connection's packets until it ends.
func (d *Device) read(c net.Conn, r *bufio.Reader, subacks chan<- mqttpacket.Packet, done chan<- struct{}) {
	defer close(done)
	defer close(subacks)
	for {
		p, err := mqttpacket.ReadPacket(r, nil, maxPacket)
		if err != nil {
			break
		}
		switch p.Kind {
		case mqttpacket.KindSuback:
			select {
			case subacks <- p:
			default:
			}
		case mqttpacket.KindPublish:
			pub, err := mqttpacket.ParsePublish(p)
			if err != nil {
				c.Close()
				continue
			}
			d.received(pub)
			if pub.QoS > 0 {
				d.write(mqttpacket.Puback(pub.ID))
			}
		}
	}
	d.wmu.Lock()
	if d.conn == c {
		d.conn = nil
		d.up.Store(false)
		if !d.dropped.Load() {
			d.stats.Lost.Add(1)
		}
	}
	d.wmu.Unlock()
	c.Close()
	d.replies.Fail()
}

// received handles a PUBLISH: a reply goes to its caller, an event to
// OnEvent unless its seq is not above the last handled.
func (d *Device) received(pub mqttpacket.Publish) {
	switch string(pub.Topic) {
	case wire.ReplyTopic(d.cid):
		d.replies.Deliver(pub.Payload)
	case wire.EventsTopic(d.cid):
		var ev Event
		if json.Unmarshal(pub.Payload, &ev) != nil {
			return
		}
		now := time.Now()
		if !d.opened && ev.Type != sessionType {
			d.lastSeq = 0 // a server without resume: every connection counts from 1
		}
		d.opened = true
		if ev.Type == sessionType {
			d.stats.Sessions.Add(1)
			if !ev.Resumed {
				d.stats.Fresh.Add(1)
				d.lastSeq = 0 // a new session counts from 1
			}
			d.onEvent(d, ev, now)
			return
		}
		if ev.Seq <= d.lastSeq {
			d.stats.Dups.Add(1)
			return
		}
		if ev.Seq != d.lastSeq+1 {
			d.stats.Gaps.Add(1)
		}
		d.lastSeq = ev.Seq
		d.stats.Events.Add(1)
		d.onEvent(d, ev, now)
	}
}

// Ping sends PINGREQ if the device is connected.
func (d *Device) Ping() {
	if d.up.Load() {
		d.write(mqttpacket.Pingreq())
	}
}

// Drop ends the connection as a lost one: no DISCONNECT, and a TCP reset
// (so the server sees the loss at once and the port is free at once).
func (d *Device) Drop() {
	d.wmu.Lock()
	c := d.conn
	d.dropped.Store(true)
	d.wmu.Unlock()
	if c == nil {
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// Close disconnects cleanly, which ends the session, and waits for the
// reader.
func (d *Device) Close() {
	d.wmu.Lock()
	d.dropped.Store(true)
	d.writeLocked(mqttpacket.Disconnect())
	if d.conn != nil {
		d.conn.Close()
	}
	d.wmu.Unlock()
	if d.reading != nil {
		<-d.reading
	}
}

// ClientID is the device's client ID.
func (d *Device) ClientID() string { return d.cid }

// Call sends one request and waits for its reply. requestID may be "": a
// retry with the same one gets the first answer and applies nothing new
// (IDM-1).
func (d *Device) Call(op string, args any, requestID string) (Reply, error) {
	return d.replies.Call(d.cid, op, args, requestID, func(payload []byte) error {
		if d.writeWithID(func(pid uint16) []byte {
			return mqttpacket.AppendPublish(nil, wire.ReqTopic(d.cid), 1, pid, payload)
		}) == 0 {
			return errors.New("not connected")
		}
		return nil
	}, nil)
}

// Invite invites invitee 1:1 (timeout 0: no timeout, so that only the
// load program closes it) and returns the invite ID.
func (d *Device) Invite(invitee string) (string, error) { return mqttload.Invite(d, invitee, "", 0) }

// Answer calls op (accept, reject, cancel) on inviteID.
func (d *Device) Answer(op, inviteID string) error { return mqttload.Answer(d, op, inviteID, "") }
