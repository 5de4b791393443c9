package mqttpacket

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func read(t *testing.T, b []byte) Packet {
	t.Helper()
	p, err := ReadPacket(bufio.NewReader(bytes.NewReader(b)), nil, 0)
	if err != nil {
		t.Fatalf("reading % x: %v", b, err)
	}
	if p.Len() != len(b) {
		t.Errorf("Len of % x: got %d, want %d", b, p.Len(), len(b))
	}
	return p
}

func TestPublishRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 200) // a two-byte remaining length
	for _, c := range []struct {
		qos     byte
		id      uint16
		payload []byte
	}{{0, 0, []byte(`{"id":"1"}`)}, {1, 7, []byte(`{}`)}, {1, 0xFFFF, big}, {2, 1, nil}} {
		p := read(t, AppendPublish(nil, "beckon/v1/a/d/req", c.qos, c.id, c.payload))
		pub, err := ParsePublish(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(pub.Topic) != "beckon/v1/a/d/req" || pub.QoS != c.qos || pub.ID != c.id || !bytes.Equal(pub.Payload, c.payload) {
			t.Errorf("qos %d id %d: got %+v", c.qos, c.id, pub)
		}
	}
}

// TestEncodings pins each packet to the bytes MQTT 3.1.1 gives for it.
func TestEncodings(t *testing.T) {
	for _, c := range []struct {
		name string
		got  []byte
		want []byte
	}{
		{"CONNECT clean, user and password", Connect{ClientID: "c", User: "u", Password: "p", Clean: true, KeepAlive: 30}.Encode(),
			[]byte("\x10\x13\x00\x04MQTT\x04\xc2\x00\x1e\x00\x01c\x00\x01u\x00\x01p")},
		{"CONNECT resuming, no user", Connect{ClientID: "c", Password: "p", KeepAlive: 60}.Encode(),
			[]byte("\x10\x0d\x00\x04MQTT\x04\x00\x00\x3c\x00\x01c")},
		{"SUBSCRIBE two topics", Subscribe(2, "a", "b"), []byte("\x82\x0a\x00\x02\x00\x01a\x01\x00\x01b\x01")},
		{"PUBACK", Puback(0x0102), []byte{0x40, 2, 1, 2}},
		{"PINGREQ", Pingreq(), []byte{0xC0, 0}},
		{"DISCONNECT", Disconnect(), []byte{0xE0, 0}},
		{"Frame of parts", Frame(0x30, []byte{0, 1}, []byte("t"), []byte("p")), []byte{0x30, 4, 0, 1, 't', 'p'}},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: got % x, want % x", c.name, c.got, c.want)
		}
		if p := read(t, c.got); p.Kind != c.want[0]>>4 || p.Flags != c.want[0]&0x0F {
			t.Errorf("%s: read back type %d flags %#x", c.name, p.Kind, p.Flags)
		}
	}
}

func TestAppendLength(t *testing.T) {
	for n, want := range map[int][]byte{
		0: {0}, 127: {0x7F}, 128: {0x80, 1}, 16_383: {0xFF, 0x7F}, 16_384: {0x80, 0x80, 1},
		MaxRemaining: {0xFF, 0xFF, 0xFF, 0x7F},
	} {
		if got := AppendLength(nil, n); !bytes.Equal(got, want) {
			t.Errorf("AppendLength(%d): got % x, want % x", n, got, want)
		}
	}
}

// TestTruncated: a packet cut at any offset is an error, never a packet.
func TestTruncated(t *testing.T) {
	whole := AppendPublish(nil, "t", 1, 9, bytes.Repeat([]byte("p"), 130))
	for cut := range len(whole) {
		_, err := ReadPacket(bufio.NewReader(bytes.NewReader(whole[:cut])), nil, 0)
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d of %d: got %v, want EOF", cut, len(whole), err)
		}
	}
}

func TestReadErrors(t *testing.T) {
	r := func(b []byte, limit int) error {
		_, err := ReadPacket(bufio.NewReader(bytes.NewReader(b)), nil, limit)
		return err
	}
	if err := r([]byte{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, 0); err == nil || !strings.Contains(err.Error(), "remaining length") {
		t.Errorf("five length bytes: got %v, want a malformed remaining length", err)
	}
	if err := r(AppendPublish(nil, "t", 0, 0, make([]byte, 100)), 50); err == nil || !strings.Contains(err.Error(), "above") {
		t.Errorf("a body above the limit: got %v, want an error", err)
	}
	for _, b := range [][]byte{{0x30, 1, 0}, {0x30, 3, 0, 5, 't'}, {0x32, 3, 0, 1, 't'}, {0x36, 3, 0, 1, 't'}, {0x40, 2, 0, 1}} {
		if _, err := ParsePublish(read(t, b)); err == nil {
			t.Errorf("ParsePublish(% x): got no error", b)
		}
	}
}

// TestBufferReuse: a body that fits goes into the caller's buffer.
func TestBufferReuse(t *testing.T) {
	buf := make([]byte, 64)
	p, err := ReadPacket(bufio.NewReader(bytes.NewReader(Puback(5))), buf, 0)
	if err != nil || p.ID() != 5 || &p.Body[0] != &buf[0] {
		t.Errorf("got %+v (%v), want ID 5 in the buffer given", p, err)
	}
	if (Packet{Body: []byte{1}}).ID() != 0 {
		t.Error("ID of a one-byte body: want 0")
	}
}
