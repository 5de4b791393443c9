package kernel_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/beckonhq/beckon/kernel"
)

// ClosedCallParticipants reads the participants of every call as
// DecodeClosedCall does, and never reads past a damaged or cut encoding.
func TestClosedCallParticipants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 15))
	for i := range 2000 {
		c := kernel.ClosedCall{Index: rng.Uint64() >> rng.IntN(64), InviteID: fmt.Sprint("id-", i), Inviter: fmt.Sprint("u", rng.IntN(1000)),
			Group: []string{"", "g"}[rng.IntN(2)], Created: rng.Int64() - 1<<62, Closed: rng.Int64() - 1<<62}
		for j := range 1 + rng.IntN(5) {
			c.Invitees = append(c.Invitees, fmt.Sprint("v", j, "-", rng.IntN(1000)))
			c.States = append(c.States, kernel.Accepted)
		}
		b := kernel.AppendClosedCall(nil, &c)
		var got []string
		if !kernel.ClosedCallParticipants(b, func(u []byte) { got = append(got, string(u)) }) {
			t.Fatalf("call %d: refused %+v", i, c)
		}
		if want := slices.Collect(c.Participants); !slices.Equal(got, want) {
			t.Fatalf("call %d: read %q, want %q", i, got, want)
		}
		for n := range len(b) {
			kernel.ClosedCallParticipants(b[:n], func([]byte) {})
			d := slices.Clone(b)
			d[n] ^= byte(1 + rng.IntN(255))
			kernel.ClosedCallParticipants(d, func([]byte) {})
		}
	}
}
