// Package kernelharness runs the conformance suite against beckon's kernel:
// New adapts kernel.Kernel to conformance.Harness, driven as a durable
// runtime drives it (kernel/doc.go "Driving the kernel"), and checks at
// every call what only a kernel can show, because it can be copied through
// its snapshot:
//
//   - DET-1: Snapshot, Restore, Snapshot gives the same bytes, and a kernel
//     restored from the snapshot before the call answers it exactly alike;
//   - a failed or retried call emits and changes exactly what a Tick at the
//     same time would (the timeouts due), and so does an input no Op accepts
//     (an unknown Op, or a Tick with fields set), which must fail with 6017;
//   - DLV-3: Step.Log is set whenever the call changed the state or
//     emitted something, so that a driver logs what it must;
//   - TMO-1: NextDeadline is after the current time and not after a
//     restored twin's, and at the twin's a tick just before it fires
//     nothing and a tick at it fires;
//   - TMO-4, DET-1: Restart rebuilds from the latest snapshot plus the log
//     after it the very state of the kernel that crashed.
//
// The suite's reference model checks everything else (results, every
// output and their global order). Each check failure reads
// "RULE kernel: what: got X, want Y".
package kernelharness

import (
	"bytes"
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/beckonhq/beckon/conformance"
	"github.com/beckonhq/beckon/kernel"
)

// snapshotEvery is how many log records a snapshot is taken after: small,
// so that Restart restores snapshots and replays records all the time.
const snapshotEvery = 3

// start is the virtual time every harness starts at.
var start = time.Unix(1_700_000_000, 0).UTC()

// Config is the kernel configuration with the limits lim.
func Config(lim conformance.Limits) kernel.Config {
	return kernel.Config{MaxIDBytes: lim.MaxIDBytes, MaxInvitees: lim.MaxInvitees, MaxDataBytes: lim.MaxDataBytes, MaxPushBytes: lim.MaxPushBytes,
		MaxOpenPerInviter: lim.MaxOpenPerInviter, MaxTimeoutSeconds: lim.MaxTimeoutSeconds,
		RequestIDWindow: lim.RequestIDWindow, MaxRequestIDs: lim.MaxRequestIDs}
}

// Limits are the limits a kernel with cfg enforces (its defaults where cfg
// has zeros).
func Limits(cfg kernel.Config) conformance.Limits {
	or := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	w := cfg.RequestIDWindow
	if w <= 0 {
		w = kernel.DefaultRequestIDWindow
	}
	return conformance.Limits{
		MaxIDBytes:        or(cfg.MaxIDBytes, kernel.DefaultMaxIDBytes),
		MaxInvitees:       or(cfg.MaxInvitees, kernel.DefaultMaxInvitees),
		MaxDataBytes:      or(cfg.MaxDataBytes, kernel.DefaultMaxDataBytes),
		MaxPushBytes:      or(cfg.MaxPushBytes, kernel.DefaultMaxPushBytes),
		MaxOpenPerInviter: or(cfg.MaxOpenPerInviter, kernel.DefaultMaxOpenPerInviter),
		MaxTimeoutSeconds: or(cfg.MaxTimeoutSeconds, kernel.DefaultMaxTimeoutSeconds),
		RequestIDWindow:   w,
		MaxRequestIDs:     or(cfg.MaxRequestIDs, kernel.DefaultMaxRequestIDs),
	}
}

// New returns a constructor of fresh kernel harnesses with cfg. They have
// the Restarter, SessionResumer, InvitationCounter, OutputLog and
// HistoryReader capabilities.
func New(cfg kernel.Config) func(conformance.TB) conformance.Harness {
	return func(t conformance.TB) conformance.Harness {
		return &harness{t: t, cfg: cfg, k: kernel.New(cfg), now: start,
			events: map[session][]conformance.Event{}, hist: map[conformance.Conversation][][]byte{},
			away: map[session]bool{}, held: map[session][]conformance.Event{}, asked: map[session]int{}}
	}
}

type session struct{ user, id string }

type harness struct {
	t      conformance.TB
	cfg    kernel.Config
	k      *kernel.Kernel
	now    time.Time
	snap   []byte   // the latest snapshot, nil: none yet
	log    [][]byte // the records after it
	index  uint64
	events map[session][]conformance.Event
	// Sessions whose connection is lost (REM-4): those away after the
	// last call, the events held for them, and the expiry each device
	// asked for last (ConnectFor), in seconds.
	away   map[session]bool
	held   map[session][]conformance.Event
	asked  map[session]int
	hist   map[conformance.Conversation][][]byte
	pushes []conformance.PushRequest
	outs   []conformance.Output
	calls  []kernel.ClosedCall // every call closed so far, as a store keeps them (REC-1)
}

// step is one call of a kernel as the harness sees it.
type step struct {
	res    kernel.Result
	outs   []conformance.Output
	record *kernel.Input // what a durable driver logs of the call; nil: nothing
	closed []kernel.ClosedCall
	ended  []ending // the sessions the call ended (Step.Ended)
}

// ending is a session a call ended, after the first `after` of its events.
type ending struct {
	session
	after int
}

// apply is the one place the harness calls the kernel: it applies in at
// time at and copies out the result, the outputs (the kernel reuses its
// buffers) and what a driver must log.
func apply(k *kernel.Kernel, at time.Time, in kernel.Input) (step, error) {
	st := k.Apply(at, in)
	s := step{res: st.Result}
	if st.Log {
		logged := st.Record.Input
		s.record = &logged
	}
	for _, c := range st.Closed {
		c.Invitees, c.States = slices.Clone(c.Invitees), slices.Clone(c.States)
		s.closed = append(s.closed, c)
	}
	for _, e := range st.Ended {
		s.ended = append(s.ended, ending{session{e.User, e.Session}, e.After})
	}
	for _, o := range st.Events {
		e := o.Event
		s.outs = append(s.outs, conformance.Output{Kind: conformance.OutEvent, User: o.User, Session: o.Session,
			Event: conformance.Event{Type: conformance.EventType(e.Type), InviteID: e.InviteID, Inviter: e.Inviter,
				Invitee: e.Invitee, GroupID: e.GroupID, Invitees: slices.Clone(e.Invitees), Data: e.Data}})
	}
	for _, h := range st.History {
		b, err := kernel.MarshalSignalingInfo(h.Info)
		if err != nil {
			return s, fmt.Errorf("MarshalSignalingInfo(%+v): %v", h.Info, err)
		}
		c := h.Conv
		s.outs = append(s.outs, conformance.Output{Kind: conformance.OutHistory,
			Conv: conformance.Conversation{Group: c.Group, A: c.A, B: c.B}, Payload: b})
	}
	for _, p := range st.Pushes {
		i := p.Info
		s.outs = append(s.outs, conformance.Output{Kind: conformance.OutPush, Push: conformance.PushRequest{
			To: p.To, InviteID: p.InviteID, Inviter: p.Inviter, Data: p.Data,
			Info: conformance.PushInfo{Title: i.Title, Desc: i.Desc, Ext: i.Ext, Sound: i.Sound}}})
	}
	return s, nil
}

// changed reports whether the call must be logged: it changed the state.
func (s step) changed() bool { return s.record != nil }

// replay rebuilds a kernel as recovery does: snap (nil: none), then each
// record at its time.
func replay(cfg kernel.Config, snap []byte, records []kernel.Record) (*kernel.Kernel, error) {
	k := kernel.New(cfg)
	if snap != nil {
		var err error
		if k, err = kernel.Restore(cfg, snap); err != nil {
			return nil, fmt.Errorf("restore: %v", err)
		}
	}
	for _, r := range records {
		if _, err := apply(k, r.At, r.Input); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Recover rebuilds a kernel from a durable store's snapshot and records,
// as recovery does, and returns what a tick at time at then emits: the
// outputs of the deadlines that passed while it was down (TMO-4).
func Recover(cfg kernel.Config, snap []byte, records []kernel.Record, at time.Time) ([]conformance.Output, error) {
	k, err := replay(cfg, snap, records)
	if err != nil {
		return nil, err
	}
	s, err := apply(k, at, kernel.Input{Op: kernel.OpTick})
	return s.outs, err
}

func (h *harness) fatalf(rule, what string, got, want any) {
	h.t.Helper()
	h.t.Fatalf("%s kernel: %s: got %v, want %v", rule, what, got, want)
}

// twin applies in to a kernel restored from snap and returns what it
// answered and its snapshot after.
func (h *harness) twin(snap []byte, in kernel.Input) (step, []byte) {
	h.t.Helper()
	k, err := kernel.Restore(h.cfg, snap)
	if err != nil {
		h.fatalf("DET-1", "Restore(Snapshot())", err, "no error")
	}
	s, err := apply(k, h.now, in)
	if err != nil {
		h.t.Fatalf("kernel harness: %v", err)
	}
	return s, k.Snapshot()
}

// unaccepted is in made into an input no Op accepts: a Tick with in's
// fields, or in with an unknown Op when it has none.
func unaccepted(in kernel.Input) kernel.Input {
	if in.User == "" && in.Group == "" && in.Data == "" {
		return kernel.Input{Op: kernel.OpTick + 1, User: "u"}
	}
	in.Op = kernel.OpTick
	return in
}

func sameStep(a, b step) bool {
	errText := func(err error) string {
		if err == nil {
			return ""
		}
		return fmt.Sprintf("%d %v", kernel.Code(err), err)
	}
	return errText(a.res.Err) == errText(b.res.Err) && a.res.InviteID == b.res.InviteID && a.res.Duplicate == b.res.Duplicate &&
		a.res.Resumed == b.res.Resumed && reflect.DeepEqual(a.outs, b.outs) && reflect.DeepEqual(a.record, b.record) &&
		reflect.DeepEqual(a.ended, b.ended)
}

func (s step) String() string {
	return fmt.Sprintf("{%+v outputs=%v record=%+v}", s.res, s.outs, s.record)
}

// call applies in at the current time with every check of the package
// doc, logs it if it changed the state, then hands out its outputs.
func (h *harness) call(in kernel.Input) kernel.Result {
	h.t.Helper()
	before := h.k.Snapshot()
	tick, tickSnap := h.twin(before, kernel.Input{Op: kernel.OpTick})
	same, sameSnap := h.twin(before, in)
	bad, badSnap := h.twin(before, unaccepted(in))
	s, err := apply(h.k, h.now, in)
	if err != nil {
		h.t.Fatalf("kernel harness: %v", err)
	}
	after := h.k.Snapshot()

	if k, err := kernel.Restore(h.cfg, before); err != nil || !bytes.Equal(k.Snapshot(), before) {
		h.fatalf("DET-1", "Snapshot after Restore(Snapshot())", "other bytes", "the snapshot restored")
	}
	if !sameStep(same, s) || !bytes.Equal(sameSnap, after) {
		h.fatalf("DET-1", fmt.Sprintf("%s on a kernel restored from the snapshot before it", in.Op), same, s)
	}
	if kernel.Code(bad.res.Err) != conformance.CodeInvalidParameters {
		h.fatalf("LIM-1", fmt.Sprintf("input %+v, accepted by no Op", unaccepted(in)), bad.res.Err, "6017")
	}
	if !reflect.DeepEqual(bad.outs, tick.outs) || !bytes.Equal(badSnap, tickSnap) || bad.changed() != tick.changed() {
		h.fatalf("LIM-1", "an input accepted by no Op", bad, fmt.Sprintf("what a Tick does: %v", tick))
	}
	if s.res.Err != nil || s.res.Duplicate {
		if !reflect.DeepEqual(s.outs, tick.outs) || !bytes.Equal(after, tickSnap) || s.changed() != tick.changed() {
			h.fatalf("IDM-1", fmt.Sprintf("failed or retried %s (%v)", in.Op, s.res.Err), s, fmt.Sprintf("what a Tick does: %v", tick))
		}
	} else if !s.changed() && (tick.changed() || !bytes.Equal(after, tickSnap) || len(s.outs) > len(tick.outs)) {
		h.fatalf("DLV-3", fmt.Sprintf("Step.Log of %s that changed the state or emitted", in.Op), false, true)
	}
	h.checkDeadline(after)

	if len(s.closed) > 0 && s.record == nil {
		h.fatalf("REC-1", fmt.Sprintf("Step.Record of %s that closed invitations", in.Op), nil, "a record to persist them with")
	}
	for _, c := range s.closed {
		c.Index = h.index + 1
		h.calls = append(h.calls, c)
	}
	if s.record != nil {
		h.index++
		h.log = append(h.log, kernel.AppendRecord(nil, kernel.Record{Index: h.index, At: h.k.Now(), Input: *s.record}))
		if len(h.log) >= snapshotEvery {
			h.snap, h.log = after, nil
		}
	}
	h.deliver(s, in)
	return s.res
}

// checkDeadline checks NextDeadline against ticks of restored twins.
func (h *harness) checkDeadline(snap []byte) {
	h.t.Helper()
	d, ok := h.k.NextDeadline()
	if ok && !d.After(h.now) {
		h.fatalf("TMO-1", "NextDeadline() after the call", d, fmt.Sprintf("after now (%v)", h.now))
	}
	k, err := kernel.Restore(h.cfg, snap)
	if err != nil {
		h.fatalf("DET-1", "Restore(Snapshot())", err, "no error")
	}
	// The kernel may wake earlier than its restored twin, which has no
	// end of an away session that resumed since (a wake-up that finds
	// nothing to do), never later.
	td, tok := k.NextDeadline()
	if !tok {
		return
	}
	if !ok || d.After(td) {
		h.fatalf("TMO-1", "NextDeadline() after the call", fmt.Sprintf("%v (%v)", d, ok), fmt.Sprintf("at most %v, the restored kernel's", td))
	}
	early, err1 := apply(k, td.Add(-1), kernel.Input{Op: kernel.OpTick})
	due, err2 := apply(k, td, kernel.Input{Op: kernel.OpTick})
	if err1 != nil || err2 != nil || early.changed() || !due.changed() {
		h.fatalf("TMO-1", fmt.Sprintf("ticks 1ns before and at NextDeadline() %v of the restored kernel", td),
			fmt.Sprintf("Changed %v and %v", early.changed(), due.changed()), "false and true")
	}
}

// deliver hands out the outputs of step s of input in. An event for a
// session whose connection is lost is held for it, as a driver's
// port.Keeper does: delivered if the session resumes, dropped if it ends
// (REM-5). A session is away for an event if it was away before the step
// and the event came before the step ended it (after, it is the new
// session's that replaced it).
func (h *harness) deliver(s step, in kernel.Input) {
	live := map[session]kernel.SessionInfo{}
	for info := range h.k.Sessions() {
		live[session{info.User, info.Session}] = info
	}
	endedAt := map[session]int{} // the events before the session's (last) end in the step
	for _, e := range s.ended {
		endedAt[e.session] = e.after
	}
	i := 0 // the event's place among the step's events
	for _, o := range s.outs {
		switch o.Kind {
		case conformance.OutEvent:
			k := session{o.User, o.Session}
			end, ended := endedAt[k]
			if h.away[k] && !(ended && i >= end) {
				h.held[k] = append(h.held[k], o.Event)
			} else {
				h.events[k] = append(h.events[k], o.Event)
			}
			i++
		case conformance.OutHistory:
			h.hist[o.Conv] = append(h.hist[o.Conv], o.Payload)
		case conformance.OutPush:
			h.pushes = append(h.pushes, o.Push)
		}
	}
	h.outs = append(h.outs, s.outs...)
	for k := range endedAt {
		delete(h.held, k)
	}
	if k := (session{in.User, in.Session}); in.Op == kernel.OpResume && s.res.Resumed {
		h.events[k] = append(h.events[k], h.held[k]...)
		delete(h.held, k)
	}
	clear(h.away)
	for k, info := range live {
		if !info.Away.IsZero() {
			h.away[k] = true
		}
	}
}

func signaling(op kernel.Op, c conformance.Caller, id, data string) kernel.Input {
	return kernel.Input{Op: op, User: c.User, Session: c.Session, RequestID: c.RequestID, InviteID: id, Data: data}
}

func (h *harness) Limits() conformance.Limits { return Limits(h.cfg) }

func (h *harness) Invite(c conformance.Caller, a conformance.InviteArgs) (string, int) {
	in := signaling(kernel.OpInvite, c, a.InviteID, a.Data)
	in.Invitees, in.OnlineUserOnly, in.Timeout, in.Push = []string{a.Invitee}, a.OnlineUserOnly, a.Timeout, pushInfo(a.Push)
	res := h.call(in)
	return res.InviteID, kernel.Code(res.Err)
}

func (h *harness) InviteInGroup(c conformance.Caller, a conformance.GroupInviteArgs) (string, int) {
	in := signaling(kernel.OpInviteInGroup, c, a.InviteID, a.Data)
	in.Group, in.Invitees, in.OnlineUserOnly, in.Timeout = a.Group, slices.Clone(a.Invitees), a.OnlineUserOnly, a.Timeout
	in.Push = pushInfo(a.Push)
	res := h.call(in)
	return res.InviteID, kernel.Code(res.Err)
}

// pushInfo is the kernel's form of p (nil for nil).
func pushInfo(p *conformance.PushInfo) *kernel.PushInfo {
	if p == nil {
		return nil
	}
	return &kernel.PushInfo{Title: p.Title, Desc: p.Desc, Ext: p.Ext, Sound: p.Sound}
}

func (h *harness) code(in kernel.Input) int { return kernel.Code(h.call(in).Err) }

func (h *harness) Cancel(c conformance.Caller, id, data string) int {
	return h.code(signaling(kernel.OpCancel, c, id, data))
}
func (h *harness) Accept(c conformance.Caller, id, data string) int {
	return h.code(signaling(kernel.OpAccept, c, id, data))
}
func (h *harness) Reject(c conformance.Caller, id, data string) int {
	return h.code(signaling(kernel.OpReject, c, id, data))
}
func (h *harness) Modify(c conformance.Caller, id, data string) int {
	return h.code(signaling(kernel.OpModify, c, id, data))
}
func (h *harness) Connect(user, sess string) int { return h.code(kernel.Connect(user, sess)) }
func (h *harness) Disconnect(user, sess string) int {
	return h.code(kernel.Disconnect(user, sess))
}

// ConnectFor is Connect with the session's expiry (SessionResumer).
func (h *harness) ConnectFor(user, sess string, expiry time.Duration) int {
	connected := false
	for info := range h.k.Sessions() {
		connected = connected || info.SessionRef == kernel.SessionRef{User: user, Session: sess} && info.Away.IsZero()
	}
	if !connected { // a connected session keeps its expiry
		h.asked[session{user, sess}] = int(expiry / time.Second)
	}
	in := kernel.Connect(user, sess)
	in.Timeout = int(expiry / time.Second)
	return h.code(in)
}

// Drop is Suspend: the session's connection is lost.
func (h *harness) Drop(user, sess string) { h.code(kernel.Suspend(user, sess)) }

// Reconnect is Resume with the expiry the device asked for last.
func (h *harness) Reconnect(user, sess string) (bool, int) {
	res := h.call(kernel.Resume(user, sess, h.asked[session{user, sess}]))
	return res.Resumed, kernel.Code(res.Err)
}

func (h *harness) SetGroup(group string, members []string) int {
	return h.code(kernel.SetGroup(group, slices.Clone(members)))
}
func (h *harness) JoinGroup(group, user string) int  { return h.code(kernel.JoinGroup(group, user)) }
func (h *harness) LeaveGroup(group, user string) int { return h.code(kernel.LeaveGroup(group, user)) }

func (h *harness) Advance(d time.Duration) {
	h.now = h.now.Add(d)
	h.call(kernel.Input{Op: kernel.OpTick})
}

func (h *harness) TakeEvents(user, sess string) []conformance.Event {
	k := session{user, sess}
	evs := h.events[k]
	delete(h.events, k)
	return evs
}

func (h *harness) History(conv conformance.Conversation) [][]byte { return h.hist[conv] }

// ReadHistory asks Kernel.CanRead, as a driver does before it reads its
// store, and checks that the question changed nothing.
func (h *harness) ReadHistory(user string, conv conformance.Conversation) ([][]byte, int) {
	h.t.Helper()
	before := h.k.Snapshot()
	kc := kernel.C2C(conv.A, conv.B)
	if conv.Group != "" {
		kc = kernel.GroupConversation(conv.Group)
	}
	err := h.k.CanRead(user, kc)
	if !bytes.Equal(h.k.Snapshot(), before) {
		h.fatalf("HIS-4", "the state after CanRead", "another state", "the same: it only reads")
	}
	if err != nil {
		return nil, kernel.Code(err)
	}
	return h.hist[conv], 0
}

func (h *harness) TakePushes() []conformance.PushRequest {
	p := h.pushes
	h.pushes = nil
	return p
}

func (h *harness) ParseSignalingInfo(msg []byte) (conformance.Envelope, bool) {
	i, err := kernel.GetSignalingInfo(msg)
	if err != nil {
		return conformance.Envelope{}, false
	}
	return conformance.Envelope{BusinessID: i.BusinessID, InviteID: i.InviteID, GroupID: i.GroupID, Inviter: i.Inviter,
		InviteeList: i.InviteeList, Data: i.Data, Timeout: i.Timeout, ActionType: int(i.ActionType),
		OnlineUserOnly: i.OnlineUserOnly}, true
}

// Restart crashes the kernel right after the last call and recovers it
// from the latest snapshot and the records after it, decoded as a store
// reads them (their outputs were handed out before the crash). The rebuilt
// state must be the crashed kernel's; then the downtime passes.
func (h *harness) Restart(downtime time.Duration) {
	h.t.Helper()
	var records []kernel.Record
	for _, b := range h.log {
		r, err := kernel.DecodeRecord(b)
		if err != nil {
			h.fatalf("DET-1", "DecodeRecord(AppendRecord(record))", err, "no error")
		}
		records = append(records, r)
	}
	k, err := replay(h.cfg, h.snap, records)
	if err != nil {
		h.t.Fatalf("kernel harness: recovery: %v", err)
	}
	if s, err := apply(k, h.now, kernel.Input{Op: kernel.OpTick}); err != nil || s.changed() {
		h.fatalf("TMO-4", "a tick at the crash time after recovery", s, "nothing: every fired timeout was logged")
	}
	if !bytes.Equal(k.Snapshot(), h.k.Snapshot()) {
		h.fatalf("DET-1", "the state rebuilt from snapshot and log", "another state", "the crashed kernel's")
	}
	h.k = k
	h.Advance(downtime)
}

// Durable returns the kernel's snapshot now and the records logged since
// the harness last kept a snapshot: real encodings, for seed corpora.
func (h *harness) Durable() (snapshot []byte, records [][]byte) { return h.k.Snapshot(), h.log }

func (h *harness) OpenInvitations() int { return h.k.Open() }

// ListOpen is Kernel.OpenInvitations (QRY-1); it checks that the question
// changed nothing.
func (h *harness) ListOpen(user string) []conformance.OpenInvitation {
	h.t.Helper()
	before := h.k.Snapshot()
	var out []conformance.OpenInvitation
	for _, o := range h.k.OpenInvitations(user) {
		x := conformance.OpenInvitation{InviteID: o.InviteID, Inviter: o.Inviter, Group: o.Group,
			Invitees: slices.Clone(o.Invitees), States: stateNames(o.States), Data: o.Data, Incoming: o.Incoming}
		if !o.Deadline.IsZero() {
			x.Timeout = int(o.Deadline.Sub(o.Created) / time.Second)
		}
		out = append(out, x)
	}
	if !bytes.Equal(h.k.Snapshot(), before) {
		h.fatalf("QRY-1", "the state after OpenInvitations", "another state", "the same: it only reads")
	}
	return out
}

// Records lists user's records of the calls the kernel closed
// (Step.Closed), newest first, as a store keeps them.
func (h *harness) Records(user string) []conformance.CallRecord {
	calls := slices.Clone(h.calls)
	slices.SortStableFunc(calls, func(a, b kernel.ClosedCall) int {
		switch {
		case a.Closed != b.Closed:
			return -cmp.Compare(a.Closed, b.Closed)
		case a.InviteID != b.InviteID:
			return cmp.Compare(a.InviteID, b.InviteID)
		}
		return -cmp.Compare(a.Index, b.Index)
	})
	var out []conformance.CallRecord
	for _, c := range calls {
		if o, ok := c.Outcome(user); ok {
			out = append(out, CallRecord(c, o))
		}
	}
	return out
}

// CallRecord is the suite's form of a record of c with outcome o.
func CallRecord(c kernel.ClosedCall, o kernel.Outcome) conformance.CallRecord {
	return conformance.CallRecord{InviteID: c.InviteID, Inviter: c.Inviter, Group: c.Group,
		Invitees: slices.Clone(c.Invitees), States: stateNames(c.States), Outcome: o.String()}
}

func stateNames(states []kernel.State) []string {
	out := make([]string, len(states))
	for i, st := range states {
		out[i] = st.String()
	}
	return out
}

func (h *harness) TakeOutputs() []conformance.Output {
	o := h.outs
	h.outs = nil
	return o
}
