package kernel

import (
	"context"
	"fmt"

	"github.com/looplab/fsm"
)

// State is where one invitee of an invitation stands.
type State uint8

// The invitee states. Pending is the only non-final one.
const (
	Pending State = iota
	Accepted
	Rejected
	TimedOut
	Cancelled

	stateCount = iota
)

var stateNames = [...]string{"pending", "accepted", "rejected", "timed_out", "cancelled"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// transition is what happens to one invitee.
type transition uint8

const (
	tAccept transition = iota
	tReject
	tTimeout
	tCancel

	transitionCount = iota
)

var transitionNames = [...]string{"accept", "reject", "timeout", "cancel"}

// lifecycleEvents declares the per-invitee lifecycle: the single source of
// truth. The hot path uses the table compiled from it (lifecycle below).
func lifecycleEvents() fsm.Events {
	p := stateNames[Pending]
	return fsm.Events{
		{Name: transitionNames[tAccept], Src: []string{p}, Dst: stateNames[Accepted]},
		{Name: transitionNames[tReject], Src: []string{p}, Dst: stateNames[Rejected]},
		{Name: transitionNames[tTimeout], Src: []string{p}, Dst: stateNames[TimedOut]},
		{Name: transitionNames[tCancel], Src: []string{p}, Dst: stateNames[Cancelled]},
	}
}

// newLifecycleFSM returns the declared lifecycle as a looplab/fsm machine
// standing in state s.
func newLifecycleFSM(s State) *fsm.FSM {
	return fsm.NewFSM(stateNames[s], lifecycleEvents(), nil)
}

// noState marks a transition the lifecycle forbids.
const noState State = 0xff

// lifecycle is the dense table compiled once from the fsm declaration:
// lifecycle[from][t] is the next state, or noState.
var lifecycle = compileLifecycle()

func compileLifecycle() (table [stateCount][transitionCount]State) {
	for s := State(0); s < stateCount; s++ {
		for t := transition(0); t < transitionCount; t++ {
			table[s][t] = noState
			f := newLifecycleFSM(s)
			// Never a cancellable context: looplab/fsm wedges on one.
			if err := f.Event(context.Background(), transitionNames[t]); err != nil {
				continue
			}
			table[s][t] = stateByName(f.Current())
		}
	}
	return table
}

func stateByName(name string) State {
	for i, n := range stateNames {
		if n == name {
			return State(i)
		}
	}
	panic("kernel: lifecycle declares unknown state " + name)
}

// LifecycleDiagram returns the per-invitee lifecycle as a Mermaid state
// diagram, generated from the fsm declaration (docs/lifecycle.md holds it).
func LifecycleDiagram() (string, error) {
	return fsm.VisualizeWithType(newLifecycleFSM(Pending), fsm.MERMAID)
}
