// Package loadtest is the client workload of beckon's end-to-end
// benchmarks (the runtime's with the memory adapters, and bolt's): pairs
// of clients, each inviter inviting its invitee 1:1 and the invitee
// accepting, over and over, every pair on a goroutine of its own.
package loadtest

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/beckonhq/beckon"
)

// Data is the 16 bytes of data every operation carries.
const Data = "0123456789abcdef"

// Pairs are logged-in clients: Inviters[i] invites Invitees[i].
type Pairs struct {
	Inviters, Invitees []*beckon.Client
}

// Login logs in n inviters ("a0", "a1", ...) and n invitees ("b0", ...),
// each on session "s", without listeners.
func Login(tb testing.TB, rt *beckon.Runtime, n int) Pairs {
	tb.Helper()
	p := Pairs{Inviters: make([]*beckon.Client, n), Invitees: make([]*beckon.Client, n)}
	var err error
	for i := range n {
		if p.Inviters[i], err = rt.Login(context.Background(), "a"+strconv.Itoa(i), "s", beckon.ListenerFuncs{}); err != nil {
			tb.Fatal(err)
		}
		if p.Invitees[i], err = rt.Login(context.Background(), "b"+strconv.Itoa(i), "s", beckon.ListenerFuncs{}); err != nil {
			tb.Fatal(err)
		}
	}
	return p
}

// Run makes every pair, at once, invite (30 s timeout) then accept,
// rounds times: 2*rounds*len(p.Inviters) operations. It returns when every
// pair is done; a failed operation is reported with tb.Error and ends its
// pair's rounds.
func (p Pairs) Run(tb testing.TB, rounds int) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range p.Inviters {
		wg.Go(func() {
			for range rounds {
				id, err := p.Inviters[i].Invite(ctx, p.Invitees[i].User(), Data, beckon.TimeoutSeconds(30))
				if err != nil {
					tb.Error(err)
					return
				}
				if err := p.Invitees[i].Accept(ctx, id, Data); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
