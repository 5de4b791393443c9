package scale

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MQTT 3.1.1 control packet types (the high nibble of the first byte), the
// few a device needs.
const (
	pktConnect    = 1
	pktConnack    = 2
	pktPublish    = 3
	pktPuback     = 4
	pktSubscribe  = 8
	pktSuback     = 9
	pktPingreq    = 12
	pktPingresp   = 13
	pktDisconnect = 14
)

// maxPacket bounds what a device accepts from the server: its events and
// replies are small JSON objects (docs/protocol.md "Limits").
const maxPacket = 1 << 20

// packet is one control packet as read: its type, flags and body (the
// variable header and payload).
type packet struct {
	kind, flags byte
	body        []byte
}

// readPacket reads one control packet.
func readPacket(r *bufio.Reader) (packet, error) {
	b, err := r.ReadByte()
	if err != nil {
		return packet{}, err
	}
	n, mult := 0, 1
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return packet{}, err
		}
		n += int(c&0x7F) * mult
		if c&0x80 == 0 {
			break
		}
		if i == 3 {
			return packet{}, errors.New("scale: malformed remaining length")
		}
		mult *= 128
	}
	if n > maxPacket {
		return packet{}, fmt.Errorf("scale: packet of %d bytes, above %d", n, maxPacket)
	}
	p := packet{kind: b >> 4, flags: b & 0x0F, body: make([]byte, n)}
	_, err = io.ReadFull(r, p.body)
	return p, err
}

// frame returns a packet with its fixed header: first byte, remaining
// length, then the parts.
func frame(first byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n+5)
	out = append(out, first)
	for {
		c := byte(n % 128)
		n /= 128
		if n > 0 {
			c |= 0x80
		}
		out = append(out, c)
		if n == 0 {
			break
		}
	}
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// str is an MQTT UTF-8 string: a 2-byte length, then the bytes.
func str(s string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...)
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// connectPacket is a CONNECT with username and password; clean false asks
// the server to resume the session (docs/protocol.md "Sequence numbers").
func connectPacket(cid, user, password string, clean bool, keepAlive uint16) []byte {
	flags := byte(0x80 | 0x40) // username, password
	if clean {
		flags |= 0x02
	}
	header := append(str("MQTT"), 4, flags)
	return frame(pktConnect<<4, header, u16(keepAlive), str(cid), str(user), str(password))
}

// subscribePacket asks for topic at QoS 1.
func subscribePacket(id uint16, topic string) []byte {
	return frame(pktSubscribe<<4|0x02, u16(id), str(topic), []byte{1})
}

// publishPacket is a QoS 1 PUBLISH.
func publishPacket(id uint16, topic string, payload []byte) []byte {
	return frame(pktPublish<<4|0x02, str(topic), u16(id), payload)
}

func pubackPacket(id uint16) []byte { return frame(pktPuback<<4, u16(id)) }

var (
	pingreqPacket    = []byte{pktPingreq << 4, 0}
	disconnectPacket = []byte{pktDisconnect << 4, 0}
)

// publish is a PUBLISH as received.
type publish struct {
	topic   string
	id      uint16 // 0 for QoS 0
	payload []byte
}

func parsePublish(p packet) (publish, error) {
	b := p.body
	if len(b) < 2 {
		return publish{}, errors.New("scale: PUBLISH too short")
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n {
		return publish{}, errors.New("scale: PUBLISH topic beyond its body")
	}
	pub := publish{topic: string(b[2 : 2+n])}
	b = b[2+n:]
	if (p.flags>>1)&3 > 0 {
		if len(b) < 2 {
			return publish{}, errors.New("scale: PUBLISH without its packet ID")
		}
		pub.id = binary.BigEndian.Uint16(b)
		b = b[2:]
	}
	pub.payload = b
	return pub, nil
}

// packetID is the packet ID that starts the body of a SUBACK or PUBACK.
func packetID(p packet) uint16 {
	if len(p.body) < 2 {
		return 0
	}
	return binary.BigEndian.Uint16(p.body)
}
