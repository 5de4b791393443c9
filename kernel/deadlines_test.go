package kernel_test

// The deadline heap, seen through NextDeadline.

import (
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
)

func TestNextDeadline(t *testing.T) {
	f := world(t)
	want := func(what string, d time.Duration, ok bool) {
		t.Helper()
		got, gotOK := f.k.NextDeadline()
		if gotOK != ok || (ok && !got.Equal(at(d))) {
			t.Errorf("%s: NextDeadline() got %v %v, want t0+%v %v", what, got, gotOK, d, ok)
		}
	}
	f.ok(kernel.Invite("alice", "bob", "", 0))
	want("timeout 0", 0, false)
	a, _ := f.okID(kernel.Invite("alice", "carol", "", 10))
	f.setNow(secs(5))
	b, _ := f.okID(kernel.Invite("carol", "dave", "", 3))
	c, _ := f.okID(kernel.InviteInGroup("dave", "g", list("alice", "bob"), "", 20))
	want("the earliest of three", secs(8), true)
	f.ok(kernel.Modify("carol", b, "m"))
	want("after modify", secs(8), true)
	f.ok(kernel.Cancel("carol", b, ""))
	want("after cancel", secs(10), true)
	f.ok(kernel.Accept("carol", a, ""))
	want("after the last answer", secs(25), true)
	f.ok(kernel.Reject("alice", c, ""))
	want("one invitee left", secs(25), true)
	f.setNow(secs(25))
	f.tick()
	want("after the timeout", 0, false)
}
