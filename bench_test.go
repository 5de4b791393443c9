package beckon_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/kernel"
)

// benchClients is how many goroutines call the runtime at once.
const benchClients = 64

// BenchmarkInviteAccept measures signaling operations per second end to end
// through the runtime with the memory adapters (store and hub): 64
// goroutines, each with its own inviter and invitee logged in, invite 1:1
// with a 30 s timeout then accept, over and over. One op is one Invite or
// one Accept; ns/op is the runtime's. Beside it, in the same run, the same
// ops go through the kernel alone in a single goroutine. Metrics:
//
//	kernel-ops/s, runtime-ops/s  the two rates (wall clock)
//	runtime/kernel               their ratio
//	kernel-cpu-ns/op, runtime-cpu-ns/op
//	                             CPU time (user+system, whole process) per op
//	                             of each phase, which other processes on the
//	                             machine disturb less than the rates
func BenchmarkInviteAccept(b *testing.B) {
	b.StopTimer()
	cpu0 := cpuTime()
	kernelRate := benchKernel(b, b.N)
	kernelCPU := cpuTime() - cpu0

	rt, err := beckon.New(beckon.WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	inviters := make([]*beckon.Client, benchClients)
	invitees := make([]*beckon.Client, benchClients)
	for i := range benchClients {
		if inviters[i], err = rt.Login(ctx, "a"+strconv.Itoa(i), "s", nil); err != nil {
			b.Fatal(err)
		}
		if invitees[i], err = rt.Login(ctx, "b"+strconv.Itoa(i), "s", nil); err != nil {
			b.Fatal(err)
		}
	}
	pairs := (b.N + 2*benchClients - 1) / (2 * benchClients)
	ops := 2 * pairs * benchClients
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.StartTimer()
	start, cpu1 := time.Now(), cpuTime()
	for i := range benchClients {
		wg.Go(func() {
			for range pairs {
				id, err := inviters[i].Invite(ctx, invitees[i].User(), benchData, beckon.TimeoutSeconds(30))
				if err != nil {
					b.Error(err)
					return
				}
				if err := invitees[i].Accept(ctx, id, benchData); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed, runtimeCPU := time.Since(start), cpuTime()-cpu1
	b.StopTimer()
	runtimeRate := float64(ops) / elapsed.Seconds()
	b.ReportMetric(kernelRate, "kernel-ops/s")
	b.ReportMetric(runtimeRate, "runtime-ops/s")
	b.ReportMetric(runtimeRate/kernelRate, "runtime/kernel")
	b.ReportMetric(float64(kernelCPU.Nanoseconds())/float64(2*((b.N+1)/2)), "kernel-cpu-ns/op")
	b.ReportMetric(float64(runtimeCPU.Nanoseconds())/float64(ops), "runtime-cpu-ns/op")
}

// benchData is the 16 bytes of data every benchmark operation carries.
const benchData = "0123456789abcdef"

// benchKernel applies n of the same ops to a kernel alone, in one
// goroutine, with the runtime's default invite IDs (UUIDs), and returns
// the ops per second.
func benchKernel(b *testing.B, n int) float64 {
	k := kernel.New(kernel.Config{IDs: beckon.UUIDInviteIDs(nil)})
	t0 := time.Unix(1_700_000_000, 0)
	invites := make([]kernel.Input, benchClients)
	for i := range benchClients {
		inviter, invitee := "a"+strconv.Itoa(i), "b"+strconv.Itoa(i)
		k.Apply(t0, kernel.Connect(inviter, "s"))
		k.Apply(t0, kernel.Connect(invitee, "s"))
		invites[i] = kernel.Input{Op: kernel.OpInvite, User: inviter, Session: "s", Invitees: []string{invitee}, Data: benchData, Timeout: 30}
	}
	pairs := (n + 1) / 2
	start := time.Now()
	for p := range pairs {
		i := p % benchClients
		res, _ := k.Apply(t0, invites[i])
		if res.Err != nil {
			b.Fatal(res.Err)
		}
		accept := kernel.Input{Op: kernel.OpAccept, User: invites[i].Invitees[0], Session: "s", InviteID: res.InviteID, Data: benchData}
		if res, _ = k.Apply(t0, accept); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	return float64(2*pairs) / time.Since(start).Seconds()
}
