// Package mqttpacket is the MQTT 3.1.1 wire format of the packets beckon's
// own device clients and tests write and read: the fixed header with its
// remaining length, length-prefixed strings, CONNECT, SUBSCRIBE, PUBLISH,
// PUBACK, PINGREQ and DISCONNECT out, and any packet in. It does no I/O of
// its own but read a packet from a *bufio.Reader, so that a caller keeps
// every byte's timing (a test that cuts a connection at any offset).
package mqttpacket

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Control packet types: the high nibble of the first byte.
const (
	KindConnect    = 1
	KindConnack    = 2
	KindPublish    = 3
	KindPuback     = 4
	KindSubscribe  = 8
	KindSuback     = 9
	KindPingreq    = 12
	KindPingresp   = 13
	KindDisconnect = 14
)

// MaxRemaining is the largest remaining length four bytes can say.
const MaxRemaining = 268_435_455

// Packet is one control packet as read.
type Packet struct {
	Kind, Flags byte   // the first byte's high and low nibbles
	Body        []byte // variable header and payload
}

// ID is the packet ID that starts the body of a PUBACK or SUBACK: 0 if the
// body is too short to hold one (0 is no valid packet ID).
func (p Packet) ID() uint16 {
	if len(p.Body) < 2 {
		return 0
	}
	return binary.BigEndian.Uint16(p.Body)
}

// Len is the packet's size on the wire: fixed header and body.
func (p Packet) Len() int { return 1 + len(AppendLength(nil, len(p.Body))) + len(p.Body) }

// ReadPacket reads one control packet. Its body goes into buf's storage
// when it fits (nil: new storage), so that a reader done with each packet
// before the next can use one buffer. A body above limit bytes is an error
// before any of it is read (limit <= 0: MaxRemaining).
func ReadPacket(r *bufio.Reader, buf []byte, limit int) (Packet, error) {
	first, err := r.ReadByte()
	if err != nil {
		return Packet{}, err
	}
	n := 0
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return Packet{}, err
		}
		n |= int(c&0x7F) << (7 * i)
		if c&0x80 == 0 {
			break
		}
		if i == 3 {
			return Packet{}, errors.New("mqttpacket: malformed remaining length: a fifth byte")
		}
	}
	if limit > 0 && n > limit {
		return Packet{}, fmt.Errorf("mqttpacket: packet of %d bytes, above the %d accepted", n, limit)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	p := Packet{Kind: first >> 4, Flags: first & 0x0F, Body: buf[:n]}
	if _, err := io.ReadFull(r, p.Body); err != nil {
		return Packet{}, err
	}
	return p, nil
}

// Publish is a PUBLISH as read; Topic and Payload are in the packet's body.
type Publish struct {
	Topic   []byte
	QoS     byte
	ID      uint16 // 0 at QoS 0
	Payload []byte
}

// ParsePublish reads a PUBLISH packet's topic, packet ID and payload.
func ParsePublish(p Packet) (Publish, error) {
	qos := p.Flags >> 1 & 3
	if p.Kind != KindPublish || qos == 3 {
		return Publish{}, fmt.Errorf("mqttpacket: packet type %d flags %#x, want a PUBLISH at QoS 0, 1 or 2", p.Kind, p.Flags)
	}
	b := p.Body
	if len(b) < 2 || len(b) < 2+int(binary.BigEndian.Uint16(b)) {
		return Publish{}, errors.New("mqttpacket: PUBLISH topic beyond its body")
	}
	n := int(binary.BigEndian.Uint16(b))
	pub := Publish{Topic: b[2 : 2+n], QoS: qos}
	b = b[2+n:]
	if qos > 0 {
		if len(b) < 2 {
			return Publish{}, errors.New("mqttpacket: PUBLISH without its packet ID")
		}
		pub.ID, b = binary.BigEndian.Uint16(b), b[2:]
	}
	pub.Payload = b
	return pub, nil
}
