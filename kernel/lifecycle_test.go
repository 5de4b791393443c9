package kernel

import (
	"context"
	"errors"
	"flag"
	"os"
	"testing"

	"github.com/looplab/fsm"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/lifecycle.md from the fsm declaration")

// TestLifecycleTableAgreesWithFSM walks every (standing, operation) cell
// and requires the compiled table to give what looplab/fsm gives.
func TestLifecycleTableAgreesWithFSM(t *testing.T) {
	for s := standing(0); s < standingCount; s++ {
		for tr := transition(0); tr < transitionCount; tr++ {
			f := fsm.NewFSM(standingNames[s], lifecycleEvents(), nil)
			can := f.Can(transitionNames[tr])
			err := f.Event(context.Background(), transitionNames[tr])
			c := lifecycle[s][tr]
			var got string
			switch {
			case !c.declared:
				got = "(undeclared)"
			case c.refusal != nil:
				got = c.refusal.name
			case c.next == noState:
				got = modified
			default:
				got = c.next.String()
			}
			want := f.Current()
			if errors.As(err, new(fsm.InvalidEventError)) {
				want = "(undeclared)"
			} else if err != nil {
				t.Fatalf("%s --%s-->: fsm: %v", standingNames[s], transitionNames[tr], err)
			}
			if got != want || can != c.declared {
				t.Errorf("%s --%s-->: table gives %s (declared %v), fsm gives %s (Can %v)",
					standingNames[s], transitionNames[tr], got, c.declared, want, can)
			}
		}
	}
}

// TestLifecycleRules states the rules cell by cell, apart from the
// declaration: each (standing, operation) gives this state or this code.
func TestLifecycleRules(t *testing.T) {
	const (
		e8010 = 8010
		e8011 = 8011
		ok    = 0
	)
	type want struct {
		code int
		next State // when ok; noState for modify
	}
	invitees := []standing{sPending, sAccepted, sRejected, sPendingOnline, sAcceptedOnline, sRejectedOnline}
	cases := map[[2]uint8]want{}
	set := func(_ string, ss []standing, tr transition, w want) { // the rule names document the case
		for _, s := range ss {
			cases[[2]uint8{uint8(s), uint8(tr)}] = w
		}
	}
	for _, tr := range []transition{tCancel, tAccept, tReject, tModify} {
		set("END-1, CAN-2", []standing{sClosed}, tr, want{e8010, noState})
	}
	set("CAN-1, CAN-3", []standing{sInviter, sInviterOnline}, tCancel, want{ok, Cancelled})
	set("CAN-1", invitees, tCancel, want{e8011, noState})
	set("CAN-1", []standing{sOther, sOtherOnline}, tCancel, want{e8010, noState})
	for _, tr := range []transition{tAccept, tReject} {
		set("ACC-1, REJ-1", []standing{sInviter, sInviterOnline, sOther, sOtherOnline}, tr, want{e8010, noState})
		set("ACC-2, REJ-2", []standing{sAccepted, sRejected, sAcceptedOnline, sRejectedOnline}, tr, want{e8010, noState})
	}
	set("ACC-3", []standing{sPending, sPendingOnline}, tAccept, want{ok, Accepted})
	set("REJ-3", []standing{sPending, sPendingOnline}, tReject, want{ok, Rejected})
	set("MOD-1, MOD-2", []standing{sInviter, sPending, sAccepted, sRejected}, tModify, want{ok, noState})
	set("ONL-3", []standing{sInviterOnline, sPendingOnline, sAcceptedOnline, sRejectedOnline}, tModify, want{e8011, noState})
	set("MOD-2", []standing{sOther, sOtherOnline}, tModify, want{e8010, noState})
	set("TMO-1", []standing{sPending, sPendingOnline}, tTimeout, want{ok, TimedOut})

	for s := standing(0); s < standingCount; s++ {
		for tr := transition(0); tr < transitionCount; tr++ {
			c := lifecycle[s][tr]
			w, stated := cases[[2]uint8{uint8(s), uint8(tr)}]
			if !stated {
				if c.declared {
					t.Errorf("%s --%s-->: declared, but no rule says what it does", standingNames[s], transitionNames[tr])
				}
				continue
			}
			code := 0
			if c.refusal != nil {
				code = c.refusal.class.Code()
			}
			if !c.declared || code != w.code || (code == 0 && c.next != w.next) {
				t.Errorf("%s --%s-->: got code %d next %v (declared %v), want code %d next %v",
					standingNames[s], transitionNames[tr], code, c.next, c.declared, w.code, w.next)
			}
		}
	}
}

// TestLifecycleDocIsCurrent keeps docs/lifecycle.md generated from the
// declaration; run `go test ./kernel -run LifecycleDoc -update` to refresh it.
func TestLifecycleDocIsCurrent(t *testing.T) {
	want := "# Invitation lifecycle\n\n" +
		"Generated from the looplab/fsm declaration in `kernel/lifecycle.go` by\n" +
		"`go test ./kernel -run LifecycleDoc -update`; do not edit by hand.\n\n" +
		"Each invitee of an invitation starts `pending`; every other state is final,\n" +
		"and the invitation is open while any invitee is pending. A row is where the\n" +
		"caller stands toward the invitation it names (for `timeout`, each pending\n" +
		"invitee); a cell is the state the operation moves invitees to (the caller\n" +
		"for accept and reject, every pending invitee for cancel and timeout), or\n" +
		"the SDK error code it fails with. An empty cell never happens.\n\n" +
		lifecycleTable()
	const path = "../docs/lifecycle.md"
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./kernel -run LifecycleDoc -update to create it)", err)
	}
	if string(got) != want {
		t.Errorf("%s is stale: run go test ./kernel -run LifecycleDoc -update", path)
	}
}
