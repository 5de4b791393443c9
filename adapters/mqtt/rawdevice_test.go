package mqtt_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/beckonhq/beckon/adapters/mqtt/wire"
	"github.com/beckonhq/beckon/internal/mqttpacket"
)

// rawDevice is an MQTT 3.1.1 device that writes and reads its packets
// byte by byte on the test's goroutine, so that a test knows where each
// one starts and ends (the faults cut them there), and that spawns no
// goroutine of its own (the tests count the server's). It keeps what
// docs/protocol.md asks a device to keep: the seq of the last event it
// handled, dropping any event not above it.
type rawDevice struct {
	t              *testing.T
	user, dev, cid string
	password       string
	addr           string // where it dials
	rcvbuf         int    // if > 0, its socket's receive buffer: a small TCP window
	conn           net.Conn
	r              *bufio.Reader
	pid            uint16
	ackEvents      bool   // PUBACK each event once handled (else the test does)
	connLast       uint64 // seq of the last event of this connection
	last           uint64 // seq of the last event handled
	log            []eventMsg
	replies        map[string]int // reply ID -> replies got
	unacked        []uint16       // packet IDs of the events not acknowledged (ackEvents false)
	publishBytes   int            // bytes of every PUBLISH read
}

func newRawDevice(t *testing.T, addr, user, dev string) *rawDevice {
	return &rawDevice{t: t, user: user, dev: dev, cid: wire.ClientID(user, dev), password: token(t, user),
		addr: addr, ackEvents: true, replies: make(map[string]int)}
}

// dial opens a TCP connection and nothing more.
func (d *rawDevice) dial() {
	d.t.Helper()
	dialer := net.Dialer{Timeout: patience}
	if d.rcvbuf > 0 {
		// Before connecting, so that the window announced is the small one.
		dialer.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, d.rcvbuf)
			})
			return errors.Join(err, serr)
		}
	}
	c, err := dialer.Dial("tcp", d.addr)
	if err != nil {
		d.t.Fatalf("%s: dialing %s: %v", d.cid, d.addr, err)
	}
	d.conn, d.r, d.connLast = c, bufio.NewReader(c), 0
	d.unacked = nil
}

func (d *rawDevice) write(b []byte) error {
	_, err := d.conn.Write(b)
	return err
}

// drop closes the connection without DISCONNECT: a lost connection.
func (d *rawDevice) drop() {
	if d.conn != nil {
		d.conn.Close()
	}
}

// disconnect ends the session: DISCONNECT, then close.
func (d *rawDevice) disconnect() {
	_ = d.write(mqttpacket.Disconnect())
	d.conn.Close()
}

// read reads one packet, within patience.
func (d *rawDevice) read() (mqttpacket.Packet, error) {
	return d.readWithin(patience)
}

func (d *rawDevice) readWithin(wait time.Duration) (mqttpacket.Packet, error) {
	_ = d.conn.SetReadDeadline(time.Now().Add(wait))
	p, err := mqttpacket.ReadPacket(d.r, nil, 0)
	if err == nil && p.Kind == mqttpacket.KindPublish {
		d.publishBytes += p.Len()
	}
	return p, err
}

// Packets the device writes.

func (d *rawDevice) connectPacket(clean bool) []byte {
	return mqttpacket.Connect{ClientID: d.cid, User: d.user, Password: d.password, Clean: clean, KeepAlive: 60}.Encode()
}

func (d *rawDevice) subscribePacket() []byte {
	return mqttpacket.Subscribe(d.nextID(), wire.ReplyTopic(d.cid), wire.EventsTopic(d.cid))
}

// requestPacket is a QoS 1 PUBLISH of a request with correlation ID id.
func (d *rawDevice) requestPacket(id, op string, args any) []byte {
	payload, err := json.Marshal(map[string]any{"id": id, "op": op, "args": args})
	if err != nil {
		d.t.Fatal(err)
	}
	return mqttpacket.AppendPublish(nil, wire.ReqTopic(d.cid), 1, d.nextID(), payload)
}

func (d *rawDevice) nextID() uint16 {
	d.pid++
	if d.pid == 0 {
		d.pid = 1
	}
	return d.pid
}

// open connects and subscribes, clean start false unless clean, and
// returns the Session notice's resumed.
func (d *rawDevice) open(clean bool) bool {
	d.t.Helper()
	d.dial()
	if err := d.write(d.connectPacket(clean)); err != nil {
		d.t.Fatalf("%s: CONNECT: %v", d.cid, err)
	}
	p, err := d.read()
	if err != nil || p.Kind != mqttpacket.KindConnack || len(p.Body) != 2 || p.Body[1] != 0 {
		d.t.Fatalf("%s: got %+v (%v), want a CONNACK accepting", d.cid, p, err)
	}
	if err := d.write(d.subscribePacket()); err != nil {
		d.t.Fatalf("%s: SUBSCRIBE: %v", d.cid, err)
	}
	subacked, noticed, resumed := false, false, false
	for !subacked || !noticed {
		p, err := d.read()
		if err != nil {
			d.t.Fatalf("%s: waiting for the SUBACK and the Session notice: %v", d.cid, err)
		}
		switch {
		case p.Kind == mqttpacket.KindSuback:
			if len(p.Body) != 4 || p.Body[2] != 1 || p.Body[3] != 1 {
				d.t.Fatalf("%s: SUBACK %x, want both topics granted QoS 1", d.cid, p.Body)
			}
			subacked = true
		case !noticed:
			pub := d.parsePublish(p)
			n, ok := wire.DecodeSessionNotice(pub.Payload)
			if string(pub.Topic) != wire.EventsTopic(d.cid) || !ok {
				d.t.Fatalf("%s: got %s on %s before the Session notice", d.cid, pub.Payload, pub.Topic)
			}
			d.ack(pub)
			noticed, resumed = true, n.Resumed
			if !resumed { // a new session: its events count from 1
				d.last, d.log = 0, nil
			}
		default:
			d.handle(p)
		}
	}
	return resumed
}

func (d *rawDevice) parsePublish(p mqttpacket.Packet) mqttpacket.Publish {
	d.t.Helper()
	pub, err := mqttpacket.ParsePublish(p)
	if err != nil || pub.QoS > 1 {
		d.t.Fatalf("%s: got packet type %d flags %x body %q (%v), want a QoS 0 or 1 PUBLISH", d.cid, p.Kind, p.Flags, p.Body, err)
	}
	return pub
}

// ack acknowledges a QoS 1 publish (events; replies and the Session
// notice come at QoS 0).
func (d *rawDevice) ack(pub mqttpacket.Publish) {
	if pub.QoS == 1 {
		_ = d.write(mqttpacket.Puback(pub.ID))
	}
}

// handle takes one packet of a connection that has started: an event
// (dropped if not above the last, checked to follow the connection's
// previous one), or a reply.
func (d *rawDevice) handle(p mqttpacket.Packet) {
	d.t.Helper()
	switch p.Kind {
	case mqttpacket.KindPuback: // of a request
		return
	case mqttpacket.KindPublish:
	default:
		d.t.Errorf("%s: got packet type %d, want only PUBLISH and PUBACK once started", d.cid, p.Kind)
		return
	}
	pub := d.parsePublish(p)
	switch string(pub.Topic) {
	case wire.ReplyTopic(d.cid):
		var r replyMsg
		if err := json.Unmarshal(pub.Payload, &r); err != nil {
			d.t.Fatalf("%s: reply %q: %v", d.cid, pub.Payload, err)
		}
		d.replies[r.ID]++
		d.ack(pub)
		return
	case wire.EventsTopic(d.cid):
	default:
		d.t.Fatalf("%s: got a PUBLISH on %s", d.cid, pub.Topic)
	}
	var ev eventMsg
	if err := json.Unmarshal(pub.Payload, &ev); err != nil {
		d.t.Fatalf("%s: event %q: %v", d.cid, pub.Payload, err)
	}
	if ev.Seq <= d.connLast {
		d.t.Errorf("%s: event seq %d after seq %d on one connection: written twice or out of order", d.cid, ev.Seq, d.connLast)
	}
	d.connLast = ev.Seq
	switch {
	case ev.Seq <= d.last: // a copy of one handled: written again after a lost PUBACK
	case ev.Seq != d.last+1:
		d.t.Errorf("%s: event seq %d after %d: events missed", d.cid, ev.Seq, d.last)
		fallthrough
	default:
		d.log = append(d.log, ev)
		d.last = ev.Seq
	}
	if d.ackEvents {
		d.ack(pub)
	} else {
		d.unacked = append(d.unacked, pub.ID)
	}
}

// until handles packets until cond holds.
func (d *rawDevice) until(what string, cond func() bool) {
	d.t.Helper()
	for !cond() {
		p, err := d.read()
		if err != nil {
			d.t.Fatalf("%s: %s: %v", d.cid, what, err)
		}
		d.handle(p)
	}
}

// cut reads until the connection ends, which it must within patience
// (the fault cut it), handling every whole packet that came before.
func (d *rawDevice) cut() {
	d.t.Helper()
	defer d.conn.Close()
	for {
		p, err := d.read()
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			d.t.Fatalf("%s: the connection stays open, want it cut", d.cid)
		case err != nil:
			return
		case p.Kind == mqttpacket.KindPublish || p.Kind == mqttpacket.KindPuback:
			d.handle(p)
		default:
			d.t.Errorf("%s: got packet type %d on a connection whose own packet was cut", d.cid, p.Kind)
		}
	}
}
