package fuzz

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/beckonhq/beckon/conformance"
	"github.com/beckonhq/beckon/conformance/kernelharness"
	"pgregory.net/rapid"
)

// FuzzKernel runs the conformance suite's state machine
// (conformance.StateMachine) with the fuzzer's bytes as rapid's random
// source: random operations, malformed ones included, on the kernel and on
// the suite's reference model side by side, every result, event, history
// message, push request and their global order compared after each step.
// The kernel is conformance/kernelharness, driven as a durable runtime
// drives it (log, snapshots, restarts), which also checks at every call
// what only a kernel can show: a kernel restored from the snapshot before
// the call answers it alike, failures, retries and inputs no Op accepts do
// exactly what a Tick does, Changed, NextDeadline, and recovery rebuilding
// the crashed state.
func FuzzKernel(f *testing.F) {
	// Seeds: rapid reads its choices from these bytes; a few deterministic
	// streams of different lengths start the fuzzer at runs of different depth.
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 64, 256, 1024, 4096} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(rapid.MakeFuzz(conformance.StateMachine(kernelharness.New(kernelharness.Config(fuzzLimits)))))
}

// fuzzLimits are small, so that the state machine reaches every limit
// (and differ from the conformance package's own, for more variety).
var fuzzLimits = conformance.Limits{MaxIDBytes: 8, MaxInvitees: 3, MaxDataBytes: 16, MaxOpenPerInviter: 2,
	MaxTimeoutSeconds: 5, RequestIDWindow: 5 * time.Second, MaxRequestIDs: 3}
