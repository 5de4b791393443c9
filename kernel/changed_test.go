package kernel_test

// Result.Changed marks exactly the calls a driver makes durable (DLV-3):
// successes that changed something, and failures or retries that let a
// timeout fire; not the calls that changed nothing.

import (
	"testing"

	"github.com/beckonhq/beckon/kernel"
)

func TestChanged(t *testing.T) {
	f := world(t)
	inv1 := withReq(kernel.Invite("alice", "bob", "", 0), "r1")
	for i, st := range []struct {
		in                         kernel.Input
		changed, failed, duplicate bool
	}{
		{in: inv1, changed: true},
		{in: inv1, duplicate: true},
		{in: kernel.Invite("alice", "alice", "", 0), failed: true},
		{in: kernel.Accept("carol", "i1", ""), failed: true},
		{in: kernel.Modify("bob", "i1", "m"), changed: true},
		{in: withReq(kernel.Modify("bob", "i1", "m2"), "r2"), changed: true},
		{in: withReq(kernel.Modify("bob", "i1", "m2"), "r2"), duplicate: true},
		{in: withReq(kernel.Modify("bob", "i1", "m3"), "r2"), failed: true}, // IDM-2
		{in: kernel.Reject("bob", "i1", ""), changed: true},
		{in: kernel.Cancel("alice", "i1", ""), failed: true},
		{in: kernel.InviteInGroup("alice", "g", list("bob", "carol"), "", 5), changed: true},
		{in: kernel.Accept("bob", "i2", ""), changed: true},
		{in: kernel.Cancel("alice", "i2", ""), changed: true},
		{in: kernel.Connect("zed", "z1"), changed: true},
		{in: kernel.Connect("zed", "z1")}, // already connected
		{in: kernel.Disconnect("zed", "z1"), changed: true},
		{in: kernel.Disconnect("zed", "z1")}, // not connected
		{in: kernel.SetGroup("h", list("bob")), changed: true},
		{in: kernel.JoinGroup("h", "carol"), changed: true},
		{in: kernel.JoinGroup("h", "carol")},
		{in: kernel.LeaveGroup("h", "carol"), changed: true},
		{in: kernel.LeaveGroup("h", "carol")},
		{in: kernel.JoinGroup("nosuch", "carol"), failed: true},
		{in: kernel.Input{Op: kernel.OpTick}},
	} {
		res, _ := f.do(st.in)
		if res.Changed != st.changed || (res.Err != nil) != st.failed || res.Duplicate != st.duplicate {
			t.Errorf("step %d %s: got Changed=%v Err=%v Duplicate=%v, want Changed=%v failed=%v Duplicate=%v",
				i, st.in.Op, res.Changed, res.Err, res.Duplicate, st.changed, st.failed, st.duplicate)
		}
	}
	// A failure that lets a timeout fire, and a firing tick, are Changed.
	id, _ := f.okID(kernel.Invite("alice", "bob", "", 5))
	f.setNow(secs(5))
	if res, _ := f.do(kernel.Accept("eve", id, "")); res.Err == nil || !res.Changed {
		t.Errorf("failure at a deadline: got %+v, want an error with Changed", res)
	}
	f.okID(kernel.Invite("alice", "bob", "", 5))
	f.setNow(secs(10))
	if res, _ := f.tick(); !res.Changed || res.Err != nil {
		t.Errorf("firing tick: got %+v, want Changed", res)
	}
	if res, _ := f.tick(); res.Changed {
		t.Errorf("idle tick: got %+v, want not Changed", res)
	}
}
