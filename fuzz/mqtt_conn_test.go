package fuzz

import (
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/mqtt"
	"github.com/beckonhq/beckon/internal/mqttload"
	"github.com/beckonhq/beckon/internal/mqttpacket"
)

// connDeadline bounds how long one input's connection is read from.
const connDeadline = 50 * time.Millisecond

// FuzzMQTTConn: a running adapter (mqtt.Server on loopback, a memory
// runtime behind it) gets arbitrary bytes from an authenticated device,
// after a valid CONNECT: whatever they are (packets of any type, broken
// lengths, requests of any content), no goroutine of the server panics
// and a second, well-behaved device still connects and gets its reply.
func FuzzMQTTConn(f *testing.F) {
	req := "beckon/v1/fuzz/dev/req"
	for _, seed := range [][]byte{
		publish(req, 1, `{"id":"1","op":"invite","args":{"invitee":"check","timeout":30}}`),
		append(mqttpacket.Subscribe(2, "beckon/v1/fuzz/dev/events"), publish(req, 1, `{"id":"2","op":"history","args":{"peer":"check"}}`)...),
		mqttpacket.Subscribe(2, "#"), mqttpacket.Subscribe(2, "$share/g/beckon/v1/check/dev/events"),
		mqttpacket.Subscribe(2, "beckon/v1/check/dev/events"),
		publish("beckon/v1/check/dev/req", 1, `{"id":"3","op":"cancel","args":{"inviteID":"x"}}`),
		publish(req, 0, `not json`), publish(req, 2, `{}`), publish(req, 1, `{"op":"accept","args":{}}`),
		{0xe0, 0x00},                   // DISCONNECT
		{0xc0, 0x00},                   // PINGREQ
		{0x10, 0x02, 0x00, 0x00},       // a second CONNECT
		{0x30, 0xff, 0xff, 0xff, 0xff}, // a remaining length over four bytes
		{0x82, 0x00}, {0xa2, 0x02, 0x00, 0x01}, {0x40, 0x02, 0x00, 0x01},
	} {
		f.Add(seed)
	}
	addr := fuzzServer(f)
	f.Fuzz(func(t *testing.T, input []byte) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		connect := mqttpacket.Connect{ClientID: "fuzz/dev", User: "fuzz", Password: "x", Clean: true, KeepAlive: 30}
		if _, err := c.Write(connect.Encode()); err != nil {
			t.Fatal(err)
		}
		connack := make([]byte, 4)
		if _, err := io.ReadFull(c, connack); err != nil || connack[0] != 0x20 || connack[3] != 0 {
			t.Fatalf("CONNACK of a valid CONNECT: got % x (%v), want 20 02 00 00", connack, err)
		}
		_ = c.SetDeadline(time.Now().Add(connDeadline))
		// Then PINGREQ and DISCONNECT: the server closes the connection once
		// it has read the input (unless the input leaves a packet unfinished).
		if _, err := c.Write(append(input, 0xc0, 0x00, 0xe0, 0x00)); err == nil {
			_, _ = io.Copy(io.Discard, c)
		}
		c.Close()

		d, err := checkDevice(addr)
		if err != nil {
			t.Fatalf("a well-behaved device: %v", err)
		}
		if r, err := d.Call("history", map[string]any{"peer": "fuzz", "limit": 1}, ""); err != nil || r.Code != 0 {
			t.Fatalf("a well-behaved device's request after the input: got %+v (%v), want code 0", r, err)
		}
	})
}

// fuzzServer starts the adapter and its runtime once per process (the
// fuzzing workers are processes; the server lives until the process ends)
// and returns its address.
func fuzzServer(tb testing.TB) string {
	addr, err := fuzzServerOnce()
	if err != nil {
		tb.Fatal(err)
	}
	return addr
}

var fuzzServerOnce = sync.OnceValues(func() (string, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := &fuzzEngine{}
	srv, err := mqtt.New(mqtt.Options{Engine: eng, Authenticator: mqtt.Anonymous(), Logger: quiet,
		RequestsPerSecond: 1e6, RequestBurst: 1 << 16})
	if err != nil {
		return "", err
	}
	if eng.Runtime, err = beckon.New(beckon.WithDelivery(srv), beckon.WithLogger(quiet)); err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go srv.Serve(ln)
	return ln.Addr().String(), nil
})

// fuzzEngine is the runtime, made after the server (its Delivery).
type fuzzEngine struct{ *beckon.Runtime }

// checkDevice is the well-behaved device that must still be served after
// each input: one connection per fuzzing process, kept across inputs, so
// that an input costs milliseconds (a device's connect and close take
// hundreds, and the fuzzer then reports its own deadline as a failure).
func checkDevice(addr string) (*mqttload.Device, error) {
	check.once.Do(func() {
		check.d, check.err = mqttload.Dial(mqttload.Options{Broker: "tcp://" + addr, User: "check", Device: "dev"})
	})
	return check.d, check.err
}

var check struct {
	once sync.Once
	d    *mqttload.Device
	err  error
}

// publish is a PUBLISH at qos (packet ID 1 when qos > 0).
func publish(topic string, qos byte, payload string) []byte {
	return mqttpacket.AppendPublish(nil, topic, qos, 1, []byte(payload))
}
