package kernel

import (
	"strconv"
	"testing"
	"time"
)

// TestStepRecord (DLV-3, DET-1): what a durable driver persists. A failed
// input that let a timeout fire is logged as a Tick, so that replay cannot
// turn its failure into a success.
func TestStepRecord(t *testing.T) {
	draws := []string{"ok-1", ""} // the second draw is invalid
	k := New(Config{IDs: IDSourceFunc(func() string { id := draws[0]; draws = draws[1:]; return id })})
	t0 := time.Unix(100, 0)

	in := Invite("alice", "bob", "d", 1)
	st := k.Apply(t0, in)
	if r := st.Record; !st.Log || r.Input.Op != OpInvite || r.Input.InviteID != "ok-1" || r.Input.User != "alice" ||
		r.Index != 0 || !r.At.Equal(t0) {
		t.Fatalf("successful invite: got Record %+v; want the input with InviteID ok-1 at %v, Index 0", r, t0)
	}

	// At t0+1s the first invitation times out, and this invite fails on
	// the drawn ID: log a Tick, not the invite.
	st = k.Apply(t0.Add(time.Second), in)
	if st.Err == nil || len(st.History) == 0 {
		t.Fatalf("got %+v; want a failure that fired the timeout", st.Result)
	}
	if r := st.Record; !st.Log || r.Input.Op != OpTick || r.Input.User != "" || !r.At.Equal(t0.Add(time.Second)) {
		t.Errorf("failed invite after a timeout: got Record %+v; want Input{Op: OpTick}", r)
	}

	// A failure that changed nothing is not logged at all.
	if st = k.Apply(t0.Add(2*time.Second), Accept("bob", "nope", "")); st.Log {
		t.Errorf("failed accept: Log with Record %+v, want nothing logged", st.Record)
	}
}

// TestProposedInviteID: the kernel takes the driver's proposal unless an
// open invitation has it; the Record carries the ID taken, not the
// proposal; a proposal where the caller chose the ID, or on an operation
// that creates no invitation, or malformed, is 6017.
func TestProposedInviteID(t *testing.T) {
	k := New(Config{})
	t0 := time.Unix(100, 0)
	in := Invite("alice", "bob", "", 0)
	in.ProposedInviteID = "p1"
	st := k.Apply(t0, in)
	if st.Err != nil || st.InviteID != "p1" {
		t.Fatalf("first proposal: got %+v, want invite ID p1", st.Result)
	}
	if r := st.Record.Input; r.InviteID != "p1" || r.ProposedInviteID != "" {
		t.Errorf("Record of a proposed ID: InviteID %q ProposedInviteID %q, want p1 and empty", r.InviteID, r.ProposedInviteID)
	}
	st = k.Apply(t0, in) // p1 is open: the kernel draws
	if st.Err != nil || st.InviteID == "p1" || st.InviteID == "" {
		t.Fatalf("proposal in use: got %+v, want a drawn ID", st.Result)
	}
	if r := st.Record.Input; r.InviteID != st.InviteID || r.ProposedInviteID != "" {
		t.Errorf("Record of a redrawn ID: InviteID %q ProposedInviteID %q, want %q and empty", r.InviteID, r.ProposedInviteID, st.InviteID)
	}
	bad := []Input{
		{Op: OpInvite, User: "alice", Invitees: []string{"bob"}, InviteID: "x", ProposedInviteID: "p2"},
		{Op: OpCancel, User: "alice", InviteID: "p1", ProposedInviteID: "p2"},
		{Op: OpInvite, User: "alice", Invitees: []string{"bob"}, ProposedInviteID: "bad\x00id"},
		{Op: OpInvite, User: "alice", Invitees: []string{"bob"}, ProposedInviteID: string(make([]byte, MaxInviteIDBytes+1))},
	}
	for _, in := range bad {
		st := k.Apply(t0, in)
		if Code(st.Err) != 6017 || st.Log {
			t.Errorf("%s with ProposedInviteID %q: got %v, Log %v; want 6017 and nothing logged", in.Op, in.ProposedInviteID, st.Err, st.Log)
		}
	}
}

// TestApplyAllocs keeps the hot path's allocations: an invite and an
// accept of 1:1 invitations between online users make two in all with a
// chosen or proposed ID, three with the default counter's (its string);
// the closed call of the accept's Step.Closed (REC-1) makes none.
func TestApplyAllocs(t *testing.T) {
	const pairs = 1024
	t0 := time.Unix(1_700_000_000, 0)
	for how, want := range map[string]float64{"chosen": 2, "proposed": 2, "drawn": 3} {
		k := New(Config{})
		invites := make([]Input, pairs)
		for i := range pairs {
			inviter, invitee := "a"+strconv.Itoa(i), "b"+strconv.Itoa(i)
			k.Apply(t0, Connect(inviter, "s"))
			k.Apply(t0, Connect(invitee, "s"))
			invites[i] = Invite(inviter, invitee, benchData, 30)
			switch how {
			case "chosen":
				invites[i].InviteID = "c" + strconv.Itoa(i)
			case "proposed":
				invites[i].ProposedInviteID = "c" + strconv.Itoa(i)
			}
		}
		n := 0
		allocs := testing.AllocsPerRun(200, func() {
			in := &invites[n%pairs]
			n++
			st := k.Apply(t0, *in)
			if st.Err != nil {
				t.Fatal(st.Err)
			}
			if st = k.Apply(t0, Accept(in.Invitees[0], st.InviteID, benchData)); st.Err != nil {
				t.Fatal(st.Err)
			}
		})
		if allocs > want {
			t.Errorf("%s IDs: invite+accept allocate %v times, want at most %v", how, allocs, want)
		}
	}
}
