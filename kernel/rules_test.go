package kernel_test

// Rule tests, one subtest per rule ID of RULES.md: INV, ONL, CAN, ACC, REJ
// and END here; TMO, MOD, DLV, SYN and HIS in rules_time_test.go; IDM, DET
// and LIM in rules_limits_test.go.

import (
	"strings"
	"testing"

	"github.com/beckonhq/beckon/kernel"
)

func TestRulesInvite(t *testing.T) {
	t.Run("INV-1_invite_creates_one_open_invitation_and_returns_its_ID", func(t *testing.T) {
		f := world(t)
		id, outs := f.okID(kernel.Invite("alice", "bob", "d", 30))
		if id != "i1" {
			t.Errorf("first drawn invite ID = %q, want the counter's %q", id, "i1")
		}
		if f.k.Open() != 1 {
			t.Errorf("Open() = %d, want 1", f.k.Open())
		}
		v := inv{id, "alice", "", list("bob"), 30}
		wantOutputs(t, outs, seq(
			deliver(evNew(id, "alice", "", list("bob"), "d"), "bob/b1"),
			v.hist(kernel.ActionInvite, "alice", t0, list("bob"), "d")))

		id2, _ := f.okID(kernel.Invite("alice", "carol", "", 0))
		if id2 == id || id2 != "i2" {
			t.Errorf("second drawn invite ID = %q, want a new one, %q", id2, "i2")
		}
		// Exactly one invitee: bob answering closes it (END-1), carol is not in it.
		f.fail(kernel.Accept("carol", id, ""), kernel.ErrInvalidInviteID, "User")
		f.ok(kernel.Accept("bob", id, ""))
		if f.k.Open() != 1 {
			t.Errorf("after the only invitee accepted, Open() = %d, want 1 (only i2 left)", f.k.Open())
		}
	})

	t.Run("INV-1_invite_IDs_from_Config.IDs_are_at_most_127_bytes", func(t *testing.T) {
		next := []string{strings.Repeat("x", 127), strings.Repeat("y", 128), ""}
		cfg := kernel.Config{IDs: kernel.IDSourceFunc(func() string {
			id := next[0]
			next = next[1:]
			return id
		})}
		f := newFx(t, cfg)
		if id, _ := f.okID(kernel.Invite("alice", "bob", "", 0)); id != strings.Repeat("x", 127) {
			t.Errorf("invite ID = %q, want the source's 127-byte ID", id)
		}
		f.fail(kernel.Invite("alice", "bob", "", 0), kernel.ErrInvalidParameters, "InviteID")
		f.fail(kernel.Invite("alice", "bob", "", 0), kernel.ErrInvalidParameters, "InviteID")
		if f.k.Open() != 1 {
			t.Errorf("Open() = %d, want 1", f.k.Open())
		}
	})

	t.Run("INV-1_drawn_IDs_in_use_are_skipped", func(t *testing.T) {
		next := []string{"a", "a", "b", "a", "a", "a", "a", "a", "a", "a", "a"}
		f := newFx(t, kernel.Config{IDs: kernel.IDSourceFunc(func() string {
			id := next[0]
			next = next[1:]
			return id
		})})
		if id, _ := f.okID(kernel.Invite("alice", "bob", "", 0)); id != "a" {
			t.Fatalf("first ID %q, want a", id)
		}
		if id, _ := f.okID(kernel.Invite("alice", "bob", "", 0)); id != "b" {
			t.Fatalf("second ID %q, want b (a is in use)", id)
		}
		// Eight draws all in use: the invite fails with 8012.
		f.fail(kernel.Invite("alice", "bob", "", 0), kernel.ErrAlreadyExists, "InviteID")
		if len(next) != 0 {
			t.Errorf("the source was drawn %d times too few (want 8 draws)", len(next))
		}

		// The default counter skips caller-chosen IDs in use.
		g := newFx(t, kernel.Config{})
		g.okID(kernel.Invite("alice", "bob", "", 0)) // i1
		g.okID(withID(kernel.Invite("alice", "bob", "", 0), "i3"))
		if id, _ := g.okID(kernel.Invite("alice", "bob", "", 0)); id != "i3.1" {
			t.Errorf("drawn ID = %q, want %q (i3 is in use)", id, "i3.1")
		}
	})

	t.Run("INV-2_group_invite_checks_invitees_group_and_inviter", func(t *testing.T) {
		f := world(t)
		f.group("h", "alice", "bob") // carol, dave not members
		f.fail(kernel.InviteInGroup("alice", "g", nil, "", 0), kernel.ErrInvalidParameters, "Invitees")
		f.fail(kernel.InviteInGroup("alice", "g", list("bob", "carol", "bob"), "", 0), kernel.ErrInvalidParameters, "Invitees[2]")
		f.fail(kernel.InviteInGroup("alice", "g", list("bob", ""), "", 0), kernel.ErrInvalidParameters, "Invitees[1]")
		f.fail(kernel.InviteInGroup("alice", "g", list("bob", "alice"), "", 0), kernel.ErrInvalidParameters, "Invitees[1]")
		f.fail(kernel.InviteInGroup("alice", "h", list("bob", "carol"), "", 0), kernel.ErrInvalidParameters, "Invitees[1]")
		f.fail(kernel.InviteInGroup("alice", "nosuch", list("bob"), "", 0), kernel.ErrGroupNotFound, "Group")
		f.fail(kernel.InviteInGroup("eve", "g", list("bob"), "", 0), kernel.ErrNotGroupMember, "User")
		// The documented order: group, then inviter, then invitees.
		f.fail(kernel.InviteInGroup("eve", "nosuch", list("eve2"), "", 0), kernel.ErrGroupNotFound, "Group")
		f.fail(kernel.InviteInGroup("eve", "h", list("carol"), "", 0), kernel.ErrNotGroupMember, "User")
		// No push info on a group invite.
		in := kernel.InviteInGroup("alice", "g", list("bob"), "", 0)
		in.Push = &kernel.PushInfo{Desc: "ring"}
		f.fail(in, kernel.ErrInvalidParameters, "Push")
		if f.k.Open() != 0 {
			t.Fatalf("Open() = %d after failures, want 0", f.k.Open())
		}
		id, outs := f.okID(kernel.InviteInGroup("alice", "g", list("dave", "bob"), "x", 0))
		v := inv{id, "alice", "g", list("dave", "bob"), 0}
		wantOutputs(t, outs, seq(
			deliver(evNew(id, "alice", "g", list("dave", "bob"), "x"), "dave/d1", "bob/b1"),
			v.hist(kernel.ActionInvite, "alice", t0, list("dave", "bob"), "x")))
	})

	t.Run("INV-3_timeout_is_whole_seconds_0_none_fixed_at_creation", func(t *testing.T) {
		f := world(t)
		f.fail(kernel.Invite("alice", "bob", "", -1), kernel.ErrInvalidParameters, "Timeout")
		f.fail(kernel.Invite("alice", "bob", "", kernel.DefaultMaxTimeoutSeconds+1), kernel.ErrInvalidParameters, "Timeout")
		f.fail(kernel.InviteInGroup("alice", "g", list("bob"), "", -5), kernel.ErrInvalidParameters, "Timeout")

		none, _ := f.okID(kernel.Invite("alice", "bob", "", 0))
		if d, ok := f.k.NextDeadline(); ok {
			t.Errorf("timeout 0: NextDeadline = %v, want none", d)
		}
		id, _ := f.okID(kernel.Invite("alice", "carol", "", 10))
		if d, ok := f.k.NextDeadline(); !ok || !d.Equal(at(secs(10))) {
			t.Errorf("NextDeadline = %v %v, want t0+10s", d, ok)
		}
		f.setNow(secs(5)).ok(kernel.Modify("alice", id, "new"))
		if d, ok := f.k.NextDeadline(); !ok || !d.Equal(at(secs(10))) {
			t.Errorf("after modify NextDeadline = %v %v, want still t0+10s", d, ok)
		}
		f.now = at(secs(10) - 1)
		if res, outs := f.tick(); res.Changed || len(outs) != 0 {
			t.Errorf("tick 1ns before the deadline: %+v %d outputs", res, len(outs))
		}
		f.setNow(secs(10))
		res, outs := f.tick()
		v := inv{id, "alice", "", list("carol"), 10}
		wantOutputs(t, outs, seq(
			deliver(evTimeout(id, "carol"), "alice/a1", "alice/a2", "carol/c1"),
			v.hist(kernel.ActionTimeout, "alice", at(secs(10)), list("carol"), "")))
		if !res.Changed || res.Err != nil {
			t.Errorf("tick that fired: %+v", res)
		}
		if f.k.Open() != 1 {
			t.Errorf("Open() = %d, want 1 (the timeout-0 invitation %s)", f.k.Open(), none)
		}
		// The maximum itself is allowed.
		f.ok(kernel.Invite("alice", "dave", "", kernel.DefaultMaxTimeoutSeconds))
		if d, ok := f.k.NextDeadline(); !ok || !d.Equal(at(secs(10+kernel.DefaultMaxTimeoutSeconds))) {
			t.Errorf("NextDeadline = %v %v, want t0+10s+max", d, ok)
		}
	})

	t.Run("INV-4_push_needs_desc_data_limit_8001_invitee_limit_6017", func(t *testing.T) {
		f := newFx(t, kernel.Config{MaxInvitees: 2})
		f.group("g", "alice", "bob", "carol", "dave")
		in := kernel.Invite("alice", "bob", "", 0)
		in.Push = &kernel.PushInfo{Title: "t", Ext: "e", Sound: "s"}
		f.fail(in, kernel.ErrInvalidParameters, "Push.Desc")
		f.fail(kernel.Invite("alice", "bob", strings.Repeat("d", kernel.DefaultMaxDataBytes+1), 0), kernel.ErrBodySizeLimit, "Data")
		f.fail(kernel.InviteInGroup("alice", "g", list("bob", "carol", "dave"), "", 0), kernel.ErrInvalidParameters, "Invitees")
		f.ok(kernel.InviteInGroup("alice", "g", list("bob", "carol"), strings.Repeat("d", kernel.DefaultMaxDataBytes), 0))
		in.Push.Desc = "incoming call"
		f.ok(in)
	})

	t.Run("INV-5_online_invitees_receive_ReceiveNewInvitation_inviter_does_not", func(t *testing.T) {
		f := newFx(t, kernel.Config{})
		f.connect("alice", "a1", "a2")
		f.connect("bob", "b1", "b2")
		f.connect("dave", "d1")
		f.connect("eve", "e1")
		f.group("g", "alice", "bob", "carol", "dave", "eve")
		id, outs := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol", "dave"), "room", 20))
		v := inv{id, "alice", "g", list("bob", "carol", "dave"), 20}
		wantOutputs(t, outs, seq(
			deliver(evNew(id, "alice", "g", list("bob", "carol", "dave"), "room"), "bob/b1", "bob/b2", "dave/d1"),
			v.hist(kernel.ActionInvite, "alice", t0, list("bob", "carol", "dave"), "room")))
		id2, outs := f.okID(kernel.Invite("bob", "alice", "1:1", 0))
		v2 := inv{id2, "bob", "", list("alice"), 0}
		wantOutputs(t, outs, seq(
			deliver(evNew(id2, "bob", "", list("alice"), "1:1"), "alice/a1", "alice/a2"),
			v2.hist(kernel.ActionInvite, "bob", t0, list("alice"), "1:1")))
	})

	t.Run("INV-6_invite_ID_in_use_is_8012", func(t *testing.T) {
		f := world(t)
		id, _ := f.okID(withID(kernel.Invite("alice", "bob", "", 0), "call-1"))
		if id != "call-1" {
			t.Fatalf("chosen ID came back as %q", id)
		}
		res := f.fail(withID(kernel.Invite("carol", "dave", "", 0), "call-1"), kernel.ErrAlreadyExists, "InviteID")
		if res.InviteID != "call-1" {
			t.Errorf("Result.InviteID = %q, want call-1", res.InviteID)
		}
		f.fail(withID(kernel.InviteInGroup("carol", "g", list("dave"), "", 0), "call-1"), kernel.ErrAlreadyExists, "InviteID")
		// Unless IDM-1 applies: the same request retried is not 8012.
		first := withReq(withID(kernel.Invite("carol", "dave", "", 0), "call-2"), "req-9")
		f.ok(first)
		res, outs := f.do(first)
		if res.Err != nil || !res.Duplicate || res.InviteID != "call-2" || len(outs) != 0 {
			t.Errorf("retry: %+v with %d outputs, want the first result as a duplicate", res, len(outs))
		}
		// A closed invitation's ID is free again.
		f.ok(kernel.Cancel("alice", "call-1", ""))
		f.ok(withID(kernel.Invite("carol", "dave", "", 0), "call-1"))
	})
}

func TestRulesOnlineOnly(t *testing.T) {
	t.Run("ONL-1_offline_invitees_never_receive_an_online-only_invitation", func(t *testing.T) {
		f := world(t)
		f.ok(kernel.Disconnect("carol", "c1"))
		in := kernel.InviteInGroup("alice", "g", list("bob", "carol"), "x", 30)
		in.OnlineUserOnly = true
		id, outs := f.okID(in)
		wantOutputs(t, outs, deliver(evNew(id, "alice", "g", list("bob", "carol"), "x"), "bob/b1"))
		f.setNow(secs(1))
		if _, outs := f.okID(kernel.Connect("carol", "c1")); len(outs) != 0 {
			t.Errorf("carol connecting got:\n%s", formatOutputs(outs))
		}
		if _, outs := f.okID(kernel.Connect("bob", "b2")); len(outs) != 0 {
			t.Errorf("bob's new session got:\n%s", formatOutputs(outs))
		}
		// Nothing else of that invitation reaches carol either: not bob's
		// accept, nor her own timeout; the inviter still hears it.
		outs = f.ok(kernel.Accept("bob", id, "yes"))
		wantOutputs(t, outs, deliver(evAccepted(id, "bob", "yes"), "alice/a1", "alice/a2", "bob/b1", "bob/b2"))
		f.setNow(secs(30))
		_, outs = f.tick()
		wantOutputs(t, outs, deliver(evTimeout(id, "carol"), "alice/a1", "alice/a2"))
		// 1:1 with push info and the invitee offline: no push either.
		one := kernel.Invite("alice", "zed", "x", 30)
		one.OnlineUserOnly = true
		one.Push = &kernel.PushInfo{Desc: "call"}
		if _, outs := f.okID(one); len(outs) != 0 {
			t.Errorf("online-only invite of an offline user emitted:\n%s", formatOutputs(outs))
		}
		if _, outs := f.okID(kernel.Connect("zed", "z1")); len(outs) != 0 {
			t.Errorf("zed connecting got:\n%s", formatOutputs(outs))
		}
	})

	t.Run("ONL-2_no_history_for_an_online-only_invitation", func(t *testing.T) {
		f := world(t)
		in := kernel.InviteInGroup("alice", "g", list("bob", "carol", "dave"), "x", 10)
		in.OnlineUserOnly = true
		id, outs := f.okID(in)
		all := outs
		all = append(all, f.ok(kernel.Accept("bob", id, "a"))...)
		all = append(all, f.ok(kernel.Reject("carol", id, "r"))...)
		f.setNow(secs(10))
		_, outs = f.tick()
		wantOutputs(t, outs, seq(
			deliver(evTimeout(id, "dave"), "alice/a1", "alice/a2"),
			deliver(evTimeout(id, "dave"), "dave/d1")))
		all = append(all, outs...)
		in2 := kernel.Invite("alice", "bob", "x", 0)
		in2.OnlineUserOnly = true
		id2, outs := f.okID(in2)
		all = append(all, outs...)
		all = append(all, f.ok(kernel.Cancel("alice", id2, "c"))...)
		if n := countKind(all, outHistory); n != 0 || countKind(all, outEvent) != len(all) {
			t.Errorf("online-only invitations wrote %d history messages:\n%s", n, formatOutputs(all))
		}
		if len(all) == 0 {
			t.Fatal("no events at all")
		}
	})

	t.Run("ONL-3_an_online-only_invitation_cannot_be_modified_8011", func(t *testing.T) {
		f := world(t)
		in := kernel.Invite("alice", "bob", "x", 0)
		in.OnlineUserOnly = true
		id, _ := f.okID(in)
		f.fail(kernel.Modify("alice", id, "y"), kernel.ErrNoPermission, "InviteID")
		f.fail(kernel.Modify("bob", id, "y"), kernel.ErrNoPermission, "InviteID")
		f.fail(kernel.Modify("eve", id, "y"), kernel.ErrInvalidInviteID, "User") // participant check first
		f.ok(kernel.Accept("bob", id, ""))
	})
}

func TestRulesCancel(t *testing.T) {
	t.Run("CAN-1_only_the_inviter_cancels_invitee_8011_others_8010", func(t *testing.T) {
		f := world(t)
		id, _ := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol"), "", 0))
		f.fail(kernel.Cancel("bob", id, ""), kernel.ErrNoPermission, "User")
		f.fail(kernel.Cancel("carol", id, ""), kernel.ErrNoPermission, "User")
		f.fail(kernel.Cancel("eve", id, ""), kernel.ErrInvalidInviteID, "User")
		f.fail(kernel.Cancel("dave", id, ""), kernel.ErrInvalidInviteID, "User") // group member, not invited
		f.fail(kernel.Cancel("alice", "nosuch", ""), kernel.ErrInvalidInviteID, "InviteID")
		f.ok(kernel.Cancel("alice", id, ""))
	})

	t.Run("CAN-2_cancel_of_a_closed_invitation_is_8010", func(t *testing.T) {
		f := world(t)
		acc, _ := f.okID(kernel.Invite("alice", "bob", "", 0))
		f.ok(kernel.Accept("bob", acc, ""))
		rej, _ := f.okID(kernel.Invite("alice", "bob", "", 0))
		f.ok(kernel.Reject("bob", rej, ""))
		tmo, _ := f.okID(kernel.Invite("alice", "bob", "", 5))
		mix, _ := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol"), "", 0))
		f.ok(kernel.Accept("bob", mix, ""))
		f.ok(kernel.Reject("carol", mix, ""))
		can, _ := f.okID(kernel.Invite("alice", "bob", "", 0))
		f.ok(kernel.Cancel("alice", can, ""))
		f.setNow(secs(5)).tick()
		for _, id := range []string{acc, rej, tmo, mix, can} {
			f.fail(kernel.Cancel("alice", id, ""), kernel.ErrInvalidInviteID, "InviteID")
		}
	})

	t.Run("CAN-3_cancel_closes_and_every_participant_receives_InvitationCancelled", func(t *testing.T) {
		f := world(t)
		id, _ := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol", "dave"), "x", 30))
		f.setNow(secs(1)).ok(kernel.Accept("bob", id, "yes"))
		outs := f.setNow(secs(3)).ok(kernel.Cancel("alice", id, "bye"))
		v := inv{id, "alice", "g", list("bob", "carol", "dave"), 30}
		wantOutputs(t, outs, seq(
			deliver(evCancelled(id, "alice", "bye"), "alice/a1", "alice/a2", "bob/b1", "carol/c1", "dave/d1"),
			v.hist(kernel.ActionCancel, "alice", at(secs(3)), list("bob", "carol", "dave"), "bye")))
		if f.k.Open() != 0 {
			t.Errorf("Open() = %d after cancel", f.k.Open())
		}
		if _, ok := f.k.NextDeadline(); ok {
			t.Errorf("a cancelled invitation still has a deadline")
		}
		f.fail(kernel.Accept("carol", id, ""), kernel.ErrInvalidInviteID, "InviteID")
		f.fail(kernel.Reject("dave", id, ""), kernel.ErrInvalidInviteID, "InviteID")
		f.setNow(secs(60))
		if res, outs := f.tick(); res.Changed || len(outs) != 0 {
			t.Errorf("a cancelled invitation timed out: %+v\n%s", res, formatOutputs(outs))
		}
	})
}

func TestRulesAnswer(t *testing.T) {
	for _, c := range []struct {
		name   string
		op     func(user, id, data string) kernel.Input
		ev     func(id, invitee, data string) kernel.Event
		action kernel.Action
	}{
		{"ACC", kernel.Accept, evAccepted, kernel.ActionAccept},
		{"REJ", kernel.Reject, evRejected, kernel.ActionReject},
	} {
		other := kernel.Reject
		if c.name == "REJ" {
			other = kernel.Accept
		}
		t.Run(c.name+"-1_only_an_invitee_may_answer_inviter_and_others_8010", func(t *testing.T) {
			f := world(t)
			id, _ := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol"), "", 0))
			f.fail(c.op("alice", id, ""), kernel.ErrInvalidInviteID, "User")
			f.fail(c.op("eve", id, ""), kernel.ErrInvalidInviteID, "User")
			f.fail(c.op("dave", id, ""), kernel.ErrInvalidInviteID, "User")
			f.fail(c.op("bob", "nosuch", ""), kernel.ErrInvalidInviteID, "InviteID")
			f.ok(c.op("bob", id, ""))
		})

		t.Run(c.name+"-2_only_a_pending_invitee_may_answer", func(t *testing.T) {
			f := world(t)
			id, _ := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol", "dave"), "", 10))
			f.ok(c.op("bob", id, ""))
			f.ok(other("carol", id, ""))
			// Still open (dave pending), but bob and carol have answered.
			f.fail(c.op("bob", id, ""), kernel.ErrInvalidInviteID, "User")
			f.fail(c.op("carol", id, ""), kernel.ErrInvalidInviteID, "User")
			// After timeout.
			f.setNow(secs(10))
			res, outs := f.do(c.op("dave", id, ""))
			checkErr(t, res.Err, kernel.ErrInvalidInviteID, "InviteID")
			if !res.Changed || len(outs) == 0 {
				t.Errorf("answer at the deadline: the timeout did not take effect first (%+v)", res)
			}
			// After cancel.
			can, _ := f.okID(kernel.Invite("alice", "bob", "", 0))
			f.ok(kernel.Cancel("alice", can, ""))
			f.fail(c.op("bob", can, ""), kernel.ErrInvalidInviteID, "InviteID")
		})

		t.Run(c.name+"-3_answer_changes_the_state_and_every_participant_is_told", func(t *testing.T) {
			f := world(t)
			id, _ := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol"), "x", 0))
			outs := f.setNow(secs(2)).ok(c.op("carol", id, "answer"))
			v := inv{id, "alice", "g", list("bob", "carol"), 0}
			wantOutputs(t, outs, seq(
				deliver(c.ev(id, "carol", "answer"), "alice/a1", "alice/a2", "bob/b1", "carol/c1"),
				v.hist(c.action, "carol", at(secs(2)), list("carol"), "answer")))
			// The state changed: carol is no longer pending, bob still is.
			f.fail(c.op("carol", id, ""), kernel.ErrInvalidInviteID, "User")
			if f.k.Open() != 1 {
				t.Errorf("Open() = %d, want 1 (bob pending)", f.k.Open())
			}
			// 1:1.
			one, _ := f.okID(kernel.Invite("dave", "alice", "", 0))
			outs = f.ok(c.op("alice", one, ""))
			v1 := inv{one, "dave", "", list("alice"), 0}
			wantOutputs(t, outs, seq(
				deliver(c.ev(one, "alice", ""), "dave/d1", "alice/a1", "alice/a2"),
				v1.hist(c.action, "alice", at(secs(2)), list("alice"), "")))
		})
	}
}

func TestRulesEnd(t *testing.T) {
	t.Run("END-1_the_last_pending_invitee_closes_the_invitation", func(t *testing.T) {
		f := world(t)
		id, _ := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol"), "", 30))
		f.ok(kernel.Accept("bob", id, ""))
		if f.k.Open() != 1 {
			t.Fatalf("Open() = %d with carol pending, want 1", f.k.Open())
		}
		f.ok(kernel.Modify("bob", id, "still open"))
		f.ok(kernel.Reject("carol", id, ""))
		if f.k.Open() != 0 {
			t.Fatalf("Open() = %d after the last answer, want 0", f.k.Open())
		}
		if _, ok := f.k.NextDeadline(); ok {
			t.Errorf("a closed invitation keeps its deadline")
		}
		f.fail(kernel.Cancel("alice", id, ""), kernel.ErrInvalidInviteID, "InviteID")
		f.fail(kernel.Accept("bob", id, ""), kernel.ErrInvalidInviteID, "InviteID")
		f.fail(kernel.Reject("carol", id, ""), kernel.ErrInvalidInviteID, "InviteID")
		f.fail(kernel.Modify("alice", id, ""), kernel.ErrInvalidInviteID, "InviteID")
		f.setNow(secs(31))
		if res, outs := f.tick(); res.Changed || len(outs) != 0 {
			t.Errorf("a closed invitation timed out: %+v", res)
		}
	})
}
