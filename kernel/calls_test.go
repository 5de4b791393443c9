package kernel_test

// End-to-end calls with exact output lists.

import (
	"bytes"
	"testing"

	"github.com/beckonhq/beckon/kernel"
)

// TestCallOneToOne: alice (two devices) calls bob, bob accepts on his
// phone; both of alice's devices and both of bob's are told.
func TestCallOneToOne(t *testing.T) {
	f := newFx(t, kernel.Config{})
	f.connect("alice", "laptop", "phone")
	f.connect("bob", "phone", "tablet")
	f.connect("carol", "phone")

	in := kernel.Invite("alice", "bob", `{"call":"video"}`, 30)
	in.Session = "laptop"
	in.Push = &kernel.PushInfo{Title: "Alice", Desc: "Video call"}
	id, outs := f.okID(in)
	call := inv{id, "alice", "", list("bob"), 30}
	wantOutputs(t, outs, seq(
		deliver(evNew(id, "alice", "", list("bob"), `{"call":"video"}`), "bob/phone", "bob/tablet"),
		call.hist(kernel.ActionInvite, "alice", t0, list("bob"), `{"call":"video"}`))) // bob online: no push
	if d, ok := f.k.NextDeadline(); !ok || !d.Equal(at(secs(30))) {
		t.Errorf("NextDeadline = %v %v", d, ok)
	}

	acc := kernel.Accept("bob", id, "accepted on phone")
	acc.Session = "phone"
	outs = f.setNow(secs(4)).ok(acc)
	wantOutputs(t, outs, seq(
		deliver(evAccepted(id, "bob", "accepted on phone"), "alice/laptop", "alice/phone", "bob/phone", "bob/tablet"),
		call.hist(kernel.ActionAccept, "bob", at(secs(4)), list("bob"), "accepted on phone")))
	if f.k.Open() != 0 {
		t.Errorf("Open() = %d after the call was accepted", f.k.Open())
	}
	if _, ok := f.k.NextDeadline(); ok {
		t.Errorf("the accepted call still has a deadline")
	}
	f.setNow(secs(30))
	if res, outs := f.tick(); res.Changed || len(outs) != 0 {
		t.Errorf("tick at the old deadline: %+v\n%s", res, formatOutputs(outs))
	}
}

// TestCallGroup: alice invites bob, carol and dave in group g; bob
// accepts, carol rejects, dave never answers and times out. eve, online
// and in the group, never hears of it.
func TestCallGroup(t *testing.T) {
	f := newFx(t, kernel.Config{})
	for _, u := range []string{"alice", "bob", "carol", "dave", "eve"} {
		f.connect(u, "s1")
	}
	f.connect("dave", "s2")
	f.group("g", "alice", "bob", "carol", "dave", "eve")

	f.setNow(secs(1))
	id, outs := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol", "dave"), "room-7", 20))
	call := inv{id, "alice", "g", list("bob", "carol", "dave"), 20}
	wantOutputs(t, outs, seq(
		deliver(evNew(id, "alice", "g", list("bob", "carol", "dave"), "room-7"), "bob/s1", "carol/s1", "dave/s1", "dave/s2"),
		call.hist(kernel.ActionInvite, "alice", at(secs(1)), list("bob", "carol", "dave"), "room-7")))

	outs = f.setNow(secs(3)).ok(kernel.Accept("bob", id, "joining"))
	wantOutputs(t, outs, seq(
		deliver(evAccepted(id, "bob", "joining"), "alice/s1", "bob/s1", "carol/s1", "dave/s1", "dave/s2"),
		call.hist(kernel.ActionAccept, "bob", at(secs(3)), list("bob"), "joining")))

	outs = f.setNow(secs(5)).ok(kernel.Reject("carol", id, "busy"))
	wantOutputs(t, outs, seq(
		deliver(evRejected(id, "carol", "busy"), "alice/s1", "bob/s1", "carol/s1", "dave/s1", "dave/s2"),
		call.hist(kernel.ActionReject, "carol", at(secs(5)), list("carol"), "busy")))
	if f.k.Open() != 1 {
		t.Fatalf("Open() = %d with dave pending", f.k.Open())
	}

	f.now = at(secs(21) - 1)
	if res, outs := f.tick(); res.Changed || len(outs) != 0 {
		t.Fatalf("early tick: %+v\n%s", res, formatOutputs(outs))
	}
	f.setNow(secs(21))
	res, outs := f.tick()
	if !res.Changed || res.Err != nil {
		t.Errorf("deadline tick: %+v", res)
	}
	wantOutputs(t, outs, seq(
		deliver(evTimeout(id, "dave"), "alice/s1"),
		deliver(evTimeout(id, "dave"), "dave/s1", "dave/s2"),
		call.hist(kernel.ActionTimeout, "alice", at(secs(21)), list("dave"), "")))
	if f.k.Open() != 0 {
		t.Errorf("Open() = %d after the timeout", f.k.Open())
	}
	f.fail(kernel.Accept("dave", id, ""), kernel.ErrInvalidInviteID, "InviteID")
}

// TestCallModify: the inviter changes the data; the deadline stays, and a
// device coming online later rings with the new data.
func TestCallModify(t *testing.T) {
	f := newFx(t, kernel.Config{})
	f.connect("alice", "a1")
	f.connect("bob", "b1")
	id, _ := f.okID(kernel.Invite("alice", "bob", "audio", 60))
	call := inv{id, "alice", "", list("bob"), 60}
	outs := f.setNow(secs(10)).ok(kernel.Modify("alice", id, "video"))
	wantOutputs(t, outs, seq(
		deliver(evModified(id, "video"), "alice/a1", "bob/b1"),
		call.hist(kernel.ActionModify, "alice", at(secs(10)), list("bob"), "video")))
	if d, ok := f.k.NextDeadline(); !ok || !d.Equal(at(secs(60))) {
		t.Errorf("NextDeadline = %v %v after modify, want t0+60s", d, ok)
	}
	outs = f.setNow(secs(20)).ok(kernel.Connect("bob", "b2"))
	wantOutputs(t, outs, deliver(evNew(id, "alice", "", list("bob"), "video"), "bob/b2"))
	f.setNow(secs(60))
	_, outs = f.tick()
	wantOutputs(t, outs, seq(
		deliver(evTimeout(id, "bob"), "alice/a1", "bob/b1", "bob/b2"),
		call.hist(kernel.ActionTimeout, "alice", at(secs(60)), list("bob"), "")))
}

// TestCallClockNeverGoesBack: an input at a time before the latest seen
// is applied at the latest time.
func TestCallClockNeverGoesBack(t *testing.T) {
	f := newFx(t, kernel.Config{})
	f.setNow(secs(100))
	f.tick()
	f.setNow(secs(50))
	id, outs := f.okID(kernel.Invite("alice", "bob", "", 10))
	if len(outs) != 1 || outs[0].History.At != at(secs(100)).UnixNano() {
		t.Errorf("history of an invite given t0+50s after t0+100s:\n%s", formatOutputs(outs))
	}
	if !f.k.Now().Equal(at(secs(100))) {
		t.Errorf("Now() = %v, want t0+100s", f.k.Now())
	}
	if d, ok := f.k.NextDeadline(); !ok || !d.Equal(at(secs(110))) {
		t.Errorf("deadline %v, want t0+110s (created at t0+100s)", d)
	}
	f.setNow(secs(105))
	f.ok(kernel.Accept("bob", id, ""))
}

// TestCallRecipientOrder: a user's sessions hear in connection order, not
// by name; a session that reconnects comes last. The acting session hears
// too, and eve, online but no participant, hears nothing.
func TestCallRecipientOrder(t *testing.T) {
	f := newFx(t, kernel.Config{})
	f.connect("bob", "zz", "aa", "mm")
	f.connect("alice", "a1")
	f.connect("eve", "e1")
	id, outs := f.okID(kernel.Invite("alice", "bob", "", 0))
	call := inv{id, "alice", "", list("bob"), 0}
	wantOutputs(t, outs, seq(
		deliver(evNew(id, "alice", "", list("bob"), ""), "bob/zz", "bob/aa", "bob/mm"),
		call.hist(kernel.ActionInvite, "alice", t0, list("bob"), "")))
	f.ok(kernel.Disconnect("bob", "aa"))
	in := kernel.Modify("bob", id, "m")
	in.Session = "mm"
	wantOutputs(t, f.ok(in), seq(
		deliver(evModified(id, "m"), "alice/a1", "bob/zz", "bob/mm"),
		call.hist(kernel.ActionModify, "bob", t0, list("bob"), "m")))
	f.connect("bob", "aa")
	in = kernel.Cancel("alice", id, "bye")
	in.Session = "a1"
	wantOutputs(t, f.ok(in), seq(
		deliver(evCancelled(id, "alice", "bye"), "alice/a1", "bob/zz", "bob/mm", "bob/aa"),
		call.hist(kernel.ActionCancel, "alice", t0, list("bob"), "bye")))
}

// TestCallPush: bob is offline, so his invitation's history is followed by
// a push request; the kernel keeps its own copy of the push info: a caller
// reusing its PushInfo after Apply does not change the invitation.
func TestCallPush(t *testing.T) {
	f := newFx(t, kernel.Config{})
	p := &kernel.PushInfo{Title: "Alice", Desc: "is calling", Ext: `{"k":1}`, Sound: "ring.caf"}
	in := kernel.Invite("alice", "bob", "d", 30)
	in.Push = p
	id, outs := f.okID(in)
	wantOutputs(t, outs, seq(
		inv{id, "alice", "", list("bob"), 30}.hist(kernel.ActionInvite, "alice", t0, list("bob"), "d"),
		pushOut("bob", id, "alice", "d", *p)))
	p.Desc = "changed by the caller"
	if snap := f.k.Snapshot(); bytes.Contains(snap, []byte("changed by the caller")) || !bytes.Contains(snap, []byte("is calling")) {
		t.Errorf("the invitation's push info: got the caller's PushInfo after Apply, want the kernel's own copy")
	}
}
