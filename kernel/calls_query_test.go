package kernel_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
)

// openIDs lists the invite IDs OpenInvitations gives user, marking
// incoming ones with "<".
func openIDs(k *kernel.Kernel, user string) []string {
	var out []string
	for _, o := range k.OpenInvitations(user) {
		id := o.InviteID
		if o.Incoming {
			id = "<" + id
		}
		out = append(out, id)
	}
	return out
}

// TestOpenInvitations (QRY-1): a user lists the open invitations it made
// and those pending for it, in creation order, with their states, current
// data and deadline; never one ONL-1 hides, nor one it answered, nor
// anyone else's; listing changes nothing.
func TestOpenInvitations(t *testing.T) {
	f := newFx(t, kernel.Config{})
	f.connect("bob", "s")
	f.group("g", "alice", "bob", "carol")
	one := withID(kernel.Invite("alice", "bob", "d1", 30), "one")
	f.ok(one)
	f.ok(withID(kernel.InviteInGroup("alice", "g", list("bob", "carol"), "d2", 0), "grp"))
	onl := withID(kernel.Invite("alice", "carol", "", 0), "onl-carol") // carol is offline: ONL-1
	onl.OnlineUserOnly = true
	f.ok(onl)
	onb := withID(kernel.Invite("carol", "bob", "", 0), "onl-bob") // bob is online: reached
	onb.OnlineUserOnly = true
	f.ok(onb)
	f.ok(kernel.Modify("bob", "one", "d1b"))

	before := f.k.Snapshot()
	for user, want := range map[string][]string{
		"alice": {"one", "grp", "onl-carol"},
		"bob":   {"<one", "<grp", "<onl-bob"},
		"carol": {"<grp", "onl-bob"},
		"eve":   nil,
	} {
		if got := openIDs(f.k, user); !reflect.DeepEqual(got, want) {
			t.Errorf("OpenInvitations(%s): got %v, want %v", user, got, want)
		}
	}
	if !reflect.DeepEqual(f.k.Snapshot(), before) {
		t.Errorf("OpenInvitations changed the state")
	}
	got := f.k.OpenInvitations("bob")[0]
	want := kernel.OpenInvitation{InviteID: "one", Inviter: "alice", Invitees: list("bob"), States: []kernel.State{kernel.Pending},
		Data: "d1b", Created: t0, Deadline: t0.Add(30 * time.Second), Incoming: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OpenInvitations(bob)[0]:\n got %+v\nwant %+v", got, want)
	}
	if d := f.k.OpenInvitations("alice")[1].Deadline; !d.IsZero() {
		t.Errorf("deadline of an invitation with timeout 0: got %v, want zero", d)
	}

	// bob answers the group invite and the online-only one: they leave his
	// list (he no longer is a pending invitee), not the inviter's while open.
	f.ok(kernel.Accept("bob", "grp", ""))
	f.ok(kernel.Reject("bob", "onl-bob", ""))
	if got := openIDs(f.k, "bob"); !reflect.DeepEqual(got, list("<one")) {
		t.Errorf("OpenInvitations(bob) after answering: got %v, want [<one]", got)
	}
	g := f.k.OpenInvitations("alice")[1]
	if g.InviteID != "grp" || !reflect.DeepEqual(g.States, []kernel.State{kernel.Accepted, kernel.Pending}) {
		t.Errorf("OpenInvitations(alice)[1]: got %s %v, want grp [accepted pending]", g.InviteID, g.States)
	}
	if got := openIDs(f.k, "carol"); !reflect.DeepEqual(got, list("<grp")) {
		t.Errorf("OpenInvitations(carol) after her online-only invite closed: got %v, want [<grp]", got)
	}
	// the indexes survive a snapshot
	k := mustRestore(t, kernel.Config{}, f.k.Snapshot())
	for _, u := range []string{"alice", "bob", "carol"} {
		if a, b := openIDs(k, u), openIDs(f.k, u); !reflect.DeepEqual(a, b) {
			t.Errorf("OpenInvitations(%s) after Restore: got %v, want %v", u, a, b)
		}
	}
	f.setNow(secs(30)).tick()
	f.ok(kernel.Cancel("alice", "grp", ""))
	f.ok(kernel.Cancel("alice", "onl-carol", ""))
	for _, u := range []string{"alice", "bob", "carol"} {
		if got := openIDs(f.k, u); got != nil {
			t.Errorf("OpenInvitations(%s) once all closed: got %v, want none", u, got)
		}
	}
}

// TestOpenInvitationsCap: a user with more than MaxListedIncoming
// invitations pending gets the newest MaxListedIncoming.
func TestOpenInvitationsCap(t *testing.T) {
	f := newFx(t, kernel.Config{})
	n := kernel.MaxListedIncoming + 5
	for i := range n {
		f.ok(kernel.Invite("a"+itoa(i), "bob", "", 0))
	}
	l := f.k.OpenInvitations("bob")
	if len(l) != kernel.MaxListedIncoming || l[0].Inviter != "a5" || l[len(l)-1].Inviter != "a"+itoa(n-1) {
		t.Fatalf("OpenInvitations of %d pending: got %d from %s to %s, want %d from a5 to a%d",
			n, len(l), l[0].Inviter, l[len(l)-1].Inviter, kernel.MaxListedIncoming, n-1)
	}
}

// TestClosedCalls (REC-1): a Step lists the invitations it closed, with
// final states and close time, timeouts first; online-only ones never.
func TestClosedCalls(t *testing.T) {
	f := newFx(t, kernel.Config{})
	f.group("g", "alice", "bob", "carol", "dave")
	f.ok(withID(kernel.Invite("alice", "bob", "", 5), "t"))
	f.ok(withID(kernel.InviteInGroup("alice", "g", list("bob", "carol", "dave"), "", 0), "g1"))
	onl := withID(kernel.Invite("alice", "carol", "", 0), "o")
	onl.OnlineUserOnly = true
	f.ok(onl)
	f.ok(kernel.Accept("bob", "g1", ""))
	f.ok(kernel.Reject("carol", "g1", ""))
	if st := f.k.Apply(f.now, kernel.Cancel("alice", "o", "")); st.Err != nil || len(st.Closed) != 0 {
		t.Fatalf("cancel of an online-only invitation: got %v and %d closed calls, want none (ONL-2)", st.Err, len(st.Closed))
	}
	f.setNow(secs(5))
	st := f.k.Apply(f.now, kernel.Cancel("alice", "g1", "bye"))
	if st.Err != nil {
		t.Fatal(st.Err)
	}
	got := append([]kernel.ClosedCall(nil), st.Closed...)
	want := []kernel.ClosedCall{
		{InviteID: "t", Inviter: "alice", Invitees: list("bob"), States: []kernel.State{kernel.TimedOut},
			Created: t0.UnixNano(), Closed: at(secs(5)).UnixNano()},
		{InviteID: "g1", Inviter: "alice", Group: "g", Invitees: list("bob", "carol", "dave"),
			States:  []kernel.State{kernel.Accepted, kernel.Rejected, kernel.Cancelled},
			Created: t0.UnixNano(), Closed: at(secs(5)).UnixNano()},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Step.Closed:\n got %+v\nwant %+v", got, want)
	}
	for i, c := range got {
		b := kernel.AppendClosedCall(nil, &c)
		d, err := kernel.DecodeClosedCall(b)
		if c.Index = uint64(i); err != nil || !reflect.DeepEqual(d, got[i]) {
			t.Errorf("DecodeClosedCall(AppendClosedCall(%+v)): got %+v, %v", got[i], d, err)
		}
		for cut := range len(b) {
			if _, err := kernel.DecodeClosedCall(b[:cut]); err == nil {
				t.Errorf("DecodeClosedCall of %d of %d bytes: got no error", cut, len(b))
			}
		}
	}
}

// TestOutcome (REC-1): each participant's outcome of a closed call.
func TestOutcome(t *testing.T) {
	A, R, T, C := kernel.Accepted, kernel.Rejected, kernel.TimedOut, kernel.Cancelled
	for _, tc := range []struct {
		states  []kernel.State
		inviter kernel.Outcome
	}{
		{[]kernel.State{C, C}, kernel.OutcomeCancelled},
		{[]kernel.State{A, C}, kernel.OutcomeCancelled},
		{[]kernel.State{R, A}, kernel.OutcomeAnswered},
		{[]kernel.State{T, A}, kernel.OutcomeAnswered},
		{[]kernel.State{R, R}, kernel.OutcomeDeclined},
		{[]kernel.State{R, T}, kernel.OutcomeUnanswered},
		{[]kernel.State{T, T}, kernel.OutcomeUnanswered},
	} {
		c := kernel.ClosedCall{InviteID: "x", Inviter: "a", Invitees: list("b", "c"), States: tc.states}
		if o, ok := c.Outcome("a"); !ok || o != tc.inviter {
			t.Errorf("inviter's outcome of %v: got %v %v, want %v", tc.states, o, ok, tc.inviter)
		}
		for i, u := range c.Invitees {
			want := map[kernel.State]kernel.Outcome{A: kernel.OutcomeAccepted, R: kernel.OutcomeRejected,
				T: kernel.OutcomeMissed, C: kernel.OutcomeCancelled}[tc.states[i]]
			if o, ok := c.Outcome(u); !ok || o != want {
				t.Errorf("invitee %s's outcome of %v: got %v %v, want %v", u, tc.states, o, ok, want)
			}
		}
		if _, ok := c.Outcome("eve"); ok {
			t.Errorf("outcome of a non-participant: got ok, want not")
		}
	}
}
