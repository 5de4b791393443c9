package kernel_test

// Rule tests for TMO, MOD, DLV, SYN and HIS.

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
)

func TestRulesTimeout(t *testing.T) {
	t.Run("TMO-1_pending_invitees_time_out_at_creation_plus_T_exactly_once", func(t *testing.T) {
		f := world(t)
		f.setNow(secs(1))
		id, _ := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol", "dave"), "x", 10))
		f.setNow(secs(2)).ok(kernel.Accept("bob", id, ""))
		f.now = at(secs(11) - 1)
		if res, outs := f.tick(); res.Changed || len(outs) != 0 || f.k.Open() != 1 {
			t.Fatalf("1ns before the deadline: %+v\n%s", res, formatOutputs(outs))
		}
		// An accept arriving at the deadline fails: the timeout goes first,
		// even though no tick ran at the deadline.
		f.setNow(secs(11))
		res, outs := f.do(kernel.Accept("carol", id, ""))
		checkErr(t, res.Err, kernel.ErrInvalidInviteID, "InviteID")
		if !res.Changed {
			t.Errorf("the failing accept fired a timeout but Changed is false")
		}
		v := inv{id, "alice", "g", list("bob", "carol", "dave"), 10}
		wantOutputs(t, outs, seq(
			deliver(evTimeout(id, "carol", "dave"), "alice/a1", "alice/a2"),
			deliver(evTimeout(id, "carol"), "carol/c1"),
			deliver(evTimeout(id, "dave"), "dave/d1"),
			v.hist(kernel.ActionTimeout, "alice", at(secs(11)), list("carol", "dave"), "")))
		for _, d := range []time.Duration{secs(11), secs(12), secs(1000)} {
			f.setNow(d)
			if res, outs := f.tick(); res.Changed || len(outs) != 0 {
				t.Errorf("tick at +%v after the timeout: %+v\n%s", d, res, formatOutputs(outs))
			}
		}
	})

	t.Run("TMO-2_inviter_gets_all_timed_out_each_invitee_itself_in_deadline_order", func(t *testing.T) {
		f := world(t)
		f.connect("bob", "b2")
		a, _ := f.okID(kernel.Invite("alice", "bob", "", 10)) // deadline 10, created first
		f.setNow(secs(5))
		b, _ := f.okID(kernel.Invite("carol", "dave", "", 5)) // deadline 10, created second
		c, _ := f.okID(kernel.Invite("bob", "carol", "", 3))  // deadline 8
		all, _ := f.okID(kernel.InviteInGroup("dave", "g", list("alice", "bob", "carol"), "", 15))
		if d, ok := f.k.NextDeadline(); !ok || !d.Equal(at(secs(8))) {
			t.Errorf("NextDeadline = %v %v, want t0+8s", d, ok)
		}
		f.setNow(secs(20))
		res, outs := f.tick()
		if !res.Changed || res.Err != nil || res.Duplicate {
			t.Errorf("tick result %+v", res)
		}
		va := inv{a, "alice", "", list("bob"), 10}
		vb := inv{b, "carol", "", list("dave"), 5}
		vc := inv{c, "bob", "", list("carol"), 3}
		vall := inv{all, "dave", "g", list("alice", "bob", "carol"), 15}
		when := at(secs(20))
		wantOutputs(t, outs, seq(
			deliver(evTimeout(c, "carol"), "bob/b1", "bob/b2", "carol/c1"),
			vc.hist(kernel.ActionTimeout, "bob", when, list("carol"), ""),
			deliver(evTimeout(a, "bob"), "alice/a1", "alice/a2", "bob/b1", "bob/b2"),
			va.hist(kernel.ActionTimeout, "alice", when, list("bob"), ""),
			deliver(evTimeout(b, "dave"), "carol/c1", "dave/d1"),
			vb.hist(kernel.ActionTimeout, "carol", when, list("dave"), ""),
			deliver(evTimeout(all, "alice", "bob", "carol"), "dave/d1"),
			deliver(evTimeout(all, "alice"), "alice/a1", "alice/a2"),
			deliver(evTimeout(all, "bob"), "bob/b1", "bob/b2"),
			deliver(evTimeout(all, "carol"), "carol/c1"),
			vall.hist(kernel.ActionTimeout, "dave", when, list("alice", "bob", "carol"), "")))
		if f.k.Open() != 0 {
			t.Errorf("Open() = %d", f.k.Open())
		}
	})

	t.Run("TMO-3_timeout_0_never_times_out", func(t *testing.T) {
		f := world(t)
		id, _ := f.okID(kernel.Invite("alice", "bob", "", 0))
		if d, ok := f.k.NextDeadline(); ok {
			t.Errorf("NextDeadline = %v, want none", d)
		}
		f.now = at(100 * 365 * 24 * time.Hour)
		if res, outs := f.tick(); res.Changed || len(outs) != 0 {
			t.Errorf("tick a century later: %+v\n%s", res, formatOutputs(outs))
		}
		if f.k.Open() != 1 {
			t.Fatalf("Open() = %d, want 1", f.k.Open())
		}
		f.ok(kernel.Accept("bob", id, "")) // still pending
	})

	t.Run("TMO-4_a_deadline_passed_while_down_fires_once_on_recovery", func(t *testing.T) {
		cfg := kernel.Config{}
		f := world(t)
		id, _ := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol"), "x", 10))
		snap := f.k.Snapshot() // taken before the deadline
		// The log after the snapshot, as a durable driver keeps it.
		var log []kernel.Record
		logged := func(in kernel.Input) {
			res, _ := f.do(in)
			if res.Err != nil || !res.Changed {
				t.Fatalf("%s: %+v", in.Op, res)
			}
			in.InviteID = res.InviteID
			log = append(log, kernel.Record{Index: uint64(len(log) + 1), At: f.now, Input: in})
		}
		f.setNow(secs(3))
		logged(kernel.Modify("alice", id, "y"))
		f.setNow(secs(4))
		logged(kernel.Accept("bob", id, "ok"))
		// Down from t0+5 to t0+60. Recovery: restore, replay the log
		// (through the record encoding), then tick.
		k := mustRestore(t, cfg, snap)
		for _, r := range log {
			dec, err := kernel.DecodeRecord(kernel.AppendRecord(nil, r))
			if err != nil {
				t.Fatal(err)
			}
			if res, _ := apply(k, dec.At, dec.Input); res.Err != nil || !res.Changed {
				t.Fatalf("replay of %s: %+v", dec.Input.Op, res)
			}
		}
		res, outs := tick(k, at(secs(60)))
		if !res.Changed {
			t.Errorf("recovery tick: Changed false")
		}
		v := inv{id, "alice", "g", list("bob", "carol"), 10}
		wantOutputs(t, cloneOutputs(outs), seq(
			deliver(evTimeout(id, "carol"), "alice/a1", "alice/a2"),
			deliver(evTimeout(id, "carol"), "carol/c1"),
			v.hist(kernel.ActionTimeout, "alice", at(secs(60)), list("carol"), "")))
		if res, outs := tick(k, at(secs(61))); res.Changed || len(outs) != 0 {
			t.Errorf("second recovery tick fired again: %+v", res)
		}

		// The uninterrupted kernel ticks at t0+10 and logs that tick; a
		// restart replaying the tick record fires it, and nothing fires
		// after it.
		f.setNow(secs(10))
		res, outs = f.tick()
		if !res.Changed || len(outs) == 0 {
			t.Fatalf("uninterrupted tick at the deadline: %+v", res)
		}
		log = append(log, kernel.Record{Index: uint64(len(log) + 1), At: f.now, Input: kernel.Input{Op: kernel.OpTick}})
		k = mustRestore(t, cfg, snap)
		var last []output
		for _, r := range log {
			_, o := apply(k, r.At, r.Input)
			last = cloneOutputs(o)
		}
		wantOutputs(t, last, outs)
		if res, outs := tick(k, at(secs(60))); res.Changed || len(outs) != 0 {
			t.Errorf("tick after the replayed timeout fired again: %+v\n%s", res, formatOutputs(outs))
		}
		if !bytes.Equal(k.Snapshot(), mustTickSnapshot(t, f.k, at(secs(60)))) {
			t.Errorf("recovered state differs from the uninterrupted one")
		}
	})
}

// mustTickSnapshot ticks k at when, requiring nothing to fire, and
// returns its snapshot.
func mustTickSnapshot(t *testing.T, k *kernel.Kernel, when time.Time) []byte {
	t.Helper()
	if res, outs := tick(k, when); res.Changed || len(outs) != 0 {
		t.Fatalf("tick fired: %+v", res)
	}
	return k.Snapshot()
}

func TestRulesModify(t *testing.T) {
	t.Run("MOD-1_only_data_changes_not_the_deadline", func(t *testing.T) {
		f := world(t)
		f.ok(kernel.Disconnect("bob", "b1"))
		id, _ := f.okID(kernel.Invite("alice", "bob", "v1", 30))
		outs := f.setNow(secs(10)).ok(kernel.Modify("alice", id, "v2"))
		v := inv{id, "alice", "", list("bob"), 30}
		wantOutputs(t, outs, seq(
			deliver(evModified(id, "v2"), "alice/a1", "alice/a2"),
			v.hist(kernel.ActionModify, "alice", at(secs(10)), list("bob"), "v2")))
		if d, ok := f.k.NextDeadline(); !ok || !d.Equal(at(secs(30))) {
			t.Errorf("NextDeadline = %v %v after modify, want t0+30s", d, ok)
		}
		// SYN-1 after modify carries the new data and the rest unchanged.
		outs = f.setNow(secs(12)).ok(kernel.Connect("bob", "b1"))
		wantOutputs(t, outs, deliver(evNew(id, "alice", "", list("bob"), "v2"), "bob/b1"))
		f.now = at(secs(30) - 1)
		if _, outs := f.tick(); len(outs) != 0 {
			t.Errorf("timed out early:\n%s", formatOutputs(outs))
		}
		f.setNow(secs(30))
		_, outs = f.tick()
		wantOutputs(t, outs, seq(
			deliver(evTimeout(id, "bob"), "alice/a1", "alice/a2", "bob/b1"),
			v.hist(kernel.ActionTimeout, "alice", at(secs(30)), list("bob"), "")))
	})

	t.Run("MOD-2_only_participants_of_an_open_invitation_modify", func(t *testing.T) {
		f := world(t)
		id, _ := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol"), "", 0))
		f.fail(kernel.Modify("eve", id, "x"), kernel.ErrInvalidInviteID, "User")
		f.fail(kernel.Modify("dave", id, "x"), kernel.ErrInvalidInviteID, "User")
		f.fail(kernel.Modify("alice", "nosuch", "x"), kernel.ErrInvalidInviteID, "InviteID")
		f.ok(kernel.Modify("carol", id, "by an invitee"))
		f.ok(kernel.Accept("bob", id, ""))
		f.ok(kernel.Modify("bob", id, "by one who accepted"))
		f.ok(kernel.Reject("carol", id, ""))
		f.fail(kernel.Modify("alice", id, "x"), kernel.ErrInvalidInviteID, "InviteID")
	})

	t.Run("MOD-3_every_participant_receives_InvitationModified_and_SYN-1_the_new_data", func(t *testing.T) {
		f := world(t)
		f.ok(kernel.Disconnect("carol", "c1"))
		id, _ := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol", "dave"), "old", 0))
		outs := f.setNow(secs(1)).ok(kernel.Modify("dave", id, "new"))
		v := inv{id, "alice", "g", list("bob", "carol", "dave"), 0}
		wantOutputs(t, outs, seq(
			deliver(evModified(id, "new"), "alice/a1", "alice/a2", "bob/b1", "dave/d1"),
			v.hist(kernel.ActionModify, "dave", at(secs(1)), list("bob", "carol", "dave"), "new")))
		outs = f.ok(kernel.Connect("carol", "c1"))
		wantOutputs(t, outs, deliver(evNew(id, "alice", "g", list("bob", "carol", "dave"), "new"), "carol/c1"))
	})
}

func TestRulesDelivery(t *testing.T) {
	t.Run("DLV-1_every_session_of_each_participant_in_connection_order_acting_one_included", func(t *testing.T) {
		f := newFx(t, kernel.Config{})
		f.connect("bob", "zz", "aa", "mm")
		f.connect("alice", "a1")
		f.connect("eve", "e1")
		id, outs := f.okID(kernel.Invite("alice", "bob", "", 0))
		wantOutputs(t, outs, seq(
			deliver(evNew(id, "alice", "", list("bob"), ""), "bob/zz", "bob/aa", "bob/mm"),
			inv{id, "alice", "", list("bob"), 0}.hist(kernel.ActionInvite, "alice", t0, list("bob"), "")))
		f.ok(kernel.Disconnect("bob", "aa"))
		in := kernel.Modify("bob", id, "m")
		in.Session = "mm"
		outs = f.ok(in)
		wantOutputs(t, outs, seq(
			deliver(evModified(id, "m"), "alice/a1", "bob/zz", "bob/mm"),
			inv{id, "alice", "", list("bob"), 0}.hist(kernel.ActionModify, "bob", t0, list("bob"), "m")))
		// Reconnecting puts the session last.
		f.connect("bob", "aa")
		in = kernel.Accept("bob", id, "")
		in.Session = "zz"
		outs = f.ok(in)
		wantOutputs(t, outs, seq(
			deliver(evAccepted(id, "bob", ""), "alice/a1", "bob/zz", "bob/mm", "bob/aa"),
			inv{id, "alice", "", list("bob"), 0}.hist(kernel.ActionAccept, "bob", t0, list("bob"), "")))
		for _, o := range outs {
			if o.User == "eve" {
				t.Errorf("non-participant eve received %v", o.Event.Type)
			}
		}
	})

	t.Run("DLV-2_per_recipient_order_and_nothing_after_the_closing_event", func(t *testing.T) {
		f := world(t)
		var got []output
		id, outs := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol"), "0", 10))
		got = append(got, outs...)
		got = append(got, f.setNow(secs(1)).ok(kernel.Modify("alice", id, "1"))...)
		got = append(got, f.setNow(secs(2)).ok(kernel.Accept("bob", id, "2"))...)
		// A new invite applied at the deadline: the timeout's outputs come first.
		id2, outs := f.setNow(secs(10)).okID(kernel.Invite("carol", "dave", "3", 0))
		got = append(got, outs...)
		received := func(user string) []kernel.EventType {
			var types []kernel.EventType
			for _, o := range got {
				if o.Kind == outEvent && o.User == user {
					types = append(types, o.Event.Type)
				}
			}
			return types
		}
		for user, want := range map[string][]kernel.EventType{
			"alice/a1": {kernel.EventModified, kernel.EventAccepted, kernel.EventTimeout},
			"bob":      {kernel.EventNewInvitation, kernel.EventModified, kernel.EventAccepted},
			"carol":    {kernel.EventNewInvitation, kernel.EventModified, kernel.EventAccepted, kernel.EventTimeout},
			"dave":     {kernel.EventNewInvitation},
			"eve":      nil,
		} {
			name, _, _ := strings.Cut(user, "/")
			types := received(name)
			if name == "alice" { // two sessions: every event twice, in order
				want = []kernel.EventType{want[0], want[0], want[1], want[1], want[2], want[2]}
			}
			if !reflect.DeepEqual(types, want) {
				t.Errorf("%s received %v, want %v", name, types, want)
			}
		}
		v := inv{id, "alice", "g", list("bob", "carol"), 10}
		wantOutputs(t, outs, seq(
			deliver(evTimeout(id, "carol"), "alice/a1", "alice/a2"),
			deliver(evTimeout(id, "carol"), "carol/c1"),
			v.hist(kernel.ActionTimeout, "alice", at(secs(10)), list("carol"), ""),
			deliver(evNew(id2, "carol", "", list("dave"), "3"), "dave/d1"),
			inv{id2, "carol", "", list("dave"), 0}.hist(kernel.ActionInvite, "carol", at(secs(10)), list("dave"), "3")))
		// Nothing after the close.
		f.fail(kernel.Modify("alice", id, "x"), kernel.ErrInvalidInviteID, "InviteID")
		f.fail(kernel.Cancel("alice", id, "x"), kernel.ErrInvalidInviteID, "InviteID")
		f.ok(kernel.Reject("dave", id2, ""))
		f.setNow(secs(100))
		if _, outs := f.tick(); len(outs) != 0 {
			t.Errorf("outputs after every invitation closed:\n%s", formatOutputs(outs))
		}
	})

	t.Run("DLV-3_Changed_marks_exactly_the_calls_to_make_durable", func(t *testing.T) {
		f := world(t)
		type step struct {
			in        kernel.Input
			changed   bool
			failed    bool
			duplicate bool
		}
		inv1 := withReq(kernel.Invite("alice", "bob", "", 0), "r1")
		steps := []step{
			{in: inv1, changed: true},
			{in: inv1, duplicate: true},
			{in: kernel.Invite("alice", "alice", "", 0), failed: true},
			{in: kernel.Accept("carol", "i1", ""), failed: true},
			{in: kernel.Modify("bob", "i1", "m"), changed: true},
			{in: withReq(kernel.Modify("bob", "i1", "m2"), "r2"), changed: true},
			{in: withReq(kernel.Modify("bob", "i1", "m3"), "r2"), duplicate: true},
			{in: kernel.Reject("bob", "i1", ""), changed: true},
			{in: kernel.Cancel("alice", "i1", ""), failed: true},
			{in: kernel.InviteInGroup("alice", "g", list("bob", "carol"), "", 5), changed: true},
			{in: kernel.Accept("bob", "i2", ""), changed: true},
			{in: kernel.Cancel("alice", "i2", ""), changed: true},
			{in: kernel.Connect("zed", "z1"), changed: true},
			{in: kernel.Connect("zed", "z1")}, // already connected: nothing
			{in: kernel.Disconnect("zed", "z1"), changed: true},
			{in: kernel.Disconnect("zed", "z1")}, // not connected: nothing
			{in: kernel.SetGroup("h", list("bob")), changed: true},
			{in: kernel.JoinGroup("h", "carol"), changed: true},
			{in: kernel.JoinGroup("h", "carol")},
			{in: kernel.LeaveGroup("h", "carol"), changed: true},
			{in: kernel.LeaveGroup("h", "carol")},
			{in: kernel.JoinGroup("nosuch", "carol"), failed: true},
			{in: kernel.Input{Op: kernel.OpTick}},
		}
		for i, st := range steps {
			res, _ := f.do(st.in)
			if res.Changed != st.changed || (res.Err != nil) != st.failed || res.Duplicate != st.duplicate {
				t.Errorf("step %d %s: Changed=%v Err=%v Duplicate=%v, want Changed=%v failed=%v Duplicate=%v",
					i, st.in.Op, res.Changed, res.Err, res.Duplicate, st.changed, st.failed, st.duplicate)
			}
		}
		// Ticks that fire and failures that let a timeout fire are Changed.
		id, _ := f.okID(kernel.Invite("alice", "bob", "", 5))
		f.setNow(secs(5))
		if res, _ := f.do(kernel.Accept("eve", id, "")); res.Err == nil || !res.Changed {
			t.Errorf("failure at a deadline: %+v, want an error with Changed", res)
		}
		f.okID(kernel.Invite("alice", "bob", "", 5))
		f.setNow(secs(10))
		if res, _ := f.tick(); !res.Changed || res.Err != nil {
			t.Errorf("firing tick: %+v", res)
		}
		if res, _ := f.tick(); res.Changed {
			t.Errorf("idle tick: %+v", res)
		}
	})
}

func TestRulesSync(t *testing.T) {
	t.Run("SYN-1_a_connecting_session_gets_each_invitation_still_pending_for_its_user", func(t *testing.T) {
		f := world(t)
		f.ok(kernel.Disconnect("bob", "b1"))
		one, _ := f.okID(kernel.Invite("alice", "bob", "one", 0))
		grp, _ := f.okID(kernel.InviteInGroup("dave", "g", list("carol", "bob"), "grp", 0))
		onl := kernel.Invite("carol", "bob", "online-only", 0)
		onl.OnlineUserOnly = true
		f.ok(onl)
		closed, _ := f.okID(kernel.Invite("alice", "bob", "closed", 0))
		f.ok(kernel.Cancel("alice", closed, ""))
		answered, _ := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol"), "answered", 0))
		f.ok(kernel.Reject("bob", answered, "")) // acted while offline
		expiring, _ := f.okID(kernel.Invite("carol", "bob", "expiring", 5))
		f.ok(kernel.Modify("alice", one, "one'"))

		// Connecting at the deadline of "expiring": it times out first.
		f.setNow(secs(5))
		outs := f.ok(kernel.Connect("bob", "b1"))
		wantOutputs(t, outs, seq(
			deliver(evTimeout(expiring, "bob"), "carol/c1"),
			inv{expiring, "carol", "", list("bob"), 5}.hist(kernel.ActionTimeout, "carol", at(secs(5)), list("bob"), ""),
			deliver(evNew(one, "alice", "", list("bob"), "one'"), "bob/b1"),
			deliver(evNew(grp, "dave", "g", list("carol", "bob"), "grp"), "bob/b1")))
		// A second device gets them too; the first does not again.
		outs = f.ok(kernel.Connect("bob", "b2"))
		wantOutputs(t, outs, seq(
			deliver(evNew(one, "alice", "", list("bob"), "one'"), "bob/b2"),
			deliver(evNew(grp, "dave", "g", list("carol", "bob"), "grp"), "bob/b2")))
		if res, outs := f.do(kernel.Connect("bob", "b1")); res.Changed || len(outs) != 0 {
			t.Errorf("reconnect of a connected session: %+v\n%s", res, formatOutputs(outs))
		}
		// Once bob accepts, no session gets it again.
		f.ok(kernel.Accept("bob", grp, ""))
		f.ok(kernel.Disconnect("bob", "b1"))
		outs = f.ok(kernel.Connect("bob", "b1"))
		wantOutputs(t, outs, deliver(evNew(one, "alice", "", list("bob"), "one'"), "bob/b1"))
	})

	t.Run("SYN-2_offline_1:1_invitee_with_push_info_gets_one_push_request", func(t *testing.T) {
		f := world(t)
		f.ok(kernel.Disconnect("bob", "b1"))
		push := kernel.PushInfo{Title: "Alice", Desc: "is calling", Ext: `{"k":1}`, Sound: "ring.caf"}
		in := kernel.Invite("alice", "bob", "d", 30)
		in.Push = &push
		id, outs := f.okID(in)
		wantOutputs(t, outs, seq(
			inv{id, "alice", "", list("bob"), 30}.hist(kernel.ActionInvite, "alice", t0, list("bob"), "d"),
			pushOut("bob", id, "alice", "d", push)))
		// Coming online: the invitation again (SYN-1), not another push.
		outs = f.ok(kernel.Connect("bob", "b1"))
		wantOutputs(t, outs, deliver(evNew(id, "alice", "", list("bob"), "d"), "bob/b1"))
		// Online invitee: no push.
		id2, outs := f.okID(in)
		wantOutputs(t, outs, seq(
			deliver(evNew(id2, "alice", "", list("bob"), "d"), "bob/b1"),
			inv{id2, "alice", "", list("bob"), 30}.hist(kernel.ActionInvite, "alice", t0, list("bob"), "d")))
		// Online-only: no push.
		off := kernel.Invite("alice", "zed", "d", 0)
		off.Push, off.OnlineUserOnly = &push, true
		if _, outs := f.okID(off); len(outs) != 0 {
			t.Errorf("online-only invite to an offline user:\n%s", formatOutputs(outs))
		}
		// No push info: no push.
		if _, outs := f.okID(kernel.Invite("alice", "zed", "d", 0)); countKind(outs, outPush) != 0 {
			t.Errorf("push without push info:\n%s", formatOutputs(outs))
		}
		// The kernel keeps its own copy of the push info: a caller reusing
		// its PushInfo after Apply does not change the invitation.
		p := &kernel.PushInfo{Desc: "is calling"}
		in = kernel.Invite("alice", "yan", "d", 0)
		in.Push = p
		f.ok(in)
		p.Desc = "changed by the caller"
		if snap := f.k.Snapshot(); bytes.Contains(snap, []byte("changed by the caller")) || !bytes.Contains(snap, []byte("is calling")) {
			t.Errorf("the kernel's push info follows the caller's PushInfo after Apply")
		}
	})
}

func TestRulesHistory(t *testing.T) {
	t.Run("HIS-1_one_history_message_per_action_in_the_right_conversation", func(t *testing.T) {
		f := newFx(t, kernel.Config{})
		f.group("g", "zoe", "adam", "bea")
		id, outs := f.okID(kernel.Invite("zoe", "adam", "", 5))
		conv := kernel.Conversation{A: "adam", B: "zoe"}
		if len(outs) != 1 || outs[0].History == nil || outs[0].History.Conv != conv {
			t.Fatalf("1:1 invite history:\n%s\nwant conversation %+v", formatOutputs(outs), conv)
		}
		if got := conv.String(); got != "c2c:4:adamzoe" {
			t.Errorf("conversation key %q", got)
		}
		if kernel.C2C("a", "bc").String() == kernel.C2C("ab", "c").String() {
			t.Errorf("C2C keys collide: %q", kernel.C2C("a", "bc").String())
		}
		if kernel.C2C("zoe", "adam") != kernel.C2C("adam", "zoe") {
			t.Errorf("C2C is not symmetric")
		}
		var all []output
		all = append(all, outs...)
		all = append(all, f.ok(kernel.Modify("adam", id, "m"))...)
		all = append(all, f.ok(kernel.Accept("adam", id, "a"))...)
		gid, outs := f.okID(kernel.InviteInGroup("bea", "g", list("zoe", "adam"), "", 5))
		all = append(all, outs...)
		all = append(all, f.ok(kernel.Reject("zoe", gid, "r"))...)
		f.setNow(secs(5))
		_, outs = f.tick()
		all = append(all, outs...)
		cid, outs := f.okID(kernel.InviteInGroup("bea", "g", list("zoe"), "", 0))
		all = append(all, outs...)
		all = append(all, f.ok(kernel.Cancel("bea", cid, "c"))...)
		var got []string
		for _, o := range all {
			if o.Kind != outHistory {
				t.Fatalf("unexpected output (nobody is online):\n%s", formatOutputs([]output{o}))
			}
			got = append(got, o.History.Conv.String()+":"+o.History.Info.InviteID)
		}
		want := []string{"c2c:4:adamzoe:" + id, "c2c:4:adamzoe:" + id, "c2c:4:adamzoe:" + id,
			"group:g:" + gid, "group:g:" + gid, "group:g:" + gid, "group:g:" + cid, "group:g:" + cid}
		if len(got) != len(want) {
			t.Fatalf("history %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("history %q, want %q", got, want)
			}
		}
	})

	t.Run("HIS-2_the_envelope_of_each_action", func(t *testing.T) {
		f := newFx(t, kernel.Config{})
		f.group("g", "al", "bo", "cy", "di")
		id, outs := f.okID(kernel.InviteInGroup("al", "g", list("bo", "cy", "di"), "D", 7))
		var hist []kernel.History
		hist = append(hist, *outs[0].History)
		hist = append(hist, *f.ok(kernel.Modify("bo", id, "M"))[0].History)
		hist = append(hist, *f.ok(kernel.Accept("bo", id, "A"))[0].History)
		hist = append(hist, *f.ok(kernel.Reject("cy", id, "R"))[0].History)
		f.setNow(secs(7))
		_, outs = f.tick()
		hist = append(hist, *outs[0].History)
		id2, _ := f.okID(kernel.Invite("al", "bo", "", 0))
		hist = append(hist, *f.ok(kernel.Cancel("al", id2, "C"))[0].History)
		type w struct {
			action   kernel.Action
			id       string
			group    string
			sender   string
			invitees []string
			data     string
			timeout  int
		}
		want := []w{
			{1, id, "g", "al", list("bo", "cy", "di"), "D", 7},
			{6, id, "g", "bo", list("bo", "cy", "di"), "M", 7},
			{3, id, "g", "bo", list("bo"), "A", 7},
			{4, id, "g", "cy", list("cy"), "R", 7},
			{5, id, "g", "al", list("di"), "", 7},
			{2, id2, "", "al", list("bo"), "C", 0},
		}
		for i, h := range hist {
			x := want[i]
			wantInfo := kernel.SignalingInfo{BusinessID: 1, InviteID: x.id, GroupID: x.group, Inviter: "al",
				InviteeList: x.invitees, Data: x.data, Timeout: x.timeout, ActionType: x.action}
			if h.Sender != x.sender || !equalInfo(h.Info, wantInfo) {
				t.Errorf("history %d: sender %q info %+v, want %q %+v", i, h.Sender, h.Info, x.sender, wantInfo)
			}
			js, err := kernel.MarshalSignalingInfo(h.Info)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(js, &m); err != nil {
				t.Fatal(err)
			}
			if m["businessID"] != 1.0 || m["actionType"] != float64(x.action) || m["inviteID"] != x.id ||
				m["onlineUserOnly"] != false || m["timeout"] != float64(x.timeout) || m["groupID"] != x.group {
				t.Errorf("history %d JSON %s", i, js)
			}
		}
	})

	t.Run("HIS-3_GetSignalingInfo_reads_the_kernel's_messages_and_refuses_others", func(t *testing.T) {
		f := world(t)
		id, outs := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol"), `{"room":"r1"}`, 9))
		all := outs
		all = append(all, f.ok(kernel.Accept("carol", id, "é\"\\<>&\u2028"))...)
		n := 0
		for _, o := range all {
			if o.Kind != outHistory {
				continue
			}
			n++
			js, err := kernel.MarshalSignalingInfo(o.History.Info)
			if err != nil {
				t.Fatal(err)
			}
			got, err := kernel.GetSignalingInfo(js)
			if err != nil || !equalInfo(got, o.History.Info) {
				t.Errorf("GetSignalingInfo(%s) = %+v, %v; want %+v", js, got, err, o.History.Info)
			}
		}
		if n != 2 {
			t.Fatalf("%d history messages, want 2", n)
		}
		for _, msg := range []string{`{"text":"hello"}`, `{"businessID":2,"inviteID":"x","inviter":"a","actionType":1}`, ``, `{`} {
			if _, err := kernel.GetSignalingInfo([]byte(msg)); !isNotSignaling(err) {
				t.Errorf("GetSignalingInfo(%q) error %v, want ErrNotSignalingMessage", msg, err)
			}
		}
	})
}

// equalInfo compares two envelopes, an empty invitee list equal to nil.
func equalInfo(a, b kernel.SignalingInfo) bool {
	a.InviteeList, b.InviteeList = cloneList(a.InviteeList), cloneList(b.InviteeList)
	return reflect.DeepEqual(a, b)
}

// isNotSignaling reports whether err is ErrNotSignalingMessage (and not
// the other 6017 class).
func isNotSignaling(err error) bool {
	return errors.Is(err, kernel.ErrNotSignalingMessage) && !errors.Is(err, kernel.ErrInvalidParameters) &&
		kernel.Code(err) == 6017
}
