package conformance

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/mqtt"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	"github.com/beckonhq/beckon/remote"
)

// wireFront serves the runtime harness's sessions as remote devices: each
// session is a remote.Client over loopback MQTT 5 to an adapters/mqtt
// Server in front of the runtime, so the whole path of a device is under
// test: the client's encoding of operations and options, the server's
// authentication, decoding, replies and SYN-1 on subscription, its event
// publishing, and the client's decoding, deduplication and Listener. The
// rest (raw operations of users with no session, groups, time, history
// read as a whole, restarts) is the runtime harness's (runtime_test.go).
//
//   - Events: the runtime's Delivery records each event when the committer
//     hands it over, then passes it to the Server, which publishes it; the
//     harness checks that the device's Listener heard exactly those events,
//     in order (rtDelivery.settle, which waits for them).
//   - Presence is applied by the Server on its own goroutines (Connect when
//     the device's events subscription is granted): login and logout wait
//     until the runtime has applied it, as the suite's Connect and
//     Disconnect return only then. Before a logout the harness waits for
//     the device to have heard its events: once its connection is closed,
//     the events still on the way are lost, as the protocol says.
//   - A user or session ID the protocol cannot carry (docs/protocol.md
//     "Connecting"), or above the configured limit, takes the raw path,
//     where the kernel must refuse it (6017): see wireID.
//   - Restart (bolt): the runtime crashes (the Server's goodbyes to its
//     sessions then reach nobody), the Server stops, the devices are
//     closed; a new runtime on the same store and a new Server on the same
//     address start, and every session dials again, in connection order,
//     its SYN-1 re-deliveries hidden (see runtimeHarness).
type wireFront struct {
	eng  *wireEngine
	srv  *mqtt.Server
	addr string // the Server's, the same after a restart
}

var wireSecret = []byte("conformance-wire-secret-0123456789")

// wireHarnessWith returns a constructor of wire harnesses on stack with
// limits lim; timers: see runtimeHarness.
func wireHarnessWith(stack *rtStack, lim Limits, timers bool) func(TB) Harness {
	return func(t TB) Harness {
		return newRuntimeHarness(t, stack, lim, timers, &wireFront{eng: &wireEngine{applied: map[presence]int{}}})
	}
}

func (w *wireFront) start(h *runtimeHarness, opts []beckon.Option) (*beckon.Runtime, error) {
	srv, err := mqtt.New(mqtt.Options{Engine: w.eng, Authenticator: mqtt.JWT(wireSecret),
		Logger:         slog.New(warnCollector{h.dlv}),
		MaxPacketBytes: 1 << 20, MaxRequestBytes: 1 << 20, MaxConnsPerUser: 1 << 10,
		RequestsPerSecond: 1e6, RequestBurst: 100}) // the harness is no flood
	if err != nil {
		return nil, err
	}
	h.dlv.out = srv
	rt, err := beckon.New(opts...)
	if err != nil {
		_ = srv.Close(context.Background())
		return nil, err
	}
	w.eng.set(rt)
	addr := w.addr
	if addr == "" {
		addr = "127.0.0.1:0"
		h.t.Cleanup(func() { w.stop(h) }) // before the runtime harness's own
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = srv.Close(context.Background())
		_ = rt.Close()
		return nil, err
	}
	w.addr, w.srv = ln.Addr().String(), srv
	go func() { _ = srv.Serve(ln) }()
	return rt, nil
}

// wireID tells whether id can be a user or device ID of a session over
// the wire: one the protocol can carry, within the configured limit (a
// device with a longer one is disconnected when the server's Connect is
// refused, which the device cannot tell from a lost connection).
func wireID(id string, lim Limits) bool {
	if id == "" || len(id) > min(128, lim.MaxIDBytes) || !utf8.ValidString(id) {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] == 0x7F {
			return false
		}
	}
	return true
}

const wirePatience = 10 * time.Second

func (w *wireFront) login(h *runtimeHarness, k sessKey, l beckon.Listener) (beckon.Signaling, error) {
	if !wireID(k.user, h.lim) || !wireID(k.session, h.lim) {
		if _, err := h.rt.Do(rtCtx, kernel.Connect(k.user, k.session)); err != nil {
			return nil, err
		}
		h.t.Fatalf("wire harness: Connect(%q, %q): the kernel accepts it, but the protocol cannot carry it", k.user, k.session)
	}
	tok, err := mqtt.IssueToken(wireSecret, k.user, time.Hour, time.Now())
	if err != nil {
		h.t.Fatalf("wire harness: IssueToken(%q): %v", k.user, err)
	}
	n := w.eng.count(presence{kernel.OpConnect, k})
	ctx, cancel := context.WithTimeout(rtCtx, wirePatience)
	defer cancel()
	cl, err := remote.Dial(ctx, remote.Options{Server: "mqtt://" + w.addr, User: k.user, Device: k.session, Token: tok,
		Logger: slog.New(warnCollector{h.dlv})}, l)
	if err != nil {
		h.t.Fatalf("wire harness: Dial(%s/%s): %v", k.user, k.session, err)
	}
	w.eng.await(h.t, presence{kernel.OpConnect, k}, n+1)
	return cl, nil
}

func (w *wireFront) logout(h *runtimeHarness, k sessKey, cl beckon.Signaling) error {
	h.dlv.settle(h.t, h.stack.name+" wire", k)
	n := w.eng.count(presence{kernel.OpDisconnect, k})
	err := cl.Close()
	w.eng.await(h.t, presence{kernel.OpDisconnect, k}, n+1)
	return err
}

func (w *wireFront) crash(h *runtimeHarness) {
	for _, c := range h.clients {
		h.dlv.settle(h.t, h.stack.name+" wire", c.key)
	}
	w.eng.set(nil)
	if err := h.rt.Close(); err != nil {
		h.t.Fatalf("%s wire harness: Close: %v", h.stack.name, err)
	}
	w.stop(h)
}

// stop closes the devices and the Server.
func (w *wireFront) stop(h *runtimeHarness) {
	for _, c := range h.clients {
		_ = c.cl.Close()
	}
	ctx, cancel := context.WithTimeout(rtCtx, wirePatience)
	defer cancel()
	if err := w.srv.Close(ctx); err != nil {
		h.t.Errorf("%s wire harness: Server.Close: %v", h.stack.name, err)
	}
}

// wireEngine is the Server's Engine: the runtime, counting the presence
// changes it applied.
type wireEngine struct {
	mu      sync.Mutex
	rt      *beckon.Runtime // nil once it crashed
	applied map[presence]int
}

type presence struct {
	op kernel.Op
	sessKey
}

func (e *wireEngine) set(rt *beckon.Runtime) {
	e.mu.Lock()
	e.rt = rt
	e.mu.Unlock()
}

func (e *wireEngine) Do(ctx context.Context, in kernel.Input) (kernel.Result, error) {
	e.mu.Lock()
	rt := e.rt
	e.mu.Unlock()
	if rt == nil {
		return kernel.Result{}, nil // a crashed runtime: the Server's goodbyes reach nobody
	}
	res, err := rt.Do(ctx, in)
	if in.Op == kernel.OpConnect || in.Op == kernel.OpDisconnect {
		e.mu.Lock()
		e.applied[presence{in.Op, sessKey{in.User, in.Session}}]++
		e.mu.Unlock()
	}
	return res, err
}

func (e *wireEngine) HistoryAs(ctx context.Context, user string, conv kernel.Conversation, after uint64, limit int) ([]port.HistoryMessage, error) {
	e.mu.Lock()
	rt := e.rt
	e.mu.Unlock()
	return rt.HistoryAs(ctx, user, conv, after, limit)
}

func (e *wireEngine) OpenInvitations(ctx context.Context, user string) ([]kernel.OpenInvitation, error) {
	e.mu.Lock()
	rt := e.rt
	e.mu.Unlock()
	return rt.OpenInvitations(ctx, user)
}

func (e *wireEngine) Records(user string, after port.RecordCursor, limit int) ([]port.CallRecord, error) {
	e.mu.Lock()
	rt := e.rt
	e.mu.Unlock()
	return rt.Records(user, after, limit)
}

func (e *wireEngine) Acked(user, session string, seq uint64) {
	e.mu.Lock()
	rt := e.rt
	e.mu.Unlock()
	if rt != nil {
		rt.Acked(user, session, seq)
	}
}

func (e *wireEngine) count(p presence) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.applied[p]
}

// await waits until p was applied n times.
func (e *wireEngine) await(t TB, p presence, n int) {
	deadline := time.Now().Add(wirePatience)
	for e.count(p) < n {
		if time.Now().After(deadline) {
			t.Fatalf("wire harness: %s of %s/%s not applied within %v", p.op, p.user, p.session, wirePatience)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func TestWireSuite(t *testing.T) {
	Run(t, wireHarnessWith(memoryStack, suiteLimits, true))
}

func TestWireBoltSuite(t *testing.T) {
	Run(t, wireHarnessWith(boltStack, suiteLimits, true))
}

// Every step of the wire harness is a round trip over loopback MQTT (and,
// on bolt, an fsynced commit), so its property tests run fewer times by
// default than the runtime's; RAPID_CHECKS or -rapid.checks set the depth.
func TestWireProperties(t *testing.T) {
	runPropertiesWith(t, wireChecks, wireHarnessWith(memoryStack, propLimits, false))
}

func TestWireBoltProperties(t *testing.T) {
	runPropertiesWith(t, wireBoltChecks, wireHarnessWith(boltStack, propLimits, false))
}

const (
	wireChecks     = "30"
	wireBoltChecks = "10"
)
