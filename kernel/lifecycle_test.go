package kernel

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/lifecycle.md from the fsm declaration")

// TestLifecycleTableAgreesWithFSM walks every (state, event) pair and
// requires the compiled table to give what looplab/fsm gives.
func TestLifecycleTableAgreesWithFSM(t *testing.T) {
	transitions := 0
	for s := State(0); s < stateCount; s++ {
		for tr := transition(0); tr < transitionCount; tr++ {
			f := newLifecycleFSM(s)
			can := f.Can(transitionNames[tr])
			err := f.Event(context.Background(), transitionNames[tr])
			got := lifecycle[s][tr]
			switch {
			case err != nil && got != noState:
				t.Errorf("%s --%s-->: table gives %s, fsm refuses (%v)", s, transitionNames[tr], got, err)
			case err == nil && got.String() != f.Current():
				t.Errorf("%s --%s-->: table gives %s, fsm gives %s", s, transitionNames[tr], got, f.Current())
			case can != (got != noState):
				t.Errorf("%s --%s-->: fsm Can=%v, table allows=%v", s, transitionNames[tr], can, got != noState)
			}
			if got != noState {
				transitions++
			}
		}
	}
	// The rules: only a pending invitee moves, and to exactly one state per event.
	if transitions != int(transitionCount) {
		t.Errorf("got %d allowed transitions, want %d (each event only from pending)", transitions, transitionCount)
	}
	for tr, want := range [...]State{Accepted, Rejected, TimedOut, Cancelled} {
		if got := lifecycle[Pending][tr]; got != want {
			t.Errorf("pending --%s-->: got %s, want %s", transitionNames[tr], got, want)
		}
	}
}

// TestLifecycleDiagramIsCurrent keeps docs/lifecycle.md generated from the
// declaration; run `go test ./kernel -run Diagram -update` to refresh it.
func TestLifecycleDiagramIsCurrent(t *testing.T) {
	diagram, err := LifecycleDiagram()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stateNames {
		if !strings.Contains(diagram, s) {
			t.Errorf("diagram lacks state %q:\n%s", s, diagram)
		}
	}
	want := "# Invitee lifecycle\n\n" +
		"Generated from the looplab/fsm declaration in `kernel/lifecycle.go` by\n" +
		"`go test ./kernel -run Diagram -update`; do not edit by hand. Each invitee of an\n" +
		"invitation starts `pending`; every other state is final. An invitation is open\n" +
		"while any invitee is pending.\n\n```mermaid\n" + diagram + "```\n"
	const path = "../docs/lifecycle.md"
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != want {
		t.Errorf("%s is stale: run go test ./kernel -run Diagram -update", path)
	}
}
