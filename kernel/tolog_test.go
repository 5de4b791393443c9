package kernel

import (
	"testing"
	"time"
)

// TestToLog (DLV-3, DET-1): what a durable driver persists. A failed input
// that let a timeout fire is logged as a Tick, so that replay cannot turn
// its failure into a success.
func TestToLog(t *testing.T) {
	draws := []string{"ok-1", ""} // the second draw is invalid
	k := New(Config{IDs: IDSourceFunc(func() string { id := draws[0]; draws = draws[1:]; return id })})
	t0 := time.Unix(100, 0)

	in := Invite("alice", "bob", "d", 1)
	res, _ := k.Apply(t0, in)
	got, ok := res.ToLog(in)
	if !ok || got.Op != OpInvite || got.InviteID != "ok-1" || got.User != "alice" {
		t.Fatalf("successful invite: got %+v, %v; want the input with InviteID ok-1", got, ok)
	}

	// At t0+1s the first invitation times out, and this invite fails on
	// the drawn ID: log a Tick, not the invite.
	res, outs := k.Apply(t0.Add(time.Second), in)
	if res.Err == nil || !res.Changed || len(outs) == 0 {
		t.Fatalf("got %+v with %d outputs; want a failure that fired the timeout", res, len(outs))
	}
	if got, ok := res.ToLog(in); !ok || got.Op != OpTick || got.User != "" {
		t.Errorf("failed invite after a timeout: got %+v, %v; want Input{Op: OpTick}", got, ok)
	}

	// A failure that changed nothing is not logged at all.
	res, _ = k.Apply(t0.Add(2*time.Second), Accept("bob", "nope", ""))
	if _, ok := res.ToLog(in); ok || res.Changed {
		t.Errorf("failed accept: ToLog reports something to persist (%+v)", res)
	}
}
