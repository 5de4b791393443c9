package kernel_test

// Shared helpers of the kernel's black-box tests (package kernel_test): a
// fixture that drives a kernel at a controlled time, deep copies of
// outputs, builders of expected outputs and assertions on errors.

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
)

// t0 is the time every test starts at.
var t0 = time.Unix(1_700_000_000, 0)

// at returns t0 + d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// secs is n seconds.
func secs(n int) time.Duration { return time.Duration(n) * time.Second }

// allClasses is every error class the kernel exports.
var allClasses = []*kernel.Error{kernel.ErrInvalidParameters, kernel.ErrBodySizeLimit, kernel.ErrInvalidInviteID,
	kernel.ErrNoPermission, kernel.ErrAlreadyExists, kernel.ErrGroupNotFound, kernel.ErrNotGroupMember,
	kernel.ErrNotSignalingMessage}

// fx drives one kernel at a time the test controls.
type fx struct {
	t   testing.TB
	k   *kernel.Kernel
	now time.Time
}

func newFx(t testing.TB, cfg kernel.Config) *fx {
	return &fx{t: t, k: kernel.New(cfg), now: t0}
}

// setNow moves the fixture's clock to t0+d.
func (f *fx) setNow(d time.Duration) *fx {
	f.now = at(d)
	return f
}

// result is a Step's Result, and whether the Step asked to log a Record
// (a copy of which it holds).
type result struct {
	kernel.Result
	Changed bool
	Record  *kernel.Record
}

// outKind tells which field of an output is set.
type outKind uint8

const (
	outEvent   outKind = iota + 1 // output.User, output.Session, output.Event
	outHistory                    // output.History
	outPush                       // output.Push
)

// output is one obligation of a Step, flattened in the Step's order: its
// events, then its history, then its pushes.
type output struct {
	Kind    outKind
	User    string
	Session string
	Event   kernel.Event
	History *kernel.History
	Push    *kernel.PushRequest
}

// flatten is a deep copy of st as a result and outputs.
func flatten(st kernel.Step) (result, []output) {
	res := result{Result: st.Result, Changed: st.Log}
	if st.Log {
		rec := st.Record
		res.Record = &rec
	}
	var outs []output
	for _, e := range st.Events {
		outs = append(outs, output{Kind: outEvent, User: e.User, Session: e.Session, Event: e.Event})
	}
	for i := range st.History {
		outs = append(outs, output{Kind: outHistory, History: &st.History[i]})
	}
	for i := range st.Pushes {
		outs = append(outs, output{Kind: outPush, Push: &st.Pushes[i]})
	}
	return res, cloneOutputs(outs)
}

// apply is k.Apply, flattened.
func apply(k *kernel.Kernel, now time.Time, in kernel.Input) (result, []output) {
	return flatten(*k.Apply(now, in))
}

// tick is k.Tick, flattened.
func tick(k *kernel.Kernel, now time.Time) (result, []output) { return flatten(*k.Tick(now)) }

// do applies in at f.now.
func (f *fx) do(in kernel.Input) (result, []output) { return apply(f.k, f.now, in) }

// ok applies in and requires success that changed state; it returns the
// outputs.
func (f *fx) ok(in kernel.Input) []output {
	f.t.Helper()
	_, outs := f.okID(in)
	return outs
}

// okID is ok that also returns Result.InviteID.
func (f *fx) okID(in kernel.Input) (string, []output) {
	f.t.Helper()
	res, outs := f.do(in)
	if res.Err != nil {
		f.t.Fatalf("%s %+v: unexpected error %v", in.Op, in, res.Err)
	}
	if !res.Changed || res.Duplicate {
		f.t.Fatalf("%s: Changed=%v Duplicate=%v, want a changing first-time success", in.Op, res.Changed, res.Duplicate)
	}
	return res.InviteID, outs
}

// fail applies in and requires it to fail with class, naming field, with
// no output, no state change (same snapshot bytes) and nothing to log.
func (f *fx) fail(in kernel.Input, class *kernel.Error, field string) result {
	f.t.Helper()
	if res, outs := f.tick(); len(outs) != 0 || res.Err != nil {
		f.t.Fatalf("fail(%s): bringing the kernel to the test's time fired:\n%s", in.Op, formatOutputs(outs))
	}
	before := f.k.Snapshot()
	res, outs := f.do(in)
	checkErr(f.t, res.Err, class, field)
	if res.Changed || res.Duplicate {
		f.t.Errorf("%s failure: Changed=%v Duplicate=%v, want both false", in.Op, res.Changed, res.Duplicate)
	}
	if len(outs) != 0 {
		f.t.Errorf("%s failure emitted %d outputs:\n%s", in.Op, len(outs), formatOutputs(outs))
	}
	if after := f.k.Snapshot(); !bytes.Equal(before, after) {
		f.t.Errorf("%s failure changed the state (snapshot %d -> %d bytes)", in.Op, len(before), len(after))
	}
	return res
}

// tick runs Tick at f.now.
func (f *fx) tick() (result, []output) { return tick(f.k, f.now) }

// connect connects each session of user, requiring success.
func (f *fx) connect(user string, sessions ...string) {
	f.t.Helper()
	for _, sess := range sessions {
		if res, _ := f.do(kernel.Connect(user, sess)); res.Err != nil || !res.Changed {
			f.t.Fatalf("connect %s/%s: %+v", user, sess, res)
		}
	}
}

// group sets the members of group, requiring success.
func (f *fx) group(group string, members ...string) {
	f.t.Helper()
	f.ok(kernel.SetGroup(group, members))
}

// checkErr requires err to be of class (and no other), with its code, an
// *OpError naming field exactly, and a message that names the field.
func checkErr(t testing.TB, err error, class *kernel.Error, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v naming %s", class, field)
	}
	for _, c := range allClasses {
		if errors.Is(err, c) != (c == class) {
			t.Errorf("errors.Is(%v, %v) = %v", err, c, errors.Is(err, c))
		}
	}
	if got := kernel.Code(err); got != class.Code() {
		t.Errorf("Code(%v) = %d, want %d", err, got, class.Code())
	}
	var oe *kernel.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("%v (%T) is not an *OpError", err, err)
	}
	if oe.Field != field {
		t.Errorf("error %q names field %q, want %q", err, oe.Field, field)
	}
	if !strings.Contains(err.Error(), field) {
		t.Errorf("error message %q does not name the field %q", err, field)
	}
	if oe.Msg == "" {
		t.Errorf("error %q says nothing about what was wrong", err)
	}
}

// cloneOutputs deep-copies outputs (the kernel reuses its slice and may
// share Invitees); empty lists become nil so expectations can use nil.
func cloneOutputs(outs []output) []output {
	if len(outs) == 0 {
		return nil
	}
	c := make([]output, len(outs))
	for i, o := range outs {
		o.Event.Invitees = cloneList(o.Event.Invitees)
		if o.History != nil {
			h := *o.History
			h.Info.InviteeList = cloneList(h.Info.InviteeList)
			o.History = &h
		}
		if o.Push != nil {
			p := *o.Push
			o.Push = &p
		}
		c[i] = o
	}
	return c
}

func cloneList(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return slices.Clone(l)
}

// wantOutputs requires got to be exactly want, in the Step's order: want
// may list each operation's and timeout's outputs together (say, the
// events of a timeout, its history, then those of the next one); the
// comparison takes its events, then its history, then its pushes, each in
// the order listed.
func wantOutputs(t testing.TB, got, want []output) {
	t.Helper()
	want = cloneOutputs(want)
	slices.SortStableFunc(want, func(a, b output) int { return int(a.Kind) - int(b.Kind) })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("outputs differ\n got:\n%s\nwant:\n%s", formatOutputs(got), formatOutputs(want))
	}
}

func formatOutputs(outs []output) string {
	if len(outs) == 0 {
		return "    (none)"
	}
	var b strings.Builder
	for i, o := range outs {
		fmt.Fprintf(&b, "    %2d ", i)
		switch o.Kind {
		case outEvent:
			e := o.Event
			fmt.Fprintf(&b, "event %s/%s %s id=%q inviter=%q invitee=%q group=%q invitees=%q data=%q",
				o.User, o.Session, e.Type, e.InviteID, e.Inviter, e.Invitee, e.GroupID, e.Invitees, e.Data)
		case outHistory:
			h := *o.History
			fmt.Fprintf(&b, "history %s sender=%q at=%s info=%+v", h.Conv, h.Sender, time.Unix(0, h.At).Sub(t0), h.Info)
		case outPush:
			fmt.Fprintf(&b, "push %+v", *o.Push)
		default:
			fmt.Fprintf(&b, "kind %d %+v", o.Kind, o)
		}
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// deliver is ev handed to each "user/session" recipient, in order.
func deliver(ev kernel.Event, recipients ...string) []output {
	outs := make([]output, 0, len(recipients))
	for _, r := range recipients {
		user, session, ok := strings.Cut(r, "/")
		if !ok {
			panic("recipient " + r + " is not user/session")
		}
		outs = append(outs, output{Kind: outEvent, User: user, Session: session, Event: ev})
	}
	return outs
}

// seq concatenates output lists.
func seq(parts ...any) []output {
	var outs []output
	for _, p := range parts {
		switch p := p.(type) {
		case output:
			outs = append(outs, p)
		case []output:
			outs = append(outs, p...)
		default:
			panic(fmt.Sprintf("seq: %T", p))
		}
	}
	return outs
}

func evNew(id, inviter, group string, invitees []string, data string) kernel.Event {
	return kernel.Event{Type: kernel.EventNewInvitation, InviteID: id, Inviter: inviter, GroupID: group, Invitees: invitees, Data: data}
}

func evCancelled(id, inviter, data string) kernel.Event {
	return kernel.Event{Type: kernel.EventCancelled, InviteID: id, Inviter: inviter, Data: data}
}

func evAccepted(id, invitee, data string) kernel.Event {
	return kernel.Event{Type: kernel.EventAccepted, InviteID: id, Invitee: invitee, Data: data}
}

func evRejected(id, invitee, data string) kernel.Event {
	return kernel.Event{Type: kernel.EventRejected, InviteID: id, Invitee: invitee, Data: data}
}

func evTimeout(id string, invitees ...string) kernel.Event {
	return kernel.Event{Type: kernel.EventTimeout, InviteID: id, Invitees: invitees}
}

func evModified(id, data string) kernel.Event {
	return kernel.Event{Type: kernel.EventModified, InviteID: id, Data: data}
}

// inv describes an invitation for building history envelopes.
type inv struct {
	id, inviter, group string
	invitees           []string
	timeout            int
}

func (v inv) conv() kernel.Conversation {
	if v.group != "" {
		return kernel.GroupConversation(v.group)
	}
	return kernel.C2C(v.inviter, v.invitees[0])
}

// hist is the history message of action on v, sent by sender at time
// when, concerning invitees, with data.
func (v inv) hist(action kernel.Action, sender string, when time.Time, invitees []string, data string) output {
	return output{Kind: outHistory, History: &kernel.History{
		Conv: v.conv(), Sender: sender, At: when.UnixNano(),
		Info: kernel.SignalingInfo{BusinessID: 1, InviteID: v.id, GroupID: v.group, Inviter: v.inviter,
			InviteeList: invitees, Data: data, Timeout: v.timeout, ActionType: action},
	}}
}

func pushOut(to, id, inviter, data string, info kernel.PushInfo) output {
	return output{Kind: outPush, Push: &kernel.PushRequest{To: to, InviteID: id, Inviter: inviter, Data: data, Info: info}}
}

// errText is err as comparable text ("" for nil).
func errText(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf("%d %s", kernel.Code(err), err.Error())
}

// mustRestore restores snap or fails the test.
func mustRestore(t interface {
	Helper()
	Fatalf(string, ...any)
}, cfg kernel.Config, snap []byte) *kernel.Kernel {
	t.Helper()
	k, err := kernel.Restore(cfg, snap)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	return k
}

// list is a short way to write a []string.
func list(ids ...string) []string { return ids }

// world is a kernel with alice (sessions a1, a2), bob (b1), carol (c1),
// dave (d1) and eve (e1) online, and group g of alice, bob, carol and dave
// (eve is never a participant).
func world(t testing.TB) *fx {
	t.Helper()
	f := newFx(t, kernel.Config{})
	f.connect("alice", "a1", "a2")
	f.connect("bob", "b1")
	f.connect("carol", "c1")
	f.connect("dave", "d1")
	f.connect("eve", "e1")
	f.group("g", "alice", "bob", "carol", "dave")
	return f
}

// withID is in with a caller-chosen invite ID.
func withID(in kernel.Input, id string) kernel.Input {
	in.InviteID = id
	return in
}

// withReq is in with a request ID.
func withReq(in kernel.Input, req string) kernel.Input {
	in.RequestID = req
	return in
}
