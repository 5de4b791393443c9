package mqttpacket

import (
	"encoding/binary"
	"slices"
)

// AppendLength appends n as a remaining length: seven bits a byte, low
// first, the high bit set on all but the last.
func AppendLength(b []byte, n int) []byte {
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

// AppendString appends s as an MQTT UTF-8 string: a 2-byte length, then
// the bytes.
func AppendString(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...)
}

// Frame is a packet: first byte, remaining length, then the parts.
func Frame(first byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b := AppendLength(append(make([]byte, 0, 5+n), first), n)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// Connect is a CONNECT of protocol level 4 (3.1.1).
type Connect struct {
	ClientID  string
	User      string // none if ""
	Password  string // none if "" or User is ""
	Clean     bool   // clean session; false asks the server to keep the session
	KeepAlive uint16 // seconds
}

// Encode is the CONNECT packet.
func (c Connect) Encode() []byte {
	var flags byte
	if c.Clean {
		flags |= 0x02
	}
	v := AppendString(nil, "MQTT")
	v = append(v, 4, 0) // level, then flags set below
	v = binary.BigEndian.AppendUint16(v, c.KeepAlive)
	v = AppendString(v, c.ClientID)
	if c.User != "" {
		flags |= 0x80
		v = AppendString(v, c.User)
		if c.Password != "" {
			flags |= 0x40
			v = AppendString(v, c.Password)
		}
	}
	v[7] = flags
	return Frame(KindConnect<<4, v)
}

// Subscribe is a SUBSCRIBE of each topic at QoS 1.
func Subscribe(id uint16, topics ...string) []byte {
	v := binary.BigEndian.AppendUint16(nil, id)
	for _, t := range topics {
		v = append(AppendString(v, t), 1)
	}
	return Frame(KindSubscribe<<4|0x02, v)
}

// AppendPublish appends a PUBLISH of payload to topic at qos, with packet
// ID id if qos > 0. It grows b once.
func AppendPublish(b []byte, topic string, qos byte, id uint16, payload []byte) []byte {
	n := 2 + len(topic) + len(payload)
	if qos > 0 {
		n += 2
	}
	b = slices.Grow(b, 5+n)
	b = AppendLength(append(b, KindPublish<<4|qos<<1), n)
	b = AppendString(b, topic)
	if qos > 0 {
		b = binary.BigEndian.AppendUint16(b, id)
	}
	return append(b, payload...)
}

// Puback acknowledges the QoS 1 PUBLISH with packet ID id.
func Puback(id uint16) []byte {
	return binary.BigEndian.AppendUint16([]byte{KindPuback << 4, 2}, id)
}

// Pingreq is a PINGREQ.
func Pingreq() []byte { return []byte{KindPingreq << 4, 0} }

// Disconnect is a DISCONNECT.
func Disconnect() []byte { return []byte{KindDisconnect << 4, 0} }
