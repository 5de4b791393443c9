package mqtt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/mqtt"
	"github.com/beckonhq/beckon/internal/mqttpacket"
	"github.com/beckonhq/beckon/internal/netfault"
	"github.com/beckonhq/beckon/kernel"
)

// Network faults, nothing killed (issue #14): connections cut in the
// middle of packets in both directions, a device that stops reading, a
// device that reconnects every 100 ms. Nothing is lost, nothing is
// applied half, and what the server holds stays bounded.

// faultRun is one device, bob/phone, whose session lives through faults,
// and alice, who rings it through the runtime: each ring is an invitation
// cancelled at once, two events for bob.
type faultRun struct {
	t   *testing.T
	e   *env
	p   *netfault.Proxy
	bob *rawDevice

	mu   sync.Mutex
	want []string // "Type inviteID" of every event bob is to get, in order
	data string   // of every invitation and cancellation
}

func newFaultRun(t *testing.T, e *env) *faultRun {
	f := &faultRun{t: t, e: e, p: netfault.New(t, e.addr)}
	f.bob = newRawDevice(t, f.p.Addr(), "bob", "phone")
	return f
}

// ring invites bob and cancels at once; it must not fail the test from
// another goroutine, so it returns what went wrong.
func (f *faultRun) ring() error {
	ctx := f.t.Context()
	res, err := f.e.rt.Do(ctx, kernel.Invite("alice", "bob", f.data, 600))
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return fmt.Errorf("alice invites bob: %w", err)
	}
	f.mu.Lock()
	f.want = append(f.want, "ReceiveNewInvitation "+res.InviteID, "InvitationCancelled "+res.InviteID)
	f.mu.Unlock()
	if res, err = f.e.rt.Do(ctx, kernel.Cancel("alice", res.InviteID, f.data)); err == nil {
		err = res.Err
	}
	if err != nil {
		return fmt.Errorf("alice cancels: %w", err)
	}
	return nil
}

func (f *faultRun) mustRing() {
	f.t.Helper()
	if err := f.ring(); err != nil {
		f.t.Fatal(err)
	}
}

func (f *faultRun) wanted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.want)
}

// resume connects bob asking to resume, which the session must be, and
// reads until every event rung so far has come.
func (f *faultRun) resume() {
	f.t.Helper()
	if !f.bob.open(false) {
		f.t.Fatalf("%s: Session notice resumed false, want true: the session was lost within its expiry", f.bob.cid)
	}
	f.bob.until("every event rung", func() bool { return len(f.bob.log) >= f.wanted() })
}

// check compares what bob handled with what was rung: every event once,
// in order, seq from 1 (REM-5).
func (f *faultRun) check() {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var got []string
	for i, ev := range f.bob.log {
		if ev.Seq != uint64(i+1) {
			f.t.Errorf("event %d: seq %d, want %d", i, ev.Seq, i+1)
		}
		got = append(got, ev.Type+" "+ev.InviteID)
	}
	if !slices.Equal(got, f.want) {
		f.t.Errorf("bob handled %d events, want %d:\ngot  %v\nwant %v", len(got), len(f.want), got, f.want)
	}
}

// finish ends bob's session cleanly and checks that the server lets go
// of everything: its connections, sessions and queued events, and every
// goroutine started since base.
func (f *faultRun) finish(base int) {
	f.t.Helper()
	f.bob.disconnect()
	settle(f.t, f.e, base)
	if err := f.e.rt.Err(); err != nil {
		f.t.Errorf("runtime: %v, want running", err)
	}
}

// settle waits for the server to hold nothing and for the goroutines to
// be back to base (a generous wait: they end asynchronously).
func settle(t *testing.T, e *env, base int) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		conns, sessions, events := mqtt.Held(e.srv)
		n := runtime.NumGoroutine()
		if conns == 0 && sessions == 0 && events == 0 && n <= base {
			return
		}
		if time.Now().After(deadline) {
			var dump bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&dump, 1)
			t.Fatalf("after %v the server holds %d connections, %d sessions, %d events, and %d goroutines run, want 0, 0, 0 and at most %d:\n%s",
				patience, conns, sessions, events, n, base, dump.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCutMidPacket cuts bob's connections in the middle of every packet
// kind, at every byte offset, in both directions. Each cut is preceded by a
// ring while bob is away. The server neither crashes nor leaks, a
// request cut before its end is never applied nor answered, one sent
// whole gets exactly one reply (REM-3), and bob, resuming each time, gets
// every event exactly once, in order (REM-5).
func TestCutMidPacket(t *testing.T) {
	for _, ph := range []struct {
		name string
		size func(f *faultRun) int    // bytes of the packet cut
		cut  func(f *faultRun, k int) // cuts a connection of bob k bytes into the packet
	}{
		{"CONNECT", func(f *faultRun) int { return len(f.bob.connectPacket(false)) },
			func(f *faultRun, k int) {
				f.p.CutNext(netfault.ToServer, k)
				f.bob.dial()
				_ = f.bob.write(f.bob.connectPacket(false))
				f.bob.cut()
			}},
		{"SUBSCRIBE", func(f *faultRun) int { return len(f.bob.subscribePacket()) },
			func(f *faultRun, k int) {
				f.bob.dial()
				_ = f.bob.write(f.bob.connectPacket(false))
				if p, err := f.bob.read(); err != nil || p.Kind != 2 {
					f.t.Fatalf("CONNACK: got %+v, %v", p, err)
				}
				f.p.Newest().CutAfter(netfault.ToServer, k)
				_ = f.bob.write(f.bob.subscribePacket())
				f.bob.cut()
			}},
		{"Request", func(f *faultRun) int { return len(f.bob.requestPacket("cut-000", "invite", cutInvite)) },
			func(f *faultRun, k int) {
				f.resume()
				ok := fmt.Sprintf("ok-%03d", k)
				_ = f.bob.write(f.bob.requestPacket(ok, "cancel", map[string]any{"inviteID": "none"}))
				f.bob.until("the reply to "+ok, func() bool { return f.bob.replies[ok] > 0 })
				f.p.Newest().CutAfter(netfault.ToServer, k)
				_ = f.bob.write(f.bob.requestPacket(fmt.Sprintf("cut-%03d", k), "invite", cutInvite))
				f.bob.cut()
			}},
		{"Event", func(f *faultRun) int {
			f.resume()
			before := f.bob.publishBytes
			f.mustRing()
			f.bob.until("the ring", func() bool { return len(f.bob.log) >= f.wanted() })
			f.bob.drop()
			return f.bob.publishBytes - before
		}, func(f *faultRun, k int) {
			f.resume()
			f.p.Newest().CutAfter(netfault.ToDevice, k)
			f.mustRing()
			f.bob.cut()
		}},
		{"PUBACK", func(*faultRun) int { return 2 * len(mqttpacket.Puback(1)) },
			func(f *faultRun, k int) {
				f.resume()
				f.bob.ackEvents = false
				defer func() { f.bob.ackEvents = true }()
				f.mustRing()
				f.bob.until("the ring", func() bool { return len(f.bob.unacked) == 2 })
				var acks []byte
				for _, id := range f.bob.unacked {
					acks = append(acks, mqttpacket.Puback(id)...)
				}
				f.p.Newest().CutAfter(netfault.ToServer, k)
				_ = f.bob.write(acks)
				f.bob.cut()
			}},
	} {
		t.Run(ph.name, func(t *testing.T) {
			e := start(t, nil, quietRuntime())
			f := newFaultRun(t, e)
			base := runtime.NumGoroutine()
			if f.bob.open(false) {
				t.Fatal("first connection: Session notice resumed true, want false")
			}
			n := ph.size(f)
			f.bob.drop()
			for k := range n {
				f.mustRing()
				ph.cut(f, k)
			}
			f.mustRing()
			f.resume()
			f.check()
			for id, n := range f.bob.replies {
				if !strings.HasPrefix(id, "ok-") || n != 1 {
					t.Errorf("reply %s: got %d, want one to each request sent whole, none to one cut", id, n)
				}
			}
			open, err := e.rt.OpenInvitations(t.Context(), "carol")
			if err != nil || len(open) != 0 {
				t.Errorf("carol's open invitations: got %v (%v), want none: requests cut short are not applied", open, err)
			}
			f.finish(base)
			t.Logf("%d cuts, %d events", n, len(f.want))
		})
	}
}

// cutInvite are the arguments of the request that is cut: applied, it
// would leave an open invitation for carol.
var cutInvite = map[string]any{"invitee": "carol", "timeout": 600}

// quietRuntime keeps the runtime's warnings about events it could not
// hand over (expected here) out of the test's output.
func quietRuntime() beckon.Option {
	return beckon.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// logBuffer collects a server's log for a test to read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.b.String(), s)
}

// TestSlowConsumer: bob stops reading while events keep coming. What the
// server holds for him stays within Options.EventQueue; past it his
// session ends and his connection is closed, both logged; carol's rings
// are not held up meanwhile; bob comes back as a new session and gets
// the invitations still pending again (SYN-1, REM-6). QueueFull reaches
// the bound while TCP still takes the events; WindowFull sends 8 KiB
// events to a socket with a small receive buffer, so that the server's
// writes to bob block well before the bound (the default one) is reached.
func TestSlowConsumer(t *testing.T) {
	for _, c := range []struct {
		name      string
		queue     int // Options.EventQueue; 0: the default
		dataBytes int
	}{
		{"QueueFull", 8, 0},
		{"WindowFull", 0, 8 << 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs := &logBuffer{}
			e := start(t, func(o *mqtt.Options) {
				o.EventQueue = c.queue
				o.Logger = slog.New(slog.NewTextHandler(logs, nil))
			}, quietRuntime())
			queue := c.queue
			if queue == 0 {
				queue = mqtt.DefaultEventQueue
			}
			f := newFaultRun(t, e)
			base := runtime.NumGoroutine()
			carol := newRawDevice(t, e.addr, "carol", "phone")
			carol.open(false)
			f.data = strings.Repeat("x", c.dataBytes)
			f.bob.addr, f.bob.rcvbuf = e.addr, 4<<10 // the proxy would buffer what bob does not read
			f.bob.open(false)
			stuck := f.bob.conn // bob reads nothing more from it

			// Two invitations stay pending; then rings until the bound is passed.
			var pending []string
			for range 2 {
				res, err := e.rt.Do(t.Context(), kernel.Invite("alice", "bob", "pending", 600))
				if err != nil || res.Err != nil {
					t.Fatalf("invite: %v %v", err, res.Err)
				}
				pending = append(pending, res.InviteID)
			}
			ringCarol := func() {
				t.Helper()
				began := time.Now()
				res, err := e.rt.Do(t.Context(), kernel.Invite("dave", "carol", "", 600))
				if err != nil || res.Err != nil {
					t.Fatalf("invite carol: %v %v", err, res.Err)
				}
				carol.until("her ring", func() bool {
					return len(carol.log) > 0 && carol.log[len(carol.log)-1].InviteID == res.InviteID
				})
				if d := time.Since(began); d > patience/2 {
					t.Errorf("carol's ring took %v while bob does not read, want it prompt", d)
				}
			}
			rings := queue/2 + 1
			for i := range rings {
				f.mustRing()
				if i == rings/2 {
					ringCarol()
				}
				if _, _, events := mqtt.Held(e.srv); events > queue+1 {
					t.Fatalf("after %d rings the server holds %d events, want at most %d (EventQueue) for bob and carol's one", i+1, events, queue+1)
				}
			}
			// Closed by the bound of its session's queue, or first by that of
			// its messages in flight (the Session notice counts there too).
			waitFor(t, "the session ended and the connection closed, logged", func() bool {
				conns, _, _ := mqtt.Held(e.srv)
				p := e.eng.presenceOf("bob/phone")
				return conns == 1 && logs.has(`msg="mqtt: disconnecting a device" client=bob/phone`) &&
					len(p) > 0 && p[len(p)-1] == "Disconnect"
			})
			ringCarol()
			stuck.Close()

			f.bob.rcvbuf = 0
			if f.bob.open(false) {
				t.Fatal("bob back: Session notice resumed true, want false: his session ended")
			}
			f.bob.until("the pending invitations", func() bool { return len(f.bob.log) >= 2 })
			for i, ev := range f.bob.log {
				if ev.Seq != uint64(i+1) || ev.Type != "ReceiveNewInvitation" || ev.InviteID != pending[i] || ev.Data != "pending" {
					t.Errorf("bob's event %d: got %+v, want seq %d ReceiveNewInvitation %s (SYN-1)", i, ev, i+1, pending[i])
				}
			}
			if p, err := f.bob.readWithin(200 * time.Millisecond); err == nil {
				t.Errorf("bob: got %q after the pending invitations, want nothing", p.Body)
			}
			carol.disconnect()
			f.finish(base)
		})
	}
}

// TestStuckConnectionTakenOver: bob's connection is stuck, his TCP window
// full (a phone whose old network went away without a word), and he
// comes back on a new connection before his queue is full. The new
// connection takes the session over at once, resumed, and gets every
// event exactly once, in order (REM-4, REM-5).
func TestStuckConnectionTakenOver(t *testing.T) {
	e := start(t, nil, quietRuntime())
	f := newFaultRun(t, e)
	base := runtime.NumGoroutine()
	f.data = strings.Repeat("x", 8<<10)
	f.bob.addr, f.bob.rcvbuf = e.addr, 4<<10
	f.bob.open(false)
	stuck := f.bob.conn
	// 800 events of 8 KiB, more than the sockets' buffers hold, fewer
	// than the default EventQueue: the server's writes to bob block.
	for range 400 {
		f.mustRing()
	}
	began := time.Now()
	f.bob.rcvbuf = 0
	if !f.bob.open(false) {
		t.Fatal("Session notice resumed false, want true")
	}
	if d := time.Since(began); d > patience/2 {
		t.Errorf("taking the stuck connection over took %v, want it prompt", d)
	}
	f.bob.until("every event rung", func() bool { return len(f.bob.log) >= f.wanted() })
	f.check()
	stuck.Close()
	f.finish(base)
}

// TestReconnectEvery100ms: for 3 s bob's connection goes every 100 ms,
// lost (closed without DISCONNECT) or taken over by his next one, while
// alice rings him all along. He resumes each time and gets every event
// exactly once, in order (REM-5); what the server holds does not grow:
// at most two connections and one session, events queued within
// EventQueue, goroutines back to where they were.
func TestReconnectEvery100ms(t *testing.T) {
	e := start(t, nil, quietRuntime())
	f := newFaultRun(t, e)
	base := runtime.NumGoroutine()
	if f.bob.open(false) {
		t.Fatal("first connection: Session notice resumed true, want false")
	}
	stop := make(chan struct{})
	ringing := make(chan error, 1)
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				ringing <- nil
				return
			case <-tick.C:
				if err := f.ring(); err != nil {
					ringing <- err
					return
				}
			}
		}
	}()
	var n, maxConns, maxSessions, maxEvents, maxGoroutines int
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); n++ {
		for deadline := time.Now().Add(100 * time.Millisecond); ; {
			p, err := f.bob.readWithin(time.Until(deadline))
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break // a packet begun is lost with the connection
			}
			if err != nil {
				t.Fatalf("connection %d: %v, want it open until bob leaves it", n, err)
			}
			f.bob.handle(p)
		}
		old := f.bob.conn
		if n%2 == 0 {
			old.Close()
		}
		if !f.bob.open(false) {
			t.Fatalf("connection %d: Session notice resumed false, want true", n+1)
		}
		if n%2 == 1 {
			old.Close()
		}
		conns, sessions, events := mqtt.Held(e.srv)
		maxConns, maxSessions, maxEvents = max(maxConns, conns), max(maxSessions, sessions), max(maxEvents, events)
		maxGoroutines = max(maxGoroutines, runtime.NumGoroutine())
	}
	close(stop)
	if err := <-ringing; err != nil {
		t.Fatal(err)
	}
	f.bob.until("every event rung", func() bool { return len(f.bob.log) >= f.wanted() })
	f.check()
	t.Logf("%d connections, %d events; the server held at most %d connections, %d sessions, %d events; %d goroutines ran at most, %d before",
		n+1, len(f.want), maxConns, maxSessions, maxEvents, maxGoroutines, base)
	if maxConns > 2 || maxSessions > 1 || maxEvents > mqtt.DefaultEventQueue {
		t.Errorf("the server held up to %d connections, %d sessions and %d events, want at most 2, 1 and %d",
			maxConns, maxSessions, maxEvents, mqtt.DefaultEventQueue)
	}
	f.finish(base)
}

// TestCloseWithStuckConnection: Server.Close does not wait on a device
// that stopped reading, its TCP window full: its connection is closed
// without the DISCONNECT and Close returns within its context.
func TestCloseWithStuckConnection(t *testing.T) {
	e := start(t, nil, quietRuntime())
	f := newFaultRun(t, e)
	f.data = strings.Repeat("x", 8<<10)
	f.bob.addr, f.bob.rcvbuf = e.addr, 4<<10
	f.bob.open(false)
	defer f.bob.drop()
	for range 400 { // as in TestStuckConnectionTakenOver: the writes to bob block
		f.mustRing()
	}
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	if err := e.srv.Close(ctx); err != nil {
		t.Errorf("Server.Close: %v, want nil", err)
	}
}
