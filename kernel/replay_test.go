package kernel_test

// DET-1 as a property: random operation sequences over small alphabets
// give the same results and outputs uninterrupted, after Snapshot/Restore
// at any point, and when only the Changed inputs are replayed. Rapid reads
// its settings from the environment (RAPID_CHECKS, RAPID_SEED, ...).

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
	"pgregory.net/rapid"
)

var (
	propUsers    = []string{"ann", "bob", "cat", "dan"}
	propSessions = []string{"s1", "s2"}
	propGroups   = []string{"g1", "g2", "g1", "g2", "g3"} // g3 is never set
	propIDs      = []string{"x", "y", "i1", "i2", "i3", "i4", "i5", "i6"}
	propData     = []string{"", "d1", "d2", "", "d1", "d2", "too-long-data"} // the last is above MaxDataBytes
	propReqs     = []string{"", "", "", "r1", "r2"}
)

// propConfig has small limits so random runs reach them.
var propConfig = kernel.Config{MaxInvitees: 3, MaxDataBytes: 8, MaxOpenPerInviter: 3, MaxTimeoutSeconds: 9,
	RequestIDWindow: 30 * time.Second, MaxRequestIDs: 4}

type timedInput struct {
	dt time.Duration // advance before the input
	in kernel.Input
}

func (x timedInput) String() string {
	in := x.in
	push := ""
	if in.Push != nil {
		push = fmt.Sprintf(" push=%+v", *in.Push)
	}
	return fmt.Sprintf("+%v %s user=%q sess=%q req=%q id=%q group=%q invitees=%q data=%q onlineOnly=%v timeout=%d%s",
		x.dt, in.Op, in.User, in.Session, in.RequestID, in.InviteID, in.Group, in.Invitees, in.Data, in.OnlineUserOnly, in.Timeout, push)
}

// propGen draws inputs, half of the signaling ones aimed at invitations
// the run created (by one of their participants), so that answers, cancels
// and modifies often succeed.
type propGen struct {
	recent []propInvitation
}

type propInvitation struct {
	id           string
	participants []string // inviter first
}

// learn records a successful invite.
func (g *propGen) learn(st timedInput, o observed) {
	if (st.in.Op == kernel.OpInvite || st.in.Op == kernel.OpInviteInGroup) && o.err == "" && !o.res.Duplicate {
		g.recent = append(g.recent, propInvitation{o.res.InviteID, append([]string{st.in.User}, st.in.Invitees...)})
		if len(g.recent) > 4 {
			g.recent = g.recent[1:]
		}
	}
}

func (g *propGen) draw(t *rapid.T, label string) timedInput {
	var x timedInput
	x.dt = time.Duration(rapid.SampledFrom([]int{0, 0, 0, 1, 1, 2, 3, 5, 8, 10, 15}).Draw(t, label+" dt")) * time.Second
	if rapid.IntRange(0, 9).Draw(t, label+" subsecond") == 0 {
		x.dt += 500 * time.Millisecond
	}
	op := rapid.IntRange(0, 18).Draw(t, label+" op")
	user := rapid.SampledFrom(propUsers).Draw(t, label+" user")
	data := rapid.SampledFrom(propData).Draw(t, label+" data")
	id := rapid.SampledFrom(propIDs).Draw(t, label+" id")
	if len(g.recent) > 0 && rapid.IntRange(0, 2).Draw(t, label+" aimed") > 0 {
		r := rapid.SampledFrom(g.recent).Draw(t, label+" target")
		id = r.id
		user = rapid.SampledFrom(r.participants).Draw(t, label+" participant")
		if rapid.Bool().Draw(t, label+" by role") {
			switch op {
			case 4: // cancel by the inviter
				user = r.participants[0]
			case 5, 6, 7, 8: // answer by an invitee
				user = rapid.SampledFrom(r.participants[1:]).Draw(t, label+" invitee")
			}
		}
	}
	var others []string
	for _, u := range propUsers {
		if u != user {
			others = append(others, u)
		}
	}
	invitees := func(name string) []string {
		if rapid.IntRange(0, 4).Draw(t, name+" raw") == 0 { // anything: empty, duplicates, the inviter
			return rapid.SliceOfN(rapid.SampledFrom(propUsers), 0, 4).Draw(t, name)
		}
		return rapid.SliceOfNDistinct(rapid.SampledFrom(others), 1, 3, rapid.ID[string]).Draw(t, name)
	}
	var in kernel.Input
	switch op {
	case 0, 1:
		invitee := rapid.SampledFrom(others).Draw(t, label+" invitee")
		if rapid.IntRange(0, 5).Draw(t, label+" self") == 0 {
			invitee = user
		}
		in = kernel.Invite(user, invitee, data, rapid.IntRange(0, 10).Draw(t, label+" timeout"))
		switch rapid.IntRange(0, 9).Draw(t, label+" push") {
		case 0:
			in.Push = &kernel.PushInfo{Title: "t", Desc: "ring"}
		case 1, 2, 3:
			in.Push = &kernel.PushInfo{Title: "t", Desc: "ring", Ext: "e", Sound: "s"}
		case 4:
			in.Push = &kernel.PushInfo{Title: "no desc"}
		}
	case 2, 3:
		in = kernel.InviteInGroup(user, rapid.SampledFrom(propGroups).Draw(t, label+" group"), invitees(label+" invitees"), data,
			rapid.IntRange(0, 10).Draw(t, label+" timeout"))
	case 4:
		in = kernel.Cancel(user, id, data)
	case 5, 6:
		in = kernel.Accept(user, id, data)
	case 7, 8:
		in = kernel.Reject(user, id, data)
	case 9:
		in = kernel.Modify(user, id, data)
	case 10, 11:
		in = kernel.Connect(user, rapid.SampledFrom(propSessions).Draw(t, label+" session"))
	case 12:
		in = kernel.Disconnect(user, rapid.SampledFrom(propSessions).Draw(t, label+" session"))
	case 13:
		members := rapid.SliceOfNDistinct(rapid.SampledFrom(propUsers), 0, 4, rapid.ID[string]).Draw(t, label+" members")
		if rapid.Bool().Draw(t, label+" everyone") {
			members = propUsers
		}
		in = kernel.SetGroup(rapid.SampledFrom(propGroups[:2]).Draw(t, label+" group"), members)
	case 14:
		in = kernel.JoinGroup(rapid.SampledFrom(propGroups).Draw(t, label+" group"), user)
	case 15:
		in = kernel.LeaveGroup(rapid.SampledFrom(propGroups).Draw(t, label+" group"), user)
	case 16, 17:
		in = kernel.Input{Op: kernel.OpTick}
	case 18: // malformed
		in = kernel.Input{Op: kernel.Op(rapid.IntRange(0, 13).Draw(t, label+" badop")), User: user, Session: "\x01"}
	}
	if in.Op >= kernel.OpInvite && in.Op <= kernel.OpModify {
		in.RequestID = rapid.SampledFrom(propReqs).Draw(t, label+" request")
		if in.Op == kernel.OpInvite || in.Op == kernel.OpInviteInGroup {
			if rapid.IntRange(0, 3).Draw(t, label+" chosen") == 0 {
				in.InviteID = rapid.SampledFrom(propIDs).Draw(t, label+" chosen id")
			}
			in.OnlineUserOnly = rapid.IntRange(0, 3).Draw(t, label+" onlineOnly") == 0
		}
	}
	return x.withInput(in)
}

func (x timedInput) withInput(in kernel.Input) timedInput {
	x.in = in
	return x
}

// observed is what one Apply gave: the result (error as text), a deep copy
// of the outputs, and the snapshot after it.
type observed struct {
	res  result
	err  string
	outs []output
	snap []byte
}

func observe(k *kernel.Kernel, now time.Time, in kernel.Input) observed {
	res, outs := apply(k, now, in)
	o := observed{res: res, err: errText(res.Err), outs: cloneOutputs(outs), snap: k.Snapshot()}
	o.res.Err, o.res.Record = nil, nil
	return o
}

func diffObserved(a, b observed) string {
	switch {
	case a.res != b.res || a.err != b.err:
		return fmt.Sprintf("result %+v %q vs %+v %q", a.res, a.err, b.res, b.err)
	case !reflect.DeepEqual(a.outs, b.outs):
		return fmt.Sprintf("outputs\n%s\nvs\n%s", formatOutputs(a.outs), formatOutputs(b.outs))
	case !bytes.Equal(a.snap, b.snap):
		return fmt.Sprintf("snapshots of %d and %d bytes differ", len(a.snap), len(b.snap))
	}
	return ""
}

func TestDET1Property(t *testing.T) {
	t.Run("DET-1_random_sequences_replay_identically", testDET1Property)
}

func testDET1Property(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := propConfig
		n := rapid.IntRange(30, 150).Draw(t, "steps")
		steps := make([]timedInput, n)
		times := make([]time.Time, n)
		run := make([]observed, n)
		gen := &propGen{}
		now := t0

		// The uninterrupted run, drawing each input as it goes, checking
		// Snapshot/Restore/Snapshot and per-step invariants.
		k := kernel.New(cfg)
		for i := range steps {
			st := gen.draw(t, fmt.Sprint(i))
			now = now.Add(st.dt)
			steps[i], times[i] = st, now
			openBefore := k.Open()
			run[i] = observe(k, times[i], st.in)
			gen.learn(st, run[i])
			checkStepInvariants(t, i, st, run[i], openBefore, k)
			k2, err := kernel.Restore(cfg, run[i].snap)
			if err != nil {
				t.Fatalf("step %d (%v): Restore of its snapshot: %v", i, st, err)
			}
			if again := k2.Snapshot(); !bytes.Equal(again, run[i].snap) {
				t.Fatalf("step %d (%v): Snapshot/Restore/Snapshot is not byte-identical", i, st)
			}
			d1, ok1 := k.NextDeadline()
			d2, ok2 := k2.NextDeadline()
			if k2.Open() != k.Open() || ok1 != ok2 || !d1.Equal(d2) || !k2.Now().Equal(k.Now()) {
				t.Fatalf("step %d: restored kernel reports Open %d %v %v Now %v, original %d %v %v %v",
					i, k2.Open(), d2, ok2, k2.Now(), k.Open(), d1, ok1, k.Now())
			}
		}

		// The same inputs at the same times on a new kernel.
		k = kernel.New(cfg)
		for i, st := range steps {
			if d := diffObserved(run[i], observe(k, times[i], st.in)); d != "" {
				t.Fatalf("second run, step %d (%v): %s", i, st, d)
			}
		}

		// Restore after a random prefix and apply the rest.
		p := rapid.IntRange(0, len(steps)-1).Draw(t, "restore after")
		k = mustRestore(t, cfg, run[p].snap)
		for i := p + 1; i < len(steps); i++ {
			if d := diffObserved(run[i], observe(k, times[i], steps[i].in)); d != "" {
				t.Fatalf("restored after step %d, step %d (%v): %s", p, i, steps[i], d)
			}
		}

		// The log of Changed inputs, with InviteID set to Result.InviteID,
		// replayed on a new kernel, gives the same results, outputs and
		// final state as the run that logged it.
		k = kernel.New(cfg)
		last := -1
		for i, st := range steps {
			if !run[i].res.Changed {
				continue
			}
			in := st.in
			in.InviteID = run[i].res.InviteID
			got := observe(k, times[i], in)
			if d := diffObserved(run[i], got); d != "" {
				t.Fatalf("log replay, step %d (%v with InviteID %q): %s", i, st, in.InviteID, d)
			}
			last = i
		}
		if last >= 0 {
			// The uninterrupted kernel also saw the unlogged inputs after the
			// last logged one; at the same final time both states agree.
			ku := mustRestore(t, cfg, run[len(run)-1].snap)
			if res, outs := tick(k, times[len(times)-1]); res.Changed || len(outs) != 0 {
				t.Fatalf("log replay: the final tick fired what the run did not log:\n%s", formatOutputs(outs))
			}
			if !bytes.Equal(k.Snapshot(), ku.Snapshot()) {
				t.Fatalf("log replay: final state differs from the uninterrupted run's")
			}
		}
	})
}

// checkStepInvariants checks what must hold of any single step.
func checkStepInvariants(t *rapid.T, i int, st timedInput, o observed, openBefore int, k *kernel.Kernel) {
	failed := o.err != ""
	if o.res.Duplicate && failed {
		t.Fatalf("step %d (%v): a duplicate with an error", i, st)
	}
	// Timeouts' events and history come first among the step's events and
	// history; a failure or a duplicate emits nothing else.
	opOutputs := 0
	var opSeen [outPush + 1]bool
	for j, out := range o.outs {
		isTimeout := (out.Kind == outEvent && out.Event.Type == kernel.EventTimeout) ||
			(out.Kind == outHistory && out.History.Info.ActionType == kernel.ActionTimeout)
		if !isTimeout {
			opOutputs++
			opSeen[out.Kind] = true
		} else if opSeen[out.Kind] {
			t.Fatalf("step %d (%v): timeout output %d after the operation's own outputs:\n%s", i, st, j, formatOutputs(o.outs))
		}
		if out.Kind == outHistory {
			js, err := kernel.MarshalSignalingInfo(out.History.Info)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			back, err := kernel.GetSignalingInfo(js)
			if err != nil || !equalInfo(back, out.History.Info) {
				t.Fatalf("step %d: history %s does not round-trip: %+v %v", i, js, back, err)
			}
		}
	}
	if (failed || o.res.Duplicate) && opOutputs > 0 {
		t.Fatalf("step %d (%v): failed or duplicate (%q) yet emitted:\n%s", i, st, o.err, formatOutputs(o.outs))
	}
	if st.in.Op == kernel.OpTick && opOutputs > 0 {
		t.Fatalf("step %d: a tick emitted non-timeout outputs", i)
	}
	if !o.res.Changed && len(o.outs) > 0 {
		t.Fatalf("step %d (%v): outputs without Changed", i, st)
	}
	if !failed && !o.res.Duplicate && st.in.Op >= kernel.OpInvite && st.in.Op <= kernel.OpModify && !o.res.Changed {
		t.Fatalf("step %d (%v): a successful signaling operation without Changed", i, st)
	}
	if k.Open() > openBefore+1 {
		t.Fatalf("step %d: Open went from %d to %d", i, openBefore, k.Open())
	}
	if st.in.Op == kernel.OpInvite && !failed && !o.res.Duplicate && o.res.InviteID == "" {
		t.Fatalf("step %d: a successful invite without an invite ID", i)
	}
}
