package conformance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/memory"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	"github.com/benbjohnson/clock"
	"pgregory.net/rapid"
)

// runtimeHarness adapts the runtime (beckon.Runtime, its loop, committer,
// store and delivery ports, and the SDK-style Client) to Harness. The
// store is pluggable (rtStack): adapters/memory here, adapters/bolt in
// bolt_test.go.
//
//   - Sessions are real clients: Connect is Runtime.Login (with a Listener),
//     Disconnect is Client.Close, and an operation whose caller is a
//     logged-in session goes through that Client (Invite with
//     OnlineUserOnly, TimeoutSeconds, WithPush, WithRequestID,
//     WithInviteID; InviteInGroup with the same, WithPush included, which
//     the Client refuses; Cancel, Accept, Reject, Modify). A caller without a
//     session names the user only: it acts through the user's first
//     logged-in client if there is one (the kernel only checks the form of
//     an operation's Session). Only what a Client cannot express takes the
//     raw path, Runtime.Do: operations of users with no session logged in
//     (or of a session that is not, or of a malformed one), and Connect of
//     a session already connected (Login refuses it, the rules make it a
//     no-op).
//   - Events: the runtime's Delivery is rtDelivery, which records each
//     event synchronously when the committer hands it over (before the
//     operation is answered, DLV-3): that record is what TakeEvents
//     returns. It also passes every event on to a memory.Hub, the
//     SessionRegistry that Login registers the Listener with, and
//     TakeEvents checks that the listener heard exactly the same events
//     in the same order (waiting for its goroutine), so the SDK's callback
//     path is checked too.
//   - Time is virtual (rtClock). Advance moves it, then sends an explicit
//     tick through Runtime.Do, which the loop applies in order: once it is
//     answered, every timeout due by then has fired and its events are
//     recorded. With timers (the example checks), the clock is a
//     clock.Mock moved with Set, which also fires the runtime's own
//     deadline timer when it is due, as in production (so its arming and
//     disarming run too, though the explicit tick would hide a timer that
//     never fires). Without (the property tests), the runtime's timers
//     never fire and only the explicit ticks move it: clock.Mock.Set sleeps
//     a millisecond at each call and at each timer it fires, which on a
//     loaded machine made the property test several times slower.
//   - Invite IDs: one SequentialInviteIDs source for the harness's whole
//     life (restarts included), so drawn IDs are deterministic and never
//     reused while the invitation is open.
//   - Push requests: WithPushHook. History: Runtime.History; as a user
//     (HistoryReader): the user's Client, else Runtime.HistoryAs.
//   - Anything the runtime logs at Warn or above (an event it could not
//     deliver, a store failure) fails the check.
//
// Sessions with an expiry (SessionResumer): rtDelivery is the runtime's
// port.Keeper. It records each event when the committer hands it over, or
// holds it while its session's connection is lost (Drop), and hands what it
// held to the session when it resumes (Reconnect); Ended drops it. In
// process, such a session has no Client (Login takes no expiry): its
// listener is registered with the hub, the raw path connects, suspends
// (Drop) and resumes it, and the harness acknowledges (Runtime.Acked) each
// event it delivers. Over MQTT, see wireFront.
//
// Restart (Restarter) closes the runtime as a crash would (right after the
// last call returned), lets the downtime pass on the clock, then starts a
// new runtime on the same durable store (the same memory.Store; a reopened
// bolt file). Recovery fires the deadlines that passed while it was down
// (TMO-4), with their history and log records, then ends every session
// without expiry and suspends the others. The events of recovery reach the
// sessions with an expiry through the Keeper, with the events the store
// kept for them (rtDelivery records only those it had not: by Seq), and
// each such session that was connected resumes. The events of the sessions
// without expiry are dropped as no session is there to hear them. The
// suite's Restarter contract keeps client sessions as they were, so the
// harness hides their connection drop:
//
//  1. it computes the events recovery drops by running the kernel over
//     what the store holds (snapshot + log, as recovery does) and ticking
//     it at the restart time: those to sessions without expiry are the
//     timeout events they would have heard had they stayed connected, and
//     the harness records them as delivered;
//  2. it logs every such session back in, in connection order, and drops
//     the SYN-1 re-deliveries that Login causes (and only those: anything
//     else delivered then fails the check).
//
// So after a restart the events the suite reads for recovery come, for the
// sessions without expiry, from the kernel, not from the runtime (which by
// design delivers none to them); everything else (state, history, request
// IDs, groups, no deadline firing twice, the events kept for sessions) is
// the recovered runtime's own.
type runtimeHarness struct {
	t     TB
	stack *rtStack
	front rtFront
	lim   Limits
	cfg   kernel.Config
	clk   rtClock
	ids   kernel.IDSource
	dlv   *rtDelivery
	store beckon.Store
	// reopen gives the store a restarted runtime recovers from.
	reopen func(old beckon.Store) (beckon.Store, error)
	rt     *beckon.Runtime
	// clients are the logged-in sessions, in connection order.
	clients []*rtClient
	asked   map[sessKey]int // the expiry each session asked for last (ConnectFor), seconds
}

type rtClient struct {
	key sessKey
	cl  beckon.Signaling // nil: none, the raw path acts for it (an in-process session with an expiry)
	// expiry is the session's, in seconds: it is resumable if above 0
	// (in process only if connected with ConnectFor; a remote device's
	// is remote's default unless ConnectFor says otherwise).
	expiry  int
	dropped bool   // its connection is lost (Drop) and it is not back yet
	stop    func() // in process, with an expiry: unregisters it from the hub
}

// rtFront is how the harness's sessions reach the runtime: in process
// (inProcess: Runtime.Login, memory.Hub) or as remote devices over MQTT
// (mqtt_test.go). The rest of the harness is the same for both.
type rtFront interface {
	// start starts a runtime with opts, and what serves its sessions.
	start(h *runtimeHarness, opts []beckon.Option) (*beckon.Runtime, error)
	// login connects session k, its events going to l, and returns once
	// the runtime applied its Connect.
	login(h *runtimeHarness, k sessKey, l beckon.Listener) (beckon.Signaling, error)
	// logout ends session c (a clean disconnect) and returns once the
	// runtime applied its Disconnect.
	logout(h *runtimeHarness, c *rtClient) error
	// loginExpiry is the expiry of a logged-in session (Connect), in
	// seconds.
	loginExpiry() int
	// crash stops the runtime as a crash would, right after the last call
	// returned, and what serves it; the sessions that cannot resume are
	// closed.
	crash(h *runtimeHarness)
	// connectFor connects c.key with expiry c.expiry as a new connection,
	// which replaces the session if it is there (a dropped one), its events
	// going to l, and returns once the runtime applied its Connect; the
	// Signaling is nil when the raw path acts for it.
	connectFor(h *runtimeHarness, c *rtClient, l beckon.Listener) (beckon.Signaling, error)
	// drop loses c's connection and returns once the runtime applied the
	// loss (Suspend, or Disconnect without expiry).
	drop(h *runtimeHarness, c *rtClient)
	// reconnect brings c back, asking to resume its session, and returns
	// once the runtime applied it, with its answer.
	reconnect(h *runtimeHarness, c *rtClient) (resumed bool, err error)
	// forget gives up a dropped c for good (a new connection replaces it).
	forget(h *runtimeHarness, c *rtClient)
}

// inProcess is the front of clients in the runtime's process.
type inProcess struct{}

func (inProcess) start(_ *runtimeHarness, opts []beckon.Option) (*beckon.Runtime, error) {
	return beckon.New(opts...)
}

func (inProcess) login(h *runtimeHarness, k sessKey, l beckon.Listener) (beckon.Signaling, error) {
	return h.rt.Login(rtCtx, k.user, k.session, l)
}

func (inProcess) logout(h *runtimeHarness, c *rtClient) error {
	if c.cl != nil {
		return c.cl.Close()
	}
	c.stop()
	_, err := h.rt.Do(rtCtx, kernel.Disconnect(c.key.user, c.key.session))
	return err
}

func (inProcess) crash(h *runtimeHarness) {
	if err := h.rt.Close(); err != nil {
		h.t.Fatalf("%s runtime harness: Close: %v", h.stack.name, err)
	}
	for _, c := range h.clients {
		if c.cl != nil {
			_ = c.cl.Close() // the runtime is gone: this only unregisters the listener
		}
	}
}

// connectFor: a session with an expiry in process has no Client (Login
// takes none): the harness registers its listener with the hub, the raw
// path connects it, and rtDelivery keeps its events (port.Keeper).
func (inProcess) connectFor(h *runtimeHarness, c *rtClient, l beckon.Listener) (beckon.Signaling, error) {
	if err := inProcessListen(h, c, l); err != nil {
		return nil, err
	}
	in := kernel.Connect(c.key.user, c.key.session)
	in.Timeout = c.expiry
	if _, err := h.rt.Do(rtCtx, in); err != nil {
		c.stop()
		return nil, err
	}
	return nil, nil
}

// inProcessListen registers c's listener with the hub.
func inProcessListen(h *runtimeHarness, c *rtClient, l beckon.Listener) error {
	handle, err := beckon.ListenerHandler(l, slog.New(warnCollector{h.dlv}), c.key.user, c.key.session)
	if err != nil {
		return err
	}
	unregister, err := h.dlv.hub.Register(c.key.user, c.key.session, func(ev kernel.Event) { handle(ev) })
	if err != nil {
		return err
	}
	c.stop = unregister
	return nil
}

func (inProcess) drop(h *runtimeHarness, c *rtClient) {
	c.stop()
	h.do("Do(Suspend)", kernel.Suspend(c.key.user, c.key.session))
}

func (inProcess) reconnect(h *runtimeHarness, c *rtClient) (bool, error) {
	if c.dropped {
		if err := inProcessListen(h, c, h.listenerOf(c.key)); err != nil {
			return false, err
		}
	}
	res, err := h.rt.Do(rtCtx, kernel.Resume(c.key.user, c.key.session, c.expiry))
	return res.Resumed, err
}

func (inProcess) forget(*runtimeHarness, *rtClient) {}

func (inProcess) loginExpiry() int { return 0 }

// rtStack is a durable store the runtime can run on. open makes a new,
// empty store for one harness, and its reopen, which gives the store a
// restarted runtime recovers from (the same memory.Store; the bolt file
// closed and opened again).
type rtStack struct {
	name string
	open func(t TB) (store beckon.Store, reopen func(old beckon.Store) (beckon.Store, error))
}

var memoryStack = &rtStack{
	name: "memory",
	open: func(TB) (beckon.Store, func(beckon.Store) (beckon.Store, error)) {
		return memory.NewStore(), func(old beckon.Store) (beckon.Store, error) { return old, nil }
	},
}

// rtSnapshotEvery is small so that snapshots are taken (and the records
// they cover dropped) all the time: a restart then restores a snapshot and
// replays the records after it.
const rtSnapshotEvery = 3

var rtCtx = context.Background()

// runtimeHarnessWith returns a constructor of runtime harnesses on stack
// with limits lim; timers: see runtimeHarness.
func runtimeHarnessWith(stack *rtStack, lim Limits, timers bool) func(TB) Harness {
	return func(t TB) Harness { return newRuntimeHarness(t, stack, lim, timers, inProcess{}) }
}

func newRuntimeHarness(t TB, stack *rtStack, lim Limits, timers bool, front rtFront) *runtimeHarness {
	h := &runtimeHarness{t: t, stack: stack, front: front, lim: lim, cfg: Kernel.Config(lim), clk: newRTClock(timers),
		ids: beckon.SequentialInviteIDs("i"), dlv: newRTDelivery(), asked: map[sessKey]int{}}
	h.store, h.reopen = stack.open(t)
	t.Cleanup(func() {
		if h.rt != nil {
			_ = h.rt.Close()
		}
		_ = h.dlv.hub.Close()
		if h.store != nil {
			_ = h.store.Close()
		}
	})
	h.start()
	return h
}

// start starts a runtime on h.store (recovering what it holds).
func (h *runtimeHarness) start() {
	rt, err := h.front.start(h, []beckon.Option{
		beckon.WithStore(h.store),
		beckon.WithDelivery(h.dlv),
		beckon.WithPushHook(beckon.PushFunc(h.dlv.push)),
		beckon.WithClock(h.clk),
		beckon.WithKernelConfig(h.cfg),
		beckon.WithInviteIDs(h.ids),
		beckon.WithSnapshotEvery(rtSnapshotEvery),
		beckon.WithLogger(slog.New(warnCollector{h.dlv})),
	})
	if err != nil {
		h.t.Fatalf("%s runtime harness: New: %v", h.stack.name, err)
	}
	h.rt = rt
	h.dlv.rt.Store(rt)
}

func (h *runtimeHarness) Limits() Limits { return h.lim }

// check fails the check if the runtime or the delivery reported a problem.
func (h *runtimeHarness) check() {
	if p := h.dlv.takeProblems(); len(p) > 0 {
		h.t.Fatalf("%s runtime harness: %s", h.stack.name, strings.Join(p, "; "))
	}
}

// code turns the error of an operation into the rule's error code. A
// failure of the runtime itself (closed, store failed) is no rule's answer
// and fails the check.
func (h *runtimeHarness) code(op string, err error) int {
	h.check()
	if err == nil {
		return 0
	}
	var kerr *kernel.Error
	if !errors.As(err, &kerr) {
		h.t.Fatalf("%s runtime harness: %s: %v (not a rule's error)", h.stack.name, op, err)
	}
	return beckon.Code(err)
}

func (h *runtimeHarness) client(k sessKey) *rtClient {
	for _, c := range h.clients {
		if c.key == k {
			return c
		}
	}
	return nil
}

// clientFor returns the client that acts for c, or nil if none can.
func (h *runtimeHarness) clientFor(c Caller) beckon.Signaling {
	for _, x := range h.clients {
		if x.cl != nil && !x.dropped && x.key.user == c.User && (c.Session == "" || x.key.session == c.Session) {
			return x.cl
		}
	}
	return nil
}

// do is the raw path.
func (h *runtimeHarness) do(op string, in kernel.Input) (kernel.Result, int) {
	res, err := h.rt.Do(rtCtx, in)
	return res, h.code(op, err)
}

func opts(c Caller, inviteID string) []beckon.CallOption {
	var o []beckon.CallOption
	if c.RequestID != "" {
		o = append(o, beckon.WithRequestID(c.RequestID))
	}
	if inviteID != "" {
		o = append(o, beckon.WithInviteID(inviteID))
	}
	return o
}

func inviteOpts(c Caller, inviteID string, onlineOnly bool, timeout int) []beckon.CallOption {
	o := opts(c, inviteID)
	if onlineOnly {
		o = append(o, beckon.OnlineUserOnly())
	}
	if timeout != 0 {
		o = append(o, beckon.TimeoutSeconds(timeout))
	}
	return o
}

func signalingInput(op kernel.Op, c Caller, id, data string) kernel.Input {
	return kernel.Input{Op: op, User: c.User, Session: c.Session, RequestID: c.RequestID, InviteID: id, Data: data}
}

func kernelPush(p *PushInfo) *kernel.PushInfo {
	if p == nil {
		return nil
	}
	return &kernel.PushInfo{Title: p.Title, Desc: p.Desc, Ext: p.Ext, Sound: p.Sound}
}

func (h *runtimeHarness) Invite(c Caller, a InviteArgs) (string, int) {
	if cl := h.clientFor(c); cl != nil {
		o := inviteOpts(c, a.InviteID, a.OnlineUserOnly, a.Timeout)
		if a.Push != nil {
			o = append(o, beckon.WithPush(*kernelPush(a.Push)))
		}
		id, err := cl.Invite(rtCtx, a.Invitee, a.Data, o...)
		return id, h.code("Client.Invite", err)
	}
	in := signalingInput(kernel.OpInvite, c, a.InviteID, a.Data)
	in.Invitees = []string{a.Invitee}
	in.OnlineUserOnly, in.Timeout, in.Push = a.OnlineUserOnly, a.Timeout, kernelPush(a.Push)
	res, code := h.do("Do(Invite)", in)
	return res.InviteID, code
}

func (h *runtimeHarness) InviteInGroup(c Caller, a GroupInviteArgs) (string, int) {
	invitees := append([]string(nil), a.Invitees...)
	if cl := h.clientFor(c); cl != nil {
		o := inviteOpts(c, a.InviteID, a.OnlineUserOnly, a.Timeout)
		if a.Push != nil { // the Client refuses it (6017), as the kernel does on the raw path
			o = append(o, beckon.WithPush(*kernelPush(a.Push)))
		}
		id, err := cl.InviteInGroup(rtCtx, a.Group, invitees, a.Data, o...)
		return id, h.code("Client.InviteInGroup", err)
	}
	in := signalingInput(kernel.OpInviteInGroup, c, a.InviteID, a.Data)
	in.Group, in.Invitees, in.OnlineUserOnly, in.Timeout = a.Group, invitees, a.OnlineUserOnly, a.Timeout
	in.Push = kernelPush(a.Push)
	res, code := h.do("Do(InviteInGroup)", in)
	return res.InviteID, code
}

// respond runs cancel, accept, reject or modify.
func (h *runtimeHarness) respond(op kernel.Op, c Caller, id, data string) int {
	cl := h.clientFor(c)
	if cl == nil {
		_, code := h.do("Do("+op.String()+")", signalingInput(op, c, id, data))
		return code
	}
	o := opts(c, "")
	var err error
	switch op {
	case kernel.OpCancel:
		err = cl.Cancel(rtCtx, id, data, o...)
	case kernel.OpAccept:
		err = cl.Accept(rtCtx, id, data, o...)
	case kernel.OpReject:
		err = cl.Reject(rtCtx, id, data, o...)
	case kernel.OpModify:
		err = cl.Modify(rtCtx, id, data, o...)
	}
	return h.code("Client."+op.String(), err)
}

func (h *runtimeHarness) Cancel(c Caller, id, data string) int {
	return h.respond(kernel.OpCancel, c, id, data)
}
func (h *runtimeHarness) Accept(c Caller, id, data string) int {
	return h.respond(kernel.OpAccept, c, id, data)
}
func (h *runtimeHarness) Reject(c Caller, id, data string) int {
	return h.respond(kernel.OpReject, c, id, data)
}
func (h *runtimeHarness) Modify(c Caller, id, data string) int {
	return h.respond(kernel.OpModify, c, id, data)
}

// login logs a session in, with a listener that reports to the delivery.
func (h *runtimeHarness) login(k sessKey) (beckon.Signaling, error) {
	h.dlv.listener(k)
	return h.front.login(h, k, h.listenerOf(k))
}

// listenerOf is a listener for the latest login of k that reports to the
// delivery, OnSessionRestarted included (remote.SessionListener).
func (h *runtimeHarness) listenerOf(k sessKey) beckon.Listener {
	l := h.dlv.current(k)
	return rtListener{EventFunc: func(ev beckon.Event) { h.dlv.heard(l, ev) }, restarted: func() { h.dlv.restarted(l) }}
}

// rtListener is a beckon.Listener that also hears that a remote session
// started afresh (remote.SessionListener).
type rtListener struct {
	beckon.EventFunc
	restarted func()
}

func (l rtListener) OnSessionRestarted() { l.restarted() }

func (h *runtimeHarness) Connect(user, session string) int {
	k := sessKey{user, session}
	if h.client(k) != nil { // Login refuses a logged-in session; the rules make it a no-op
		_, code := h.do("Do(Connect)", kernel.Connect(user, session))
		return code
	}
	cl, err := h.login(k)
	if err != nil {
		return h.code("Login", err)
	}
	h.clients = append(h.clients, &rtClient{key: k, cl: cl, expiry: h.front.loginExpiry()})
	h.check()
	return 0
}

func (h *runtimeHarness) Disconnect(user, session string) int {
	k := sessKey{user, session}
	c := h.client(k)
	if c == nil {
		_, code := h.do("Do(Disconnect)", kernel.Disconnect(user, session))
		return code
	}
	h.remove(c)
	return h.code("Client.Close", h.front.logout(h, c))
}

func (h *runtimeHarness) remove(c *rtClient) {
	for i, x := range h.clients {
		if x == c {
			h.clients = append(h.clients[:i:i], h.clients[i+1:]...)
			return
		}
	}
}

// ConnectFor (SessionResumer): a session connected already changes
// nothing (the raw path's Connect, as for Connect); a dropped one is given
// up and a new connection replaces its session.
func (h *runtimeHarness) ConnectFor(user, session string, expiry time.Duration) int {
	k := sessKey{user, session}
	secs := int(expiry / time.Second)
	c := h.client(k)
	if c != nil && !c.dropped {
		in := kernel.Connect(user, session)
		in.Timeout = secs
		_, code := h.do("Do(Connect)", in)
		return code
	}
	if c != nil {
		h.front.forget(h, c)
		h.remove(c)
	}
	h.dlv.setDown(k, false)
	h.dlv.listener(k)
	h.asked[k] = secs
	c = &rtClient{key: k, expiry: secs}
	keeps := h.dlv.keepsOf(k)
	cl, err := h.front.connectFor(h, c, h.listenerOf(k))
	if err != nil {
		return h.code("ConnectFor", err)
	}
	h.dlv.started(k, keeps)
	c.cl = cl
	h.clients = append(h.clients, c)
	h.check()
	return 0
}

// Drop (SessionResumer): once the session's device heard what it was
// handed, its connection is lost; its events are held (rtDelivery) until
// it is back.
func (h *runtimeHarness) Drop(user, session string) {
	k := sessKey{user, session}
	c := h.client(k)
	if c == nil || c.dropped {
		h.t.Fatalf("%s runtime harness: Drop(%q, %q) of a session that is not connected", h.stack.name, user, session)
	}
	h.dlv.settle(h.t, h.stack.name, k)
	h.dlv.setDown(k, true)
	h.front.drop(h, c)
	c.dropped = true
	h.check()
}

// Reconnect (SessionResumer): a dropped session's device comes back; one
// that is not there (disconnected) connects anew.
func (h *runtimeHarness) Reconnect(user, session string) (bool, int) {
	k := sessKey{user, session}
	c := h.client(k)
	if c == nil {
		return false, h.ConnectFor(user, session, time.Duration(h.asked[k])*time.Second)
	}
	if !c.dropped {
		h.t.Fatalf("%s runtime harness: Reconnect(%q, %q) of a session that is connected", h.stack.name, user, session)
	}
	h.dlv.setDown(k, false)
	keeps := h.dlv.keepsOf(k)
	resumed, err := h.front.reconnect(h, c)
	if err != nil {
		return false, h.code("Reconnect", err)
	}
	c.dropped = false
	h.dlv.back(k, resumed)
	if !resumed {
		h.dlv.started(k, keeps)
	}
	h.check()
	return resumed, 0
}

func (h *runtimeHarness) SetGroup(group string, members []string) int {
	return h.code("SetGroup", h.rt.SetGroup(rtCtx, group, append([]string(nil), members...)))
}
func (h *runtimeHarness) JoinGroup(group, user string) int {
	return h.code("JoinGroup", h.rt.JoinGroup(rtCtx, group, user))
}
func (h *runtimeHarness) LeaveGroup(group, user string) int {
	return h.code("LeaveGroup", h.rt.LeaveGroup(rtCtx, group, user))
}

// Advance moves the clock (which, with timers, fires the runtime's own
// deadline timer if it is due by then), then has the loop apply a tick at
// the new time: once it is answered, every timeout due is applied and its
// events recorded.
func (h *runtimeHarness) Advance(d time.Duration) {
	if d > 0 {
		h.clk.advance(d)
	}
	h.do("Do(Tick)", kernel.Input{Op: kernel.OpTick})
}

func (h *runtimeHarness) TakeEvents(user, session string) []Event {
	k := sessKey{user, session}
	h.dlv.settle(h.t, h.stack.name, k)
	h.check()
	return h.dlv.take(k)
}

func (h *runtimeHarness) History(conv Conversation) [][]byte {
	kc := kernel.C2C(conv.A, conv.B)
	if conv.Group != "" {
		kc = kernel.GroupConversation(conv.Group)
	}
	msgs, err := h.rt.History(kc, 0, 0)
	if err != nil {
		h.t.Fatalf("%s runtime harness: History(%s): %v", h.stack.name, conv, err)
	}
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		out[i] = m.Payload
	}
	return out
}

// ReadHistory reads as user (HIS-4) through a logged-in client of the user
// where there is one (Client.GroupHistory, Client.History), else through
// Runtime.HistoryAs.
func (h *runtimeHarness) ReadHistory(user string, conv Conversation) ([][]byte, int) {
	kc := kernel.C2C(conv.A, conv.B)
	if conv.Group != "" {
		kc = kernel.GroupConversation(conv.Group)
	}
	var msgs []beckon.HistoryMessage
	var err error
	cl := h.clientFor(Caller{User: user})
	switch {
	case cl != nil && conv.Group != "":
		msgs, err = cl.GroupHistory(conv.Group, 0, 0)
	case cl != nil && user == conv.A:
		msgs, err = cl.History(conv.B, 0, 0)
	case cl != nil && user == conv.B:
		msgs, err = cl.History(conv.A, 0, 0)
	default:
		msgs, err = h.rt.HistoryAs(rtCtx, user, kc, 0, 0)
	}
	if code := h.code("ReadHistory", err); code != 0 {
		return nil, code
	}
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		out[i] = m.Payload
	}
	return out, 0
}

func (h *runtimeHarness) TakePushes() []PushRequest {
	h.check()
	return h.dlv.takePushes()
}

func (h *runtimeHarness) ParseSignalingInfo(msg []byte) (Envelope, bool) {
	info, err := beckon.GetSignalingInfo(msg)
	if err != nil {
		return Envelope{}, false
	}
	return Envelope{BusinessID: info.BusinessID, InviteID: info.InviteID, GroupID: info.GroupID, Inviter: info.Inviter,
		InviteeList: info.InviteeList, Data: info.Data, Timeout: info.Timeout, ActionType: int(info.ActionType),
		OnlineUserOnly: info.OnlineUserOnly}, true
}

// Restart: see runtimeHarness.
func (h *runtimeHarness) Restart(downtime time.Duration) {
	h.check()
	// The crash: no operation is in flight (the last call returned).
	h.front.crash(h)
	h.rt = nil
	store, err := h.reopen(h.store)
	if err != nil {
		h.t.Fatalf("%s runtime harness: reopening the store: %v", h.stack.name, err)
	}
	h.store = store
	at := h.clk.Now().Add(downtime)
	lost := h.recoveryEvents(at)
	if downtime > 0 {
		h.clk.advance(downtime)
	}
	h.dlv.setStarting(true)
	h.start() // fires the deadlines that passed, ends the sessions without expiry, suspends the others
	h.dlv.setStarting(false)
	h.dlv.record(lost)
	old := h.clients
	h.clients = nil
	for _, c := range old {
		switch {
		case c.dropped: // its device comes back with Reconnect
		case c.expiry > 0:
			resumed, err := h.front.reconnect(h, c)
			if err != nil || !resumed {
				h.t.Fatalf("%s runtime harness: resuming %s/%s after restart: resumed %v, %v; want resumed", h.stack.name, c.key.user, c.key.session, resumed, err)
			}
		default:
			h.dlv.hide(&c.key)
			cl, err := h.login(c.key)
			h.dlv.hide(nil)
			if err != nil {
				h.t.Fatalf("%s runtime harness: Login(%s/%s) after restart: %v", h.stack.name, c.key.user, c.key.session, err)
			}
			c = &rtClient{key: c.key, cl: cl, expiry: c.expiry}
		}
		h.clients = append(h.clients, c)
	}
	h.check()
}

// recoveryEvents returns the events that recovery at time at emits and
// drops, those of sessions without expiry (the others reach them through
// rtDelivery, the runtime's port.Keeper): it replays what the store holds on a kernel of its own, as the
// runtime's recovery does, and ticks it at that time.
func (h *runtimeHarness) recoveryEvents(at time.Time) []rtEvent {
	snapIndex, snap, records, err := h.store.Load()
	if err != nil {
		h.t.Fatalf("%s runtime harness: Load: %v", h.stack.name, err)
	}
	outs, err := Kernel.Recover(h.cfg, snap, records, at)
	if err != nil {
		h.t.Fatalf("%s runtime harness: recovery (snapshot at %d): %v", h.stack.name, snapIndex, err)
	}
	var evs []rtEvent
	for _, o := range outs {
		k := sessKey{o.User, o.Session}
		if c := h.client(k); o.Kind == OutEvent && (c == nil || c.expiry == 0) {
			evs = append(evs, rtEvent{k, o.Event})
		}
	}
	return evs
}

// rtClock is the runtime's virtual clock; it starts at rtStart (setting a
// clock.Mock there sleeps a millisecond, once).
type rtClock interface {
	clock.Clock
	advance(d time.Duration)
}

func newRTClock(timers bool) rtClock {
	if timers {
		m := clock.NewMock()
		m.Set(rtStart)
		return mockClock{m}
	}
	return &tickClock{Mock: clock.NewMock(), now: rtStart}
}

// rtStart is when the runtime's clock starts: not the Unix epoch, which
// the kernel cannot tell from no time at all (a session's connection lost
// then would count as never lost).
var rtStart = time.Unix(1_700_000_000, 0)

// mockClock moves a clock.Mock, firing the timers due.
type mockClock struct{ *clock.Mock }

func (c mockClock) advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// tickClock tells its own time; its timers are those of a clock.Mock that
// never moves, so they never fire.
type tickClock struct {
	*clock.Mock
	mu  sync.Mutex
	now time.Time
}

func (c *tickClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *tickClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *tickClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c *tickClock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }

type rtEvent struct {
	key sessKey
	ev  Event
}

func suiteEvent(e kernel.Event) Event {
	return Event{Type: EventType(e.Type), InviteID: e.InviteID, Inviter: e.Inviter, Invitee: e.Invitee,
		GroupID: e.GroupID, Invitees: append([]string(nil), e.Invitees...), Data: e.Data}
}

// rtDelivery is the runtime's Delivery and PushHook (see runtimeHarness).
// Deliver and the push hook run on the runtime's committer, the listeners
// on the hub's goroutines; the harness reads on its own.
type rtDelivery struct {
	hub     *memory.Hub     // the SessionRegistry of in-process logins
	out     beckon.Delivery // what delivers the events to the sessions: hub, unless the front says otherwise
	changed chan struct{}   // capacity 1: a listener heard something

	mu       sync.Mutex
	events   map[sessKey][]Event // handed over, not yet taken
	logins   int                 // Logins so far: each has its own listener
	login    map[sessKey]int     // the latest Login of each session
	viaHub   map[rtLogin][]Event // handed to the hub, not yet matched with what the listener heard
	heardEvs map[rtLogin][]Event // heard by the listener, not yet matched
	pushes   []PushRequest
	hiding   *sessKey // a session being logged back in after a restart: its SYN-1 events are dropped
	problems []string

	// Sessions that outlive a lost connection (port.Keeper): the Seq of
	// the last event recorded, the sessions whose connection is lost and
	// the events held for them, and whether the runtime is starting
	// (handing over what its store kept, which may have been recorded).
	seq      map[sessKey]uint64
	keeps    map[sessKey]int // Keep calls so far
	down     map[sessKey]bool
	held     map[sessKey][]kernel.SessionEvent
	starting bool
	// OnSessionRestarted calls expected and heard, per login
	// (remote.SessionListener).
	restartsWant, restartsHeard map[rtLogin]int
	rt                          atomic.Pointer[beckon.Runtime] // the current one, for Acked
}

func newRTDelivery() *rtDelivery {
	hub := memory.NewHub()
	return &rtDelivery{hub: hub, out: hub, changed: make(chan struct{}, 1), events: map[sessKey][]Event{},
		login: map[sessKey]int{}, viaHub: map[rtLogin][]Event{}, heardEvs: map[rtLogin][]Event{},
		seq: map[sessKey]uint64{}, keeps: map[sessKey]int{}, down: map[sessKey]bool{}, held: map[sessKey][]kernel.SessionEvent{},
		restartsWant: map[rtLogin]int{}, restartsHeard: map[rtLogin]int{}}
}

// rtLogin is one Login of a session. Events are compared per Login, not
// per session: after a session logs out and in again, the listener of the
// first Login may still be handling its last events on its own goroutine
// while the second hears its first ones.
type rtLogin struct {
	sessKey
	n int
}

// listener returns the next Login of k, made the one the hub delivers to.
func (d *rtDelivery) listener(k sessKey) rtLogin {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.logins++
	d.login[k] = d.logins
	return rtLogin{k, d.logins}
}

// current is the latest Login of k.
func (d *rtDelivery) current(k sessKey) rtLogin {
	d.mu.Lock()
	defer d.mu.Unlock()
	return rtLogin{k, d.login[k]}
}

// Deliver is Keep without a Seq (the runtime calls Keep: rtDelivery is a
// port.Keeper).
func (d *rtDelivery) Deliver(user, session string, ev kernel.Event) error {
	return d.Keep(kernel.SessionEvent{User: user, Session: session, Event: ev})
}

// Keep records e as delivered, or held while its session's connection is
// lost, and passes it on. An event the store kept that the runtime hands
// again at start is recorded already (its Seq says so): it is passed on to
// a front that is a port.Keeper (a restarted server holds it for the
// session), and to nothing else.
func (d *rtDelivery) Keep(e kernel.SessionEvent) error {
	k := sessKey{e.User, e.Session}
	ev := suiteEvent(e.Event)
	keeper, isKeeper := d.out.(port.Keeper)
	d.mu.Lock()
	if d.hiding != nil {
		if *d.hiding == k && e.Event.Type == kernel.EventNewInvitation {
			d.mu.Unlock()
			return nil // SYN-1 re-delivery of a session that never went away (for the suite)
		}
		d.problems = append(d.problems, fmt.Sprintf("event %s to %s/%s while logging %s/%s back in after a restart (want only its SYN-1 re-deliveries)",
			ev, e.User, e.Session, d.hiding.user, d.hiding.session))
	}
	d.keeps[k]++
	again := d.starting && e.Seq <= d.seq[k]
	if !again {
		d.seq[k] = e.Seq
	}
	down := d.down[k]
	l := rtLogin{k, d.login[k]}
	switch {
	case again:
	case down:
		d.held[k] = append(d.held[k], e)
	default:
		d.events[k] = append(d.events[k], ev)
		d.viaHub[l] = append(d.viaHub[l], ev)
	}
	d.mu.Unlock()
	var err error
	switch {
	case isKeeper:
		err = keeper.Keep(e)
	case !again && !down:
		err = d.handOn(e)
	}
	if err != nil {
		d.mu.Lock()
		if !again && !down {
			d.viaHub[l] = d.viaHub[l][:len(d.viaHub[l])-1]
		}
		d.problems = append(d.problems, fmt.Sprintf("event %s delivered to %s/%s, which is not logged in: %v", ev, e.User, e.Session, err))
		d.mu.Unlock()
	}
	return err
}

// handOn delivers e through the hub; the device in process has it then.
func (d *rtDelivery) handOn(e kernel.SessionEvent) error {
	if err := d.out.Deliver(e.User, e.Session, e.Event); err != nil {
		return err
	}
	if rt := d.rt.Load(); rt != nil && e.Resumable {
		rt.Acked(e.User, e.Session, e.Seq)
	}
	return nil
}

// Ended forgets what is held for a session that ended (port.Keeper).
func (d *rtDelivery) Ended(s kernel.SessionRef) {
	k := sessKey{s.User, s.Session}
	d.mu.Lock()
	delete(d.held, k)
	delete(d.seq, k)
	d.mu.Unlock()
	if keeper, ok := d.out.(port.Keeper); ok {
		keeper.Ended(s)
	}
}

// setDown says whether k's connection is lost.
func (d *rtDelivery) setDown(k sessKey, down bool) {
	d.mu.Lock()
	d.down[k] = down
	d.mu.Unlock()
}

func (d *rtDelivery) setStarting(on bool) {
	d.mu.Lock()
	d.starting = on
	d.mu.Unlock()
}

// back hands what was held for k to its device, which is back: resumed,
// it gets every event it had meanwhile (REM-5); else they are gone with
// the session, and a remote device says that its session restarted.
func (d *rtDelivery) back(k sessKey, resumed bool) {
	_, isKeeper := d.out.(port.Keeper)
	d.mu.Lock()
	held := d.held[k]
	delete(d.held, k)
	l := rtLogin{k, d.login[k]}
	if !resumed {
		if isKeeper {
			d.restartsWant[l]++
			if _, ok := d.viaHub[l]; !ok {
				d.viaHub[l] = nil // for settle to wait for the call
			}
		}
		d.mu.Unlock()
		return
	}
	for _, e := range held {
		d.events[k] = append(d.events[k], suiteEvent(e.Event))
		d.viaHub[l] = append(d.viaHub[l], suiteEvent(e.Event))
	}
	d.mu.Unlock()
	if isKeeper {
		return // the server writes its queue again
	}
	for _, e := range held {
		if err := d.handOn(e); err != nil {
			d.problem(fmt.Sprintf("event %s held for %s/%s not delivered when it came back: %v", suiteEvent(e.Event), k.user, k.session, err))
		}
	}
}

// keepsOf is how many events were handed for k so far.
func (d *rtDelivery) keepsOf(k sessKey) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.keeps[k]
}

// started forgets what is known of k's earlier session once a new one
// started (a session that ended at recovery was never reported Ended):
// what was held for it, and its Seq unless the new one has events since
// keeps.
func (d *rtDelivery) started(k sessKey, keeps int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.held, k)
	if d.keeps[k] == keeps {
		delete(d.seq, k)
	}
}

// restarted is a listener's OnSessionRestarted.
func (d *rtDelivery) restarted(l rtLogin) {
	d.mu.Lock()
	d.restartsHeard[l]++
	d.mu.Unlock()
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

func (d *rtDelivery) Register(user, session string, handle func(kernel.Event)) (func(), error) {
	return d.hub.Register(user, session, handle)
}

func (d *rtDelivery) push(req kernel.PushRequest) error {
	d.mu.Lock()
	d.pushes = append(d.pushes, PushRequest{To: req.To, InviteID: req.InviteID, Inviter: req.Inviter, Data: req.Data,
		Info: PushInfo{Title: req.Info.Title, Desc: req.Info.Desc, Ext: req.Info.Ext, Sound: req.Info.Sound}})
	d.mu.Unlock()
	return nil
}

// heard is a listener's callback.
func (d *rtDelivery) heard(l rtLogin, ev beckon.Event) {
	d.mu.Lock()
	d.heardEvs[l] = append(d.heardEvs[l], suiteEvent(ev))
	d.mu.Unlock()
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

// settle waits until the listeners of k heard every event handed to the
// hub for them and checks that each heard the same events, in the same
// order.
func (d *rtDelivery) settle(t TB, stack string, k sessKey) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		d.mu.Lock()
		var behind *rtLogin
		var want, got []Event
		for l, w := range d.viaHub {
			if l.sessKey != k {
				continue
			}
			want, got = w, d.heardEvs[l]
			if len(got) < len(want) || d.restartsHeard[l] < d.restartsWant[l] {
				behind = &l
				break
			}
			if d.restartsHeard[l] != d.restartsWant[l] {
				d.mu.Unlock()
				t.Fatalf("%s runtime harness: the Listener of %s/%s (login %d) heard OnSessionRestarted %d times, want %d",
					stack, k.user, k.session, l.n, d.restartsHeard[l], d.restartsWant[l])
			}
			delete(d.viaHub, l)
			delete(d.heardEvs, l)
			if len(got) != len(want) || !reflect.DeepEqual(normalized(got), normalized(want)) {
				d.mu.Unlock()
				t.Fatalf("%s runtime harness: the Listener of %s/%s (login %d) heard %s, want what Deliver got: %s",
					stack, k.user, k.session, l.n, eventsString(got), eventsString(want))
			}
		}
		d.mu.Unlock()
		if behind == nil {
			return
		}
		if timer == nil {
			timer = time.NewTimer(10 * time.Second)
		}
		select {
		case <-d.changed:
		case <-timer.C:
			t.Fatalf("%s runtime harness: the Listener of %s/%s (login %d) heard only %s after 10s, want %s",
				stack, k.user, k.session, behind.n, eventsString(got), eventsString(want))
		}
	}
}

func normalized(l []Event) []Event {
	out := make([]Event, len(l))
	for i, e := range l {
		out[i] = e.Normalize()
	}
	return out
}

func (d *rtDelivery) take(k sessKey) []Event {
	d.mu.Lock()
	defer d.mu.Unlock()
	evs := d.events[k]
	delete(d.events, k)
	return evs
}

func (d *rtDelivery) takePushes() []PushRequest { return drain(&d.mu, &d.pushes) }

// record adds events as delivered without the hub (those recovery drops).
func (d *rtDelivery) record(evs []rtEvent) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range evs {
		d.events[e.key] = append(d.events[e.key], e.ev)
	}
}

func (d *rtDelivery) hide(k *sessKey) {
	d.mu.Lock()
	d.hiding = k
	d.mu.Unlock()
}

func (d *rtDelivery) problem(msg string) {
	d.mu.Lock()
	d.problems = append(d.problems, msg)
	d.mu.Unlock()
}

func (d *rtDelivery) takeProblems() []string { return drain(&d.mu, &d.problems) }

// drain empties *l under mu and returns what it held.
func drain[T any](mu *sync.Mutex, l *[]T) []T {
	mu.Lock()
	defer mu.Unlock()
	out := *l
	*l = nil
	return out
}

// warnCollector is the runtime's log handler: whatever it logs at Warn or
// above is a problem that fails the check.
type warnCollector struct{ d *rtDelivery }

func (w warnCollector) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w warnCollector) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("the runtime logged: " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	w.d.problem(b.String())
	return nil
}
func (w warnCollector) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w warnCollector) WithGroup(string) slog.Handler      { return w }

// runPropertiesWith is RunProperties with another default number of runs
// (RAPID_CHECKS and -rapid.checks still win).
func runPropertiesWith(t *testing.T, checks string, newHarness func(TB) Harness) {
	t.Helper()
	defaultRapidFlag(t, "rapid.checks", "RAPID_CHECKS", checks)
	defaultRapidFlag(t, "rapid.steps", "RAPID_STEPS", DefaultSteps)
	rapid.Check(t, StateMachine(newHarness))
}

func TestRuntimeSuite(t *testing.T) {
	Run(t, runtimeHarnessWith(memoryStack, suiteLimits, true))
}

func TestRuntimeSuiteDefaultLimits(t *testing.T) {
	Run(t, runtimeHarnessWith(memoryStack, defaultLimits, true))
}

// The property test of the runtime runs 100 times by default instead of
// RunProperties's 500: every step is a few goroutine hand-offs (loop,
// committer, hub), so it costs several times what the kernel's does, and
// far more with -race or on a loaded machine. RAPID_CHECKS or
// -rapid.checks set the depth.
func TestRuntimeProperties(t *testing.T) {
	runPropertiesWith(t, runtimeChecks, runtimeHarnessWith(memoryStack, propLimits, false))
}

const runtimeChecks = "100"

func FuzzRuntimeStateMachine(f *testing.F) {
	f.Fuzz(rapid.MakeFuzz(StateMachine(runtimeHarnessWith(memoryStack, propLimits, false))))
}

// ListOpen is Runtime.OpenInvitations, through the user's client if one
// is logged in (QRY-1).
func (h *runtimeHarness) ListOpen(user string) []OpenInvitation {
	var l []beckon.OpenInvitation
	var err error
	if cl := h.clientFor(Caller{User: user}); cl != nil {
		l, err = cl.OpenInvitations(rtCtx)
	} else {
		l, err = h.rt.OpenInvitations(rtCtx, user)
	}
	if err != nil {
		h.t.Fatalf("%s runtime harness: OpenInvitations(%s): %v", h.stack.name, user, err)
	}
	var out []OpenInvitation
	for _, o := range l {
		x := OpenInvitation{InviteID: o.InviteID, Inviter: o.Inviter, Group: o.Group, Invitees: o.Invitees,
			Data: o.Data, Incoming: o.Incoming}
		for _, st := range o.States {
			x.States = append(x.States, st.String())
		}
		if !o.Deadline.IsZero() {
			x.Timeout = int(o.Deadline.Sub(o.Created) / time.Second)
		}
		out = append(out, x)
	}
	return out
}

// Records is Runtime.Records read in pages of 2 chained by their cursor
// (REC-2), through the user's client if one is logged in.
func (h *runtimeHarness) Records(user string) []CallRecord {
	var out []CallRecord
	for after := (beckon.RecordCursor{}); ; {
		var page []beckon.CallRecord
		var err error
		if cl := h.clientFor(Caller{User: user}); cl != nil {
			page, err = cl.Records(after, 2)
		} else {
			page, err = h.rt.Records(user, after, 2)
		}
		if err != nil {
			h.t.Fatalf("%s runtime harness: Records(%s): %v", h.stack.name, user, err)
		}
		if len(page) == 0 {
			return out
		}
		for _, r := range page {
			if r.User != user {
				h.t.Fatalf("%s runtime harness: Records(%s) gave a record of %q", h.stack.name, user, r.User)
			}
			c := r.Call
			x := CallRecord{InviteID: c.InviteID, Inviter: c.Inviter, Group: c.Group, Invitees: c.Invitees, Outcome: r.Outcome.String()}
			for _, st := range c.States {
				x.States = append(x.States, st.String())
			}
			out = append(out, x)
		}
		after = page[len(page)-1].Cursor()
	}
}
