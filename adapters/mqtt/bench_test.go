package mqtt_test

import (
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/adapters/mqtt"
	"github.com/beckonhq/beckon/internal/loadtest"
	"github.com/beckonhq/beckon/internal/mqttload"
)

// benchSlices is how many slices each side of a benchmark runs in,
// alternating, so that a change in the host's speed during the run slows
// both sides alike (as the root BenchmarkInviteAccept does).
const benchSlices = 8

// unlimited lifts the per-connection request rate for the benchmarks. The
// burst stays small: the bucket refills within a nanosecond, and each
// connection's request queue is sized by it (a large one costs the
// garbage collector a scan of every connection's queue).
func unlimited(o *mqtt.Options) { o.RequestsPerSecond, o.RequestBurst = 1e9, 64 }

// BenchmarkRingLatency measures, over loopback, the time from device A
// publishing an invite until device B's handler gets its
// ReceiveNewInvitation (then B accepts, untimed); beside it, in
// alternating slices, a bare QoS 1 publish -> deliver between two plain
// clients of a bare mochi broker. One op is one invite and one bare
// message. Metrics: ring-p50-us, ring-p99-us, raw-p50-us, raw-p99-us,
// ring/raw and ring/raw-p99 (the ratios of the p50s and of the p99s).
// Variants: the memory store, and bolt (every invite fsynced before it
// rings).
func BenchmarkRingLatency(b *testing.B) {
	for _, store := range []string{"memory", "bolt"} {
		b.Run(store, func(b *testing.B) {
			var opts []beckon.Option
			if store == "bolt" {
				s, err := bolt.Open(filepath.Join(b.TempDir(), "beckon.db"))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				opts = append(opts, beckon.WithStore(s))
			}
			e := start(b, unlimited, opts...)
			rings := make(chan time.Time, 1)
			alice := benchDevice(b, e.addr, "alice", nil)
			bob := benchDevice(b, e.addr, "bob", func(ev mqttload.Event) {
				if ev.Type == "ReceiveNewInvitation" {
					rings <- time.Now()
				}
			})
			pub, received := rawPair(b)
			per := max(1, (b.N+benchSlices-1)/benchSlices)
			ring, raw := make([]time.Duration, 0, per*benchSlices), make([]time.Duration, 0, per*benchSlices)
			payload := make([]byte, 160) // about an invite's size
			b.ResetTimer()
			for range benchSlices {
				for range per {
					t0 := time.Now()
					if err := pub.PublishQoS1("bench", payload); err != nil {
						b.Fatalf("raw publish: %v", err)
					}
					select {
					case at := <-received:
						raw = append(raw, at.Sub(t0))
					case <-time.After(patience):
						b.Fatal("raw: not delivered")
					}
				}
				for range per {
					t0 := time.Now()
					id, err := alice.Invite("bob", loadtest.Data, 30)
					if err != nil {
						b.Fatal(err)
					}
					select {
					case at := <-rings:
						ring = append(ring, at.Sub(t0))
					case <-time.After(patience):
						b.Fatal("bob: no ReceiveNewInvitation")
					}
					if err := bob.Answer("accept", id, ""); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			r50, r99, w50, w99 := quantile(ring, 0.5), quantile(ring, 0.99), quantile(raw, 0.5), quantile(raw, 0.99)
			b.ReportMetric(r50, "ring-p50-us")
			b.ReportMetric(r99, "ring-p99-us")
			b.ReportMetric(w50, "raw-p50-us")
			b.ReportMetric(w99, "raw-p99-us")
			b.ReportMetric(r50/w50, "ring/raw")
			b.ReportMetric(r99/w99, "ring/raw-p99")
		})
	}
}

// BenchmarkRemoteThroughput measures invite/accept over loopback: 64
// devices (32 caller/callee pairs, each pair on its goroutine) on a
// runtime with the bolt store; beside it, in alternating slices, 32 pairs
// of in-process clients (internal/loadtest) on another runtime with the
// bolt store. One op is one Invite or Accept. Metrics: remote-ops/s,
// inprocess-ops/s and remote/inprocess.
func BenchmarkRemoteThroughput(b *testing.B) {
	const pairs = 32
	openBolt := func() beckon.Option {
		s, err := bolt.Open(filepath.Join(b.TempDir(), "beckon.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return beckon.WithStore(s)
	}
	e := start(b, unlimited, openBolt())
	remote, err := mqttload.DialPairs("tcp://"+e.addr, pairs, func(user string) string { return token(b, user) })
	if err != nil {
		b.Fatal(err)
	}
	defer remote.Close()
	rt, err := beckon.New(openBolt(), beckon.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	local := loadtest.Login(b, rt, pairs)
	rounds := max(1, (b.N+2*pairs*benchSlices-1)/(2*pairs*benchSlices))
	var remoteWall, localWall time.Duration
	b.ResetTimer()
	for range benchSlices {
		t0 := time.Now()
		local.Run(b, rounds)
		localWall += time.Since(t0)
		t0 = time.Now()
		if err := remote.Run(rounds, loadtest.Data); err != nil {
			b.Fatal(err)
		}
		remoteWall += time.Since(t0)
	}
	b.StopTimer()
	ops := float64(2 * pairs * rounds * benchSlices)
	b.ReportMetric(ops/remoteWall.Seconds(), "remote-ops/s")
	b.ReportMetric(ops/localWall.Seconds(), "inprocess-ops/s")
	b.ReportMetric(localWall.Seconds()/remoteWall.Seconds(), "remote/inprocess")
}

// benchDevice connects user's device "bench"; onEvent, which must not
// block, is called as each event is read, as the bare clients' handler is;
// nil drops events.
func benchDevice(b *testing.B, addr, user string, onEvent func(mqttload.Event)) *mqttload.Device {
	if onEvent == nil {
		onEvent = func(mqttload.Event) {}
	}
	d, err := mqttload.Dial(mqttload.Options{Broker: "tcp://" + addr, User: user, Device: "bench", Token: token(b, user),
		OnEvent: onEvent, InlineEvents: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.Close)
	return d
}

// rawPair starts a bare mochi broker (any client allowed) on loopback and
// two MQTT 3.1.1 clients of it, the devices' own (mqttload.Client): pub, returned, and one subscribed to "bench" at QoS
// 1, whose handler sends the time each message arrives on received.
func rawPair(b *testing.B) (pub *mqttload.Client, received chan time.Time) {
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), InlineClient: false})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "raw", Address: addr})); err != nil {
		b.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	received = make(chan time.Time, 1)
	dial := func(id string) *mqttload.Client {
		c, err := mqttload.DialClient(mqttload.ClientConfig{Broker: "tcp://" + addr, ClientID: id})
		if err != nil {
			b.Fatalf("raw %s: %v", id, err)
		}
		b.Cleanup(c.Close)
		return c
	}
	pub, sub := dial("pub"), dial("sub")
	if err := sub.Subscribe("bench", func([]byte) { received <- time.Now() }); err != nil {
		b.Fatalf("raw subscribe: %v", err)
	}
	return pub, received
}

// allowAll lets any client connect, publish and subscribe.
type allowAll struct{ mochi.HookBase }

func (*allowAll) ID() string { return "allow-all" }
func (*allowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}
func (*allowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (*allowAll) OnACLCheck(*mochi.Client, string, bool) bool              { return true }

// quantile is the q-quantile of ds, in microseconds.
func quantile(ds []time.Duration, q float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(q*float64(len(s))))].Nanoseconds()) / 1e3
}
