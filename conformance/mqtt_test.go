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
	"github.com/beckonhq/beckon/internal/netfault"
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
//   - Each device connects through a proxy of its own (internal/netfault), which
//     SessionResumer's Drop uses to cut its connection and hold its
//     reconnection, and Reconnect lets through: the device (remote's
//     autopaho) reconnects with clean start false and asks to resume; the
//     Server answers with the Session notice, which the harness checks
//     through the Listener (OnSessionRestarted for a session not
//     resumed). A session's expiry is the one ConnectFor asks for, else
//     remote's default (120 s).
//   - Restart (bolt): the runtime crashes (the Server's goodbyes to its
//     sessions then reach nobody), the Server stops, and the devices lose
//     their connections, their proxies holding the reconnections; a new
//     runtime on the same store and a new Server on the same address
//     start (the runtime hands the events it kept to the Server), and
//     every device that was connected is let through, in connection order,
//     and resumes its session (REM-5): a Restart with a session without
//     expiry connected fails the check.
type wireFront struct {
	eng     *wireEngine
	srv     *mqtt.Server
	addr    string // the Server's, the same after a restart
	proxies map[sessKey]*netfault.Proxy
}

var wireSecret = []byte("conformance-wire-secret-0123456789")

// wireHarnessWith returns a constructor of wire harnesses on stack with
// limits lim; timers: see runtimeHarness.
func wireHarnessWith(stack *rtStack, lim Limits, timers bool) func(TB) Harness {
	return func(t TB) Harness {
		return newRuntimeHarness(t, stack, lim, timers, &wireFront{eng: &wireEngine{applied: map[presence]int{}, resumed: map[sessKey]bool{}},
			proxies: map[sessKey]*netfault.Proxy{}})
	}
}

func (w *wireFront) start(h *runtimeHarness, opts []beckon.Option) (*beckon.Runtime, error) {
	srv, err := mqtt.New(mqtt.Options{Engine: w.eng, Authenticator: mqtt.JWT(wireSecret),
		Logger:         slog.New(warnCollector{h.dlv}),
		MaxPacketBytes: 1 << 20, MaxRequestBytes: 1 << 20, MaxConnsPerUser: 1 << 10,
		RequestsPerSecond: 1e6, RequestBurst: 100, // the harness is no flood
		SessionExpiry: wireMaxExpiry})
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

// wireMaxExpiry is the longest session expiry the Server grants: the
// suite asks for at most an hour.
const wireMaxExpiry = 24 * time.Hour

func (w *wireFront) login(h *runtimeHarness, k sessKey, l beckon.Listener) (beckon.Signaling, error) {
	return w.dial(h, k, 0, l)
}

func (w *wireFront) loginExpiry() int { return int(remote.DefaultSessionExpiry / time.Second) }

func (w *wireFront) connectFor(h *runtimeHarness, c *rtClient, l beckon.Listener) (beckon.Signaling, error) {
	expiry := time.Duration(c.expiry) * time.Second
	if c.expiry == 0 {
		expiry = -1 // none
	}
	return w.dial(h, c.key, expiry, l)
}

// dial connects a new device for k through its proxy, asking for expiry
// (0: remote's default; negative: none).
func (w *wireFront) dial(h *runtimeHarness, k sessKey, expiry time.Duration, l beckon.Listener) (beckon.Signaling, error) {
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
	p := w.proxy(h, k)
	n := w.eng.count(presence{kernel.OpConnect, k})
	ctx, cancel := context.WithTimeout(rtCtx, wirePatience)
	defer cancel()
	cl, err := remote.Dial(ctx, remote.Options{Server: "mqtt://" + p.Addr(), User: k.user, Device: k.session, Token: tok,
		SessionExpiry: expiry, Logger: slog.New(warnCollector{h.dlv})}, l)
	if err != nil {
		h.t.Fatalf("wire harness: Dial(%s/%s): %v", k.user, k.session, err)
	}
	w.eng.await(h.t, presence{kernel.OpConnect, k}, n+1)
	w.ready(h, k, cl)
	return cl, nil
}

// ready makes a round trip through the device: its connection is up, its
// subscriptions granted, and the Session notice that started the
// connection's events, written before the reply, heard.
func (w *wireFront) ready(h *runtimeHarness, k sessKey, cl beckon.Signaling) {
	ctx, cancel := context.WithTimeout(rtCtx, wirePatience)
	defer cancel()
	if _, err := cl.OpenInvitations(ctx); err != nil {
		h.t.Fatalf("wire harness: a round trip through %s/%s: %v", k.user, k.session, err)
	}
}

// proxy is k's proxy to the Server, made on first use.
func (w *wireFront) proxy(h *runtimeHarness, k sessKey) *netfault.Proxy {
	p := w.proxies[k]
	if p == nil {
		p = netfault.New(h.t, w.addr)
		w.proxies[k] = p
	}
	return p
}

// drop cuts the device's connection and holds its reconnections (the
// proxy accepts them and forwards nothing) until reconnect.
func (w *wireFront) drop(h *runtimeHarness, c *rtClient) {
	s, d := presence{kernel.OpSuspend, c.key}, presence{kernel.OpDisconnect, c.key}
	ns, nd := w.eng.count(s), w.eng.count(d)
	p := w.proxies[c.key]
	p.Hold(true)
	p.Cut()
	deadline := time.Now().Add(wirePatience)
	for w.eng.count(s) == ns && w.eng.count(d) == nd {
		if time.Now().After(deadline) {
			h.t.Fatalf("wire harness: the loss of %s/%s's connection not applied within %v", c.key.user, c.key.session, wirePatience)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// reconnect lets the device's held reconnection through: it asks to
// resume its session (clean start false).
func (w *wireFront) reconnect(h *runtimeHarness, c *rtClient) (bool, error) {
	r := presence{kernel.OpResume, c.key}
	n := w.eng.count(r)
	w.proxies[c.key].Hold(false)
	w.eng.await(h.t, r, n+1)
	w.ready(h, c.key, c.cl)
	return w.eng.lastResumed(c.key), nil
}

// forget closes a dropped device for good, its held reconnection too.
func (w *wireFront) forget(h *runtimeHarness, c *rtClient) {
	p := w.proxies[c.key]
	p.Discard()
	_ = c.cl.Close()
	p.Hold(false)
}

func (w *wireFront) logout(h *runtimeHarness, c *rtClient) error {
	h.dlv.settle(h.t, h.stack.name+" wire", c.key)
	n := w.eng.count(presence{kernel.OpDisconnect, c.key})
	err := c.cl.Close()
	w.eng.await(h.t, presence{kernel.OpDisconnect, c.key}, n+1)
	return err
}

// crash stops the runtime and the Server; the devices lose their
// connections, and their proxies hold the reconnections until the
// harness lets them through to the restarted Server (reconnect): each
// resumes its session (REM-5). A session without expiry cannot.
func (w *wireFront) crash(h *runtimeHarness) {
	for _, c := range h.clients {
		if !c.dropped && c.expiry == 0 {
			h.t.Fatalf("wire harness: Restart with %s/%s connected without expiry (ConnectFor 0): its device cannot resume", c.key.user, c.key.session)
		}
		if !c.dropped {
			h.dlv.settle(h.t, h.stack.name+" wire", c.key)
		}
		w.proxies[c.key].Hold(true)
	}
	w.eng.set(nil)
	if err := h.rt.Close(); err != nil {
		h.t.Fatalf("%s wire harness: Close: %v", h.stack.name, err)
	}
	w.closeServer(h)
}

// stop closes the devices, their proxies and the Server.
func (w *wireFront) stop(h *runtimeHarness) {
	for _, c := range h.clients {
		if c.dropped {
			w.proxies[c.key].Discard()
		}
		_ = c.cl.Close()
	}
	for _, p := range w.proxies {
		p.Close()
	}
	w.closeServer(h)
}

func (w *wireFront) closeServer(h *runtimeHarness) {
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
	resumed map[sessKey]bool // the answer of each session's last Resume
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
	switch in.Op {
	case kernel.OpConnect, kernel.OpDisconnect, kernel.OpSuspend, kernel.OpResume:
		k := sessKey{in.User, in.Session}
		e.mu.Lock()
		e.applied[presence{in.Op, k}]++
		if in.Op == kernel.OpResume {
			e.resumed[k] = err == nil && res.Resumed
		}
		e.mu.Unlock()
	}
	return res, err
}

func (e *wireEngine) lastResumed(k sessKey) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.resumed[k]
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
