package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/beckonhq/beckon/kernel"
)

// FuzzKernel drives the kernel with operations and clock moves decoded from
// the input (gen_test.go) and checks, after every step:
//
//   - the result and the exact outputs are the ones the fuzzer's own
//     bookkeeping predicts (model_test.go), and in particular:
//   - events go only to participants of their invitation, only to sessions
//     connected at the time (DLV-1);
//   - a closed invitation never emits again, and operations on it get 8010;
//   - each invitation times out at most once, never before creation +
//     timeout, and in the first call at or after that time (TMO-1);
//   - a failed or duplicate operation emits only the timeouts that were due
//     and leaves the state as a Tick at the same time would (compared
//     through Snapshot on a restored twin);
//   - Snapshot then Restore gives the same Snapshot bytes, and the restored
//     kernel answers the step exactly like the original (DET-1);
//   - Open, Online, Sessions, NextDeadline and Now agree with the bookkeeping;
//
// and at the end of the input:
//
//   - replaying every input at the same times on a fresh kernel gives the
//     same results and outputs (DET-1);
//   - replaying only the inputs that reported Changed, as a durable driver
//     logs them (through AppendRecord/DecodeRecord, with InviteID set to
//     Result.InviteID), gives the same results, outputs and final state.
func FuzzKernel(f *testing.F) {
	for _, s := range kernelSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runKernel(t, data)
	})
}

// call is one call made to the kernel and what it answered.
type call struct {
	at  time.Time // the time given
	in  kernel.Input
	res result
	out []output
	now int64 // the kernel's time after the call
}

func runKernel(t *testing.T, data []byte) {
	if len(data) == 0 {
		return
	}
	r := &reader{b: data}
	s := decodeSetup(r.next())
	src := s.source(0)
	k := kernel.New(s.config(src))
	m := newModel(s)
	g := &gen{r: r, lim: s.lim, m: m}
	clock := baseTime
	var calls []call
	for step := 0; step < maxSteps && len(r.b) > 0; step++ {
		kind := int(r.next() % kindCount)
		switch kind {
		case kAdvance:
			clock += int64(advances[r.next()%16])
			continue
		case kSwap:
			snap := k.Snapshot()
			k2, err := kernel.Restore(s.config(src), snap)
			if err != nil {
				t.Fatalf("step %d: Restore of a real snapshot: %v", step, err)
			}
			k = k2
			continue
		}
		in := g.input(kind)
		c := checkStep(t, step, s, k, src, m, time.Unix(0, clock), in)
		calls = append(calls, c)
	}
	if len(calls) == 0 {
		return
	}
	replayAll(t, s, calls)
	replayLog(t, s, k, calls)
}

// checkStep makes one call on k and checks it against the model and against
// restored twins of k.
func checkStep(t *testing.T, step int, s setup, k *kernel.Kernel, src *cycleSource, m *model, at time.Time, in kernel.Input) call {
	t.Helper()
	pos := 0
	if src != nil {
		pos = src.i
	}
	before := k.Snapshot()
	eff := max(at.UnixNano(), m.now)
	prevNow := m.now
	openBefore := map[string]*minv{}
	for id, v := range m.open {
		openBefore[id] = v
	}
	presenceBefore := map[string][]string{}
	for u, l := range m.presence {
		presenceBefore[u] = slices.Clone(l)
	}
	what := func() string {
		return fmt.Sprintf("step %d: %s at +%v", step, describe(in), time.Duration(eff-baseTime))
	}

	// Twin A: restored from the snapshot, only lets time pass.
	twinA, err := kernel.Restore(s.config(s.source(pos)), before)
	if err != nil {
		t.Fatalf("%s: Restore(Snapshot()): %v", what(), err)
	}
	if got := twinA.Snapshot(); !bytes.Equal(got, before) {
		t.Fatalf("%s: Snapshot after Restore differs from the snapshot restored (%d vs %d bytes)", what(), len(got), len(before))
	}
	_, tickOut := tickStep(twinA, at)
	tickOut = copyOutputs(tickOut)
	afterTick := twinA.Snapshot()

	// Twin B: restored from the snapshot, makes the same call.
	twinB, err := kernel.Restore(s.config(s.source(pos)), before)
	if err != nil {
		t.Fatalf("%s: Restore(Snapshot()): %v", what(), err)
	}
	resB, outB := applyStep(twinB, at, in)
	outB = copyOutputs(outB)

	res, out := applyStep(k, at, in)
	out = copyOutputs(out)
	c := call{at: at, in: cloneInput(in), res: res, out: out, now: k.Now().UnixNano()}

	exp, expOut := m.step(eff, in)

	// Named invariants first, for clearer failures.
	if c.now != eff {
		t.Fatalf("%s: kernel time %d after the call, want %d", what(), c.now, eff)
	}
	if res.Err != nil && res.Duplicate {
		t.Fatalf("%s: result is both an error and a duplicate: %+v", what(), res)
	}
	timedOut := map[string]bool{}
	for i, o := range out {
		switch o.Kind {
		case outEvent:
			id := o.Event.InviteID
			if !slices.Contains(presenceBefore[o.User], o.Session) && !(in.Op == kernel.OpConnect && o.User == in.User && o.Session == in.Session) {
				t.Fatalf("%s: output %d goes to %s/%s, not connected: %s", what(), i, o.User, o.Session, fmtOutput(o))
			}
			v := openBefore[id]
			if o.Event.Type == kernel.EventTimeout {
				if v == nil {
					t.Fatalf("%s: output %d: timeout of an invitation that was not open: %s", what(), i, fmtOutput(o))
				}
				timedOut[id] = true
			} else if v == nil || timedOut[id] || (v.deadline != 0 && v.deadline <= eff) {
				if res.Err == nil && res.InviteID == id && (in.Op == kernel.OpInvite || in.Op == kernel.OpInviteInGroup) {
					if !slices.Contains(in.Invitees, o.User) {
						t.Fatalf("%s: output %d goes to %s, not an invitee: %s", what(), i, o.User, fmtOutput(o))
					}
					continue
				}
				t.Fatalf("%s: output %d is about a closed or unknown invitation: %s", what(), i, fmtOutput(o))
			}
			if !v.participant(o.User) {
				t.Fatalf("%s: output %d goes to %s, not a participant of %s: %s", what(), i, o.User, id, fmtOutput(o))
			}
			if o.Event.Type == kernel.EventTimeout {
				if v.deadline == 0 || v.deadline > eff {
					t.Fatalf("%s: output %d: %s times out before its deadline (%d > %d)", what(), i, id, v.deadline, eff)
				}
				if v.deadline <= prevNow {
					t.Fatalf("%s: output %d: %s times out late: its deadline %d had passed at an earlier call (%d)", what(), i, id, v.deadline, prevNow)
				}
			}
		case outHistory:
			if o.History == nil {
				t.Fatalf("%s: output %d: history output without History", what(), i)
			}
			if o.History.Info.ActionType == kernel.ActionTimeout {
				timedOut[o.History.Info.InviteID] = true
			}
			checkEnvelope(t, what(), o.History.Info)
		case outPush:
			if o.Push == nil {
				t.Fatalf("%s: output %d: push output without Push", what(), i)
			}
		default:
			t.Fatalf("%s: output %d has kind %d", what(), i, o.Kind)
		}
	}
	for id, v := range openBefore {
		observable := !v.onlineOnly || len(presenceBefore[v.inviter]) > 0
		if v.deadline != 0 && v.deadline <= eff && observable && !timedOut[id] && !hasTimeout(out, id) {
			t.Fatalf("%s: %s was due at %d <= %d but did not time out", what(), id, v.deadline, eff)
		}
	}
	if res.Err != nil || res.Duplicate {
		if !outputsEqual(out, tickOut) {
			t.Fatalf("%s: failed or duplicate call (%v) emitted more than the timeouts due:\n%s", what(), res.Err, diffOutputs(out, tickOut))
		}
		if !bytes.Equal(k.Snapshot(), afterTick) {
			t.Fatalf("%s: failed or duplicate call (%v) changed the state beyond the timeouts due", what(), res.Err)
		}
	}

	// The restored twin answered exactly like the original.
	if !resultsEqual(res, resB) || !outputsEqual(out, outB) {
		t.Fatalf("%s: a kernel restored from the snapshot before the call answered differently:\noriginal: %s\nrestored: %s\n%s",
			what(), fmtResult(res), fmtResult(resB), diffOutputs(out, outB))
	}

	// The prediction.
	if got := kernel.Code(res.Err); got != exp.code {
		t.Fatalf("%s: error code %d (%v), want %d", what(), got, res.Err, exp.code)
	}
	if exp.code != 0 && !errors.Is(res.Err, codeClass(exp.code)) {
		t.Fatalf("%s: error %v does not wrap the class of %d", what(), res.Err, exp.code)
	}
	if res.Duplicate != exp.duplicate || res.Changed != exp.changed {
		t.Fatalf("%s: result %s, want changed=%v duplicate=%v", what(), fmtResult(res), exp.changed, exp.duplicate)
	}
	if (exp.code == 0 && exp.inviteID != "" || exp.duplicate) && res.InviteID != exp.inviteID {
		t.Fatalf("%s: result InviteID %q, want %q", what(), res.InviteID, exp.inviteID)
	}
	if !outputsEqual(out, expOut) {
		t.Fatalf("%s: outputs differ from the prediction (%s):\n%s", what(), fmtResult(res), diffOutputs(out, expOut))
	}
	if !exp.opChanged && !bytes.Equal(k.Snapshot(), afterTick) {
		t.Fatalf("%s: a call that changed nothing but time changed the state", what())
	}

	// Observers.
	if k.Open() != len(m.open) {
		t.Fatalf("%s: Open() = %d, want %d", what(), k.Open(), len(m.open))
	}
	for _, u := range users {
		if k.Online(u) != (len(m.presence[u]) > 0) {
			t.Fatalf("%s: Online(%s) = %v, want %v", what(), u, k.Online(u), !k.Online(u))
		}
	}
	var got, want []string
	for u, s := range k.Sessions() {
		got = append(got, u+"/"+s)
	}
	for _, u := range slices.Sorted(maps.Keys(m.presence)) {
		for _, s := range m.presence[u] {
			want = append(want, u+"/"+s)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: Sessions() = %q, want %q", what(), got, want)
	}
	d, ok := k.NextDeadline()
	if want := m.nextDeadline(); ok != (want != 0) || (ok && d.UnixNano() != want) {
		t.Fatalf("%s: NextDeadline() = %v %v, want %d", what(), d.UnixNano(), ok, want)
	}
	for _, v := range m.all {
		if v.timeouts > 1 {
			t.Fatalf("%s: %s timed out %d times", what(), v.id, v.timeouts)
		}
	}
	return c
}

func hasTimeout(out []output, id string) bool {
	for _, o := range out {
		if o.Kind == outEvent && o.Event.Type == kernel.EventTimeout && o.Event.InviteID == id {
			return true
		}
	}
	return false
}

// checkEnvelope checks that a history payload survives the SDK encoding.
func checkEnvelope(t *testing.T, what string, info kernel.SignalingInfo) {
	t.Helper()
	b, err := kernel.MarshalSignalingInfo(info)
	if err != nil {
		t.Fatalf("%s: MarshalSignalingInfo: %v", what, err)
	}
	back, err := kernel.GetSignalingInfo(b)
	if err != nil {
		t.Fatalf("%s: GetSignalingInfo of a history payload: %v\n%s", what, err, b)
	}
	want := info
	if want.InviteeList == nil {
		want.InviteeList = []string{}
	}
	if !validUTF8Info(info) {
		return // JSON replaces invalid UTF-8; the kernel's IDs are valid, data may not be
	}
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("%s: history payload does not survive encoding:\n%+v\n%+v", what, info, back)
	}
}

// replayAll replays every call on a fresh kernel: same results, same outputs.
func replayAll(t *testing.T, s setup, calls []call) {
	t.Helper()
	k := kernel.New(s.config(s.source(0)))
	for i, c := range calls {
		res, out := applyStep(k, c.at, c.in)
		if !resultsEqual(res, c.res) || !outputsEqual(out, c.out) {
			t.Fatalf("replay of call %d (%s) differs:\nfirst:  %s\nreplay: %s\n%s", i, describe(c.in),
				fmtResult(c.res), fmtResult(res), diffOutputs(out, c.out))
		}
	}
}

// replayLog replays what a durable driver logs (the calls whose Step has a
// Record, with InviteID set to Result.InviteID, at the kernel's time; a
// failed or duplicate call as a Tick; the Step's Record must say the same)
// through the record encoding, then compares the final state with k's.
func replayLog(t *testing.T, s setup, k *kernel.Kernel, calls []call) {
	t.Helper()
	r := kernel.New(s.config(s.source(0)))
	var index uint64
	for i, c := range calls {
		if !c.res.Changed {
			continue
		}
		in := cloneInput(c.in)
		switch {
		case c.res.Err != nil || c.res.Duplicate:
			// Changed only through the timeouts it let fire: logged as a
			// Tick. (Logged as itself, as kernel/doc.go step 3 says, an
			// invalid Op does not survive DecodeRecord, and an invite that
			// failed to draw an ID could succeed on replay with another
			// IDSource state: see the README's findings.)
			in = kernel.Input{Op: kernel.OpTick}
		case c.res.InviteID != "":
			in.InviteID = c.res.InviteID
		}
		index++
		rec := kernel.Record{Index: index, At: time.Unix(0, c.now), Input: in}
		if got := c.res.Record; got == nil || !recordsEqual(kernel.Record{Index: index, At: got.At, Input: got.Input}, rec) {
			t.Fatalf("call %d (%s): Step.Record %+v, want %+v", i, describe(c.in), got, rec)
		}
		b := kernel.AppendRecord(nil, rec)
		back, err := kernel.DecodeRecord(b)
		if err != nil {
			t.Fatalf("record of call %d (%s): DecodeRecord: %v", i, describe(in), err)
		}
		if !recordsEqual(back, rec) {
			t.Fatalf("record of call %d does not survive encoding:\n%+v\n%+v", i, rec, back)
		}
		res, out := applyStep(r, back.At, back.Input)
		want := c.res
		if in.Op == kernel.OpTick {
			want = result{Changed: true}
		}
		if !resultsEqual(res, want) || !outputsEqual(out, c.out) {
			t.Fatalf("log replay of call %d (%s) differs:\nwant:   %s\nreplay: %s\n%s", i, describe(in),
				fmtResult(want), fmtResult(res), diffOutputs(out, c.out))
		}
	}
	end := time.Unix(0, calls[len(calls)-1].now)
	if _, out := tickStep(k, end); len(out) != 0 {
		t.Fatalf("a Tick at the latest time emitted %d outputs", len(out))
	}
	if _, out := tickStep(r, end); len(out) != 0 {
		t.Fatalf("log replay: a Tick at the latest time emitted %d outputs", len(out))
	}
	if !bytes.Equal(k.Snapshot(), r.Snapshot()) {
		t.Fatalf("the state rebuilt from the log differs from the state of the run")
	}
}

func codeClass(code int) error {
	switch code {
	case 6017:
		return kernel.ErrInvalidParameters
	case 8001:
		return kernel.ErrBodySizeLimit
	case 8010:
		return kernel.ErrInvalidInviteID
	case 8011:
		return kernel.ErrNoPermission
	case 8012:
		return kernel.ErrAlreadyExists
	case 10010:
		return kernel.ErrGroupNotFound
	case 10007:
		return kernel.ErrNotGroupMember
	}
	return fmt.Errorf("no class for code %d", code)
}

// ---- copies and comparisons ----

func cloneInput(in kernel.Input) kernel.Input {
	in.Invitees = slices.Clone(in.Invitees)
	if in.Push != nil {
		p := *in.Push
		in.Push = &p
	}
	return in
}

// outKind tells which field of an output is set.
type outKind uint8

const (
	outEvent   outKind = iota + 1 // output.User, output.Session, output.Event
	outHistory                    // output.History
	outPush                       // output.Push
)

// output is one obligation of a kernel.Step, flattened in the Step's
// order: its events, then its history, then its pushes.
type output struct {
	Kind    outKind
	User    string
	Session string
	Event   kernel.Event
	History *kernel.History
	Push    *kernel.PushRequest
}

// result is a Step's Result, and whether the Step asked to log a Record
// (a copy of which it holds).
type result struct {
	kernel.Result
	Changed bool
	Record  *kernel.Record
}

// applyStep is k.Apply with its Step flattened into a deep copy.
func applyStep(k *kernel.Kernel, at time.Time, in kernel.Input) (result, []output) {
	st := k.Apply(at, in)
	res := result{Result: st.Result, Changed: st.Record != nil}
	if st.Record != nil {
		rec := *st.Record
		rec.Input = cloneInput(rec.Input)
		res.Record = &rec
	}
	out := make([]output, 0, len(st.Events)+len(st.History)+len(st.Pushes))
	for _, e := range st.Events {
		out = append(out, output{Kind: outEvent, User: e.User, Session: e.Session, Event: e.Event})
	}
	for i := range st.History {
		out = append(out, output{Kind: outHistory, History: &st.History[i]})
	}
	for i := range st.Pushes {
		out = append(out, output{Kind: outPush, Push: &st.Pushes[i]})
	}
	return res, copyOutputs(out)
}

// tickStep is k.Tick, flattened.
func tickStep(k *kernel.Kernel, at time.Time) (result, []output) {
	return applyStep(k, at, kernel.Input{Op: kernel.OpTick})
}

// stepOrder returns the outputs of one step (an operation and the timeouts
// it let fire) in the order of a kernel.Step: its events, then its
// history, then its pushes, each kind in the order produced.
func stepOrder(out []output) []output {
	slices.SortStableFunc(out, func(a, b output) int { return int(a.Kind) - int(b.Kind) })
	return out
}

// copyOutputs deep-copies the kernel's outputs (the kernel reuses them).
func copyOutputs(out []output) []output {
	c := make([]output, len(out))
	for i, o := range out {
		o.Event.Invitees = slices.Clone(o.Event.Invitees)
		if o.History != nil {
			h := *o.History
			h.Info.InviteeList = slices.Clone(h.Info.InviteeList)
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

func outputsEqual(a, b []output) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !outputEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func outputEqual(a, b output) bool {
	if a.Kind != b.Kind || a.User != b.User || a.Session != b.Session {
		return false
	}
	ea, eb := a.Event, b.Event
	if !slices.Equal(ea.Invitees, eb.Invitees) {
		return false
	}
	if ea.Type != eb.Type || ea.InviteID != eb.InviteID || ea.Inviter != eb.Inviter || ea.Invitee != eb.Invitee ||
		ea.GroupID != eb.GroupID || ea.Data != eb.Data {
		return false
	}
	if (a.History == nil) != (b.History == nil) || (a.Push == nil) != (b.Push == nil) {
		return false
	}
	if a.History != nil {
		ha, hb := *a.History, *b.History
		if !slices.Equal(ha.Info.InviteeList, hb.Info.InviteeList) {
			return false
		}
		ha.Info.InviteeList, hb.Info.InviteeList = nil, nil
		if !reflect.DeepEqual(ha, hb) {
			return false
		}
	}
	return a.Push == nil || *a.Push == *b.Push
}

func resultsEqual(a, b result) bool {
	if (a.Err == nil) != (b.Err == nil) || (a.Err != nil && a.Err.Error() != b.Err.Error()) {
		return false
	}
	return a.InviteID == b.InviteID && a.Changed == b.Changed && a.Duplicate == b.Duplicate
}

func recordsEqual(a, b kernel.Record) bool {
	if a.Index != b.Index || !a.At.Equal(b.At) {
		return false
	}
	x, y := a.Input, b.Input
	if !slices.Equal(x.Invitees, y.Invitees) || (x.Push == nil) != (y.Push == nil) || (x.Push != nil && *x.Push != *y.Push) {
		return false
	}
	x.Invitees, y.Invitees, x.Push, y.Push = nil, nil, nil, nil
	return reflect.DeepEqual(x, y)
}

func validUTF8Info(i kernel.SignalingInfo) bool {
	for _, s := range append([]string{i.InviteID, i.GroupID, i.Inviter, i.Data}, i.InviteeList...) {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// ---- formatting, for failure messages ----

func describe(in kernel.Input) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v{", in.Op)
	field := func(name, v string) {
		if v != "" {
			fmt.Fprintf(&b, " %s=%q", name, short(v))
		}
	}
	field("User", in.User)
	field("Session", in.Session)
	field("RequestID", in.RequestID)
	field("InviteID", in.InviteID)
	field("Group", in.Group)
	if len(in.Invitees) > 0 {
		fmt.Fprintf(&b, " Invitees=%q", in.Invitees)
	}
	field("Data", in.Data)
	if in.OnlineUserOnly {
		b.WriteString(" OnlineUserOnly")
	}
	if in.Timeout != 0 {
		fmt.Fprintf(&b, " Timeout=%d", in.Timeout)
	}
	if in.Push != nil {
		fmt.Fprintf(&b, " Push=%+v", *in.Push)
	}
	b.WriteString(" }")
	return b.String()
}

func short(s string) string {
	if len(s) > 20 {
		return fmt.Sprintf("%s...(%d bytes)", s[:12], len(s))
	}
	return s
}

func fmtResult(r result) string {
	return fmt.Sprintf("{InviteID:%q Err:%v Changed:%v Duplicate:%v}", r.InviteID, r.Err, r.Changed, r.Duplicate)
}

func fmtOutput(o output) string {
	switch o.Kind {
	case outEvent:
		e := o.Event
		return fmt.Sprintf("event %s/%s %v{id=%s inviter=%s invitee=%s group=%s invitees=%q data=%q}",
			o.User, o.Session, e.Type, e.InviteID, e.Inviter, e.Invitee, e.GroupID, e.Invitees, short(e.Data))
	case outHistory:
		if o.History == nil {
			return "history <nil>"
		}
		h := o.History
		return fmt.Sprintf("history %s sender=%s at=+%v %+v", h.Conv, h.Sender, time.Duration(h.At-baseTime), h.Info)
	case outPush:
		if o.Push == nil {
			return "push <nil>"
		}
		return fmt.Sprintf("push %+v", *o.Push)
	}
	return fmt.Sprintf("output %+v", o)
}

func diffOutputs(got, want []output) string {
	var b strings.Builder
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w string
		if i < len(got) {
			g = fmtOutput(got[i])
		}
		if i < len(want) {
			w = fmtOutput(want[i])
		}
		mark := "  "
		if g != w {
			mark = "!="
		}
		fmt.Fprintf(&b, "%s %2d got:  %s\n      want: %s\n", mark, i, g, w)
	}
	return b.String()
}
