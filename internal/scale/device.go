package scale

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beckonhq/beckon/adapters/mqtt/wire"
)

// Patience bounds every wait of a device: dialling, CONNACK, SUBACK, a
// request's reply.
const Patience = 10 * time.Second

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
type Reply struct {
	ID      string          `json:"id"`
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Result  json.RawMessage `json:"result"`
}

// Device is one MQTT 3.1.1 device written from docs/protocol.md with the
// few packets it needs, lean enough for ten thousand in one process: one
// read goroutine per connection, no other. It keeps its session across
// connections: Connect after Drop asks to resume.
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

	mu      sync.Mutex // guards waiting
	waiting map[string]chan Reply
	calls   atomic.Uint64

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
	if _, err := c.Write(connectPacket(d.cid, d.User, d.token, d.clean, uint16(keepAlive/time.Second))); err != nil {
		return fail(err)
	}
	p, err := readPacket(r)
	if err != nil {
		return fail(fmt.Errorf("no CONNACK: %w", err))
	}
	if p.kind != pktConnack || len(p.body) != 2 {
		return fail(fmt.Errorf("got packet type %d before CONNACK", p.kind))
	}
	if p.body[1] != 0 {
		return fail(fmt.Errorf("CONNACK return code %d (docs/protocol.md \"Connecting\")", p.body[1]))
	}
	_ = c.SetDeadline(time.Time{})
	subacks := make(chan packet, 2)
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
	replyID, eventsID := d.writeWithID(func(id uint16) []byte { return subscribePacket(id, wire.ReplyTopic(d.cid)) }),
		d.writeWithID(func(id uint16) []byte { return subscribePacket(id, wire.EventsTopic(d.cid)) })
	timeout := time.NewTimer(Patience)
	defer timeout.Stop()
	for granted := 0; granted < 2; {
		select {
		case p, ok := <-subacks:
			if !ok {
				return fmt.Errorf("scale: %s: connection lost while subscribing", d.cid)
			}
			if id := packetID(p); (id != replyID && id != eventsID) || len(p.body) != 3 || p.body[2] != 1 {
				d.Drop()
				return fmt.Errorf("scale: %s: SUBACK %v, want packet %d or %d granted QoS 1", d.cid, p.body, replyID, eventsID)
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
func (d *Device) read(c net.Conn, r *bufio.Reader, subacks chan<- packet, done chan<- struct{}) {
	defer close(done)
	defer close(subacks)
	for {
		p, err := readPacket(r)
		if err != nil {
			break
		}
		switch p.kind {
		case pktSuback:
			select {
			case subacks <- p:
			default:
			}
		case pktPublish:
			pub, err := parsePublish(p)
			if err != nil {
				c.Close()
				continue
			}
			d.received(pub)
			if pub.id != 0 {
				d.write(pubackPacket(pub.id))
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
	d.failCalls()
}

// received handles a PUBLISH: a reply goes to its caller, an event to
// OnEvent unless its seq is not above the last handled.
func (d *Device) received(pub publish) {
	switch pub.topic {
	case wire.ReplyTopic(d.cid):
		var r Reply
		if json.Unmarshal(pub.payload, &r) != nil {
			return
		}
		d.mu.Lock()
		ch := d.waiting[r.ID]
		delete(d.waiting, r.ID)
		d.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	case wire.EventsTopic(d.cid):
		var ev Event
		if json.Unmarshal(pub.payload, &ev) != nil {
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

// failCalls ends the calls waiting for a reply on a connection that ended.
func (d *Device) failCalls() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, ch := range d.waiting {
		close(ch)
		delete(d.waiting, id)
	}
}

// Ping sends PINGREQ if the device is connected.
func (d *Device) Ping() {
	if d.up.Load() {
		d.write(pingreqPacket)
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
	d.writeLocked(disconnectPacket)
	if d.conn != nil {
		d.conn.Close()
	}
	d.wmu.Unlock()
	if d.reading != nil {
		<-d.reading
	}
}

// Call sends one request and waits for its reply.
func (d *Device) Call(op string, args any) (Reply, error) { return d.CallRequest(op, "", args) }

// CallRequest is Call with a caller-chosen request ID (none if ""): a
// retry with the same one gets the first answer and applies nothing new
// (IDM-1).
func (d *Device) CallRequest(op, requestID string, args any) (Reply, error) {
	id := "c-" + strconv.FormatUint(d.calls.Add(1), 10)
	req := map[string]any{"id": id, "op": op, "args": args}
	if requestID != "" {
		req["requestID"] = requestID
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return Reply{}, err
	}
	ch := make(chan Reply, 1)
	d.mu.Lock()
	if d.waiting == nil {
		d.waiting = make(map[string]chan Reply)
	}
	d.waiting[id] = ch
	d.mu.Unlock()
	if d.writeWithID(func(pid uint16) []byte { return publishPacket(pid, wire.ReqTopic(d.cid), payload) }) == 0 {
		d.mu.Lock()
		delete(d.waiting, id)
		d.mu.Unlock()
		return Reply{}, fmt.Errorf("scale: %s: %s: not connected", d.cid, op)
	}
	t := time.NewTimer(Patience)
	defer t.Stop()
	select {
	case r, ok := <-ch:
		if !ok {
			return Reply{}, fmt.Errorf("scale: %s: %s: connection lost before the reply", d.cid, op)
		}
		return r, nil
	case <-t.C:
		d.mu.Lock()
		delete(d.waiting, id)
		d.mu.Unlock()
		return Reply{}, fmt.Errorf("scale: %s: %s: no reply within %v", d.cid, op, Patience)
	}
}

// Invite invites invitee 1:1 (timeout 0: no timeout, so that only the
// load program closes it) and returns the invite ID.
func (d *Device) Invite(invitee string) (string, error) {
	r, err := d.Call("invite", map[string]any{"invitee": invitee, "data": "", "timeout": 0})
	if err != nil {
		return "", err
	}
	if r.Code != 0 {
		return "", fmt.Errorf("scale: %s: invite: code %d: %s", d.cid, r.Code, r.Message)
	}
	var res struct {
		InviteID string `json:"inviteID"`
	}
	if err := json.Unmarshal(r.Result, &res); err != nil || res.InviteID == "" {
		return "", fmt.Errorf("scale: %s: invite: result %s: want {\"inviteID\": ...}", d.cid, r.Result)
	}
	return res.InviteID, nil
}

// Answer calls op (accept, reject, cancel) on inviteID.
func (d *Device) Answer(op, inviteID string) error {
	r, err := d.Call(op, map[string]any{"inviteID": inviteID, "data": ""})
	if err == nil && r.Code != 0 {
		err = fmt.Errorf("scale: %s: %s: code %d: %s", d.cid, op, r.Code, r.Message)
	}
	return err
}
