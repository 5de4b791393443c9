package mqtt_test

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/beckonhq/beckon/adapters/mqtt/wire"
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
	_ = d.write([]byte{0xE0, 0})
	d.conn.Close()
}

// packet is a control packet as read.
type packet struct {
	kind, flags byte
	body        []byte
}

// read reads one packet, within patience.
func (d *rawDevice) read() (packet, error) {
	return d.readWithin(patience)
}

func (d *rawDevice) readWithin(wait time.Duration) (packet, error) {
	_ = d.conn.SetReadDeadline(time.Now().Add(wait))
	b, err := d.r.ReadByte()
	if err != nil {
		return packet{}, err
	}
	n, shift := 0, 0
	for {
		c, err := d.r.ReadByte()
		if err != nil {
			return packet{}, err
		}
		n |= int(c&0x7F) << shift
		if c&0x80 == 0 {
			break
		}
		if shift += 7; shift > 21 {
			return packet{}, errors.New("malformed remaining length")
		}
	}
	p := packet{kind: b >> 4, flags: b & 0x0F, body: make([]byte, n)}
	if _, err := io.ReadFull(d.r, p.body); err != nil {
		return packet{}, err
	}
	if p.kind == 3 {
		d.publishBytes += 1 + len(varint(n)) + n
	}
	return p, nil
}

// Packets the device writes.

func (d *rawDevice) connectPacket(clean bool) []byte {
	flags := byte(0xC0) // user name, password
	if clean {
		flags |= 0x02
	}
	body := append(mqttString("MQTT"), 4, flags, 0, 60) // 3.1.1, keep-alive 60 s
	body = append(body, mqttString(d.cid)...)
	body = append(body, mqttString(d.user)...)
	body = append(body, mqttString(d.password)...)
	return frame(0x10, body)
}

func (d *rawDevice) subscribePacket() []byte {
	body := binary.BigEndian.AppendUint16(nil, d.nextID())
	for _, topic := range []string{wire.ReplyTopic(d.cid), wire.EventsTopic(d.cid)} {
		body = append(append(body, mqttString(topic)...), 1)
	}
	return frame(0x82, body)
}

// requestPacket is a QoS 1 PUBLISH of a request with correlation ID id.
func (d *rawDevice) requestPacket(id, op string, args any) []byte {
	payload, err := json.Marshal(map[string]any{"id": id, "op": op, "args": args})
	if err != nil {
		d.t.Fatal(err)
	}
	body := append(mqttString(wire.ReqTopic(d.cid)), byte(0), byte(0))
	binary.BigEndian.PutUint16(body[len(body)-2:], d.nextID())
	return frame(0x32, append(body, payload...))
}

func pubackPacket(id uint16) []byte { return frame(0x40, binary.BigEndian.AppendUint16(nil, id)) }

func (d *rawDevice) nextID() uint16 {
	d.pid++
	if d.pid == 0 {
		d.pid = 1
	}
	return d.pid
}

func frame(first byte, body []byte) []byte {
	return append(append([]byte{first}, varint(len(body))...), body...)
}

func varint(n int) []byte {
	var b []byte
	for {
		c := byte(n % 128)
		n /= 128
		if n > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if n == 0 {
			return b
		}
	}
}

func mqttString(s string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...)
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
	if err != nil || p.kind != 2 || len(p.body) != 2 || p.body[1] != 0 {
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
		case p.kind == 9:
			if len(p.body) != 4 || p.body[2] != 1 || p.body[3] != 1 {
				d.t.Fatalf("%s: SUBACK %x, want both topics granted QoS 1", d.cid, p.body)
			}
			subacked = true
		case !noticed:
			pub := d.parsePublish(p)
			n, ok := wire.DecodeSessionNotice(pub.payload)
			if pub.topic != wire.EventsTopic(d.cid) || !ok {
				d.t.Fatalf("%s: got %s on %s before the Session notice", d.cid, pub.payload, pub.topic)
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

type publish struct {
	topic   string
	qos     byte
	id      uint16 // QoS 1 only
	payload []byte
}

func (d *rawDevice) parsePublish(p packet) publish {
	d.t.Helper()
	b := p.body
	qos := p.flags >> 1 & 3
	idLen := 2 * int(qos)
	if p.kind != 3 || qos > 1 || len(b) < 2+idLen || len(b) < 2+idLen+int(binary.BigEndian.Uint16(b)) {
		d.t.Fatalf("%s: got packet type %d flags %x body %q, want a QoS 0 or 1 PUBLISH", d.cid, p.kind, p.flags, b)
	}
	n := int(binary.BigEndian.Uint16(b))
	pub := publish{topic: string(b[2 : 2+n]), qos: qos, payload: b[2+n+idLen:]}
	if qos == 1 {
		pub.id = binary.BigEndian.Uint16(b[2+n:])
	}
	return pub
}

// ack acknowledges a QoS 1 publish (events; replies and the Session
// notice come at QoS 0).
func (d *rawDevice) ack(pub publish) {
	if pub.qos == 1 {
		_ = d.write(pubackPacket(pub.id))
	}
}

// handle takes one packet of a connection that has started: an event
// (dropped if not above the last, checked to follow the connection's
// previous one), or a reply.
func (d *rawDevice) handle(p packet) {
	d.t.Helper()
	switch p.kind {
	case 4: // the PUBACK of a request
		return
	case 3:
	default:
		d.t.Errorf("%s: got packet type %d, want only PUBLISH and PUBACK once started", d.cid, p.kind)
		return
	}
	pub := d.parsePublish(p)
	switch pub.topic {
	case wire.ReplyTopic(d.cid):
		var r replyMsg
		if err := json.Unmarshal(pub.payload, &r); err != nil {
			d.t.Fatalf("%s: reply %q: %v", d.cid, pub.payload, err)
		}
		d.replies[r.ID]++
		d.ack(pub)
		return
	case wire.EventsTopic(d.cid):
	default:
		d.t.Fatalf("%s: got a PUBLISH on %s", d.cid, pub.topic)
	}
	var ev eventMsg
	if err := json.Unmarshal(pub.payload, &ev); err != nil {
		d.t.Fatalf("%s: event %q: %v", d.cid, pub.payload, err)
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
		d.unacked = append(d.unacked, pub.id)
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
		case p.kind == 3 || p.kind == 4:
			d.handle(p)
		default:
			d.t.Errorf("%s: got packet type %d on a connection whose own packet was cut", d.cid, p.kind)
		}
	}
}
