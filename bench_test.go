package beckon_test

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/internal/loadtest"
	"github.com/beckonhq/beckon/kernel"
)

// benchClients is how many goroutines call the runtime at once.
const benchClients = 64

// benchSlices is how many slices each side of BenchmarkInviteAccept runs in,
// alternating.
const benchSlices = 8

// BenchmarkInviteAccept measures signaling operations per second end to end
// through the runtime with the memory adapters (store and hub): 64
// goroutines, each with its own inviter and invitee logged in, invite 1:1
// with a 30 s timeout then accept, over and over. One op is one Invite or
// one Accept; ns/op is the runtime's. Beside it, in the same run, the same
// ops go through the kernel alone in a single goroutine.
//
// The two sides take turns, in 8 slices each (kernel, runtime, kernel,
// ...), each kernel slice after a garbage collection, so that a change in
// the host's speed during the run (these machines are shared) slows both
// alike instead of one. Metrics:
//
//	kernel-ops/s, runtime-ops/s  the two rates (wall clock, summed over
//	                             each side's slices)
//	runtime/kernel               their ratio
//	kernel-cpu-ns/op, runtime-cpu-ns/op
//	                             CPU time (user+system, whole process) per op
//	                             of each side, which other processes on the
//	                             machine disturb less than the rates
func BenchmarkInviteAccept(b *testing.B) {
	b.StopTimer()
	k := newBenchKernel()
	rt, err := beckon.New(beckon.WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	clients := loadtest.Login(b, rt, benchClients)
	// Each runtime slice makes every client do pairs invite/accept pairs;
	// the kernel slice before it applies as many ops.
	pairs := max(1, (b.N+2*benchClients*benchSlices-1)/(2*benchClients*benchSlices))
	sliceOps := 2 * pairs * benchClients
	var kernelWall, kernelCPU, runtimeWall, runtimeCPU time.Duration
	b.ReportAllocs()
	for range benchSlices {
		runtime.GC()
		start, cpu := time.Now(), cpuTime()
		k.run(b, sliceOps)
		kernelWall, kernelCPU = kernelWall+time.Since(start), kernelCPU+cpuTime()-cpu

		b.StartTimer()
		start, cpu = time.Now(), cpuTime()
		clients.Run(b, pairs)
		runtimeWall, runtimeCPU = runtimeWall+time.Since(start), runtimeCPU+cpuTime()-cpu
		b.StopTimer()
	}
	ops := float64(benchSlices * sliceOps)
	kernelRate, runtimeRate := ops/kernelWall.Seconds(), ops/runtimeWall.Seconds()
	b.ReportMetric(kernelRate, "kernel-ops/s")
	b.ReportMetric(runtimeRate, "runtime-ops/s")
	b.ReportMetric(runtimeRate/kernelRate, "runtime/kernel")
	b.ReportMetric(float64(kernelCPU.Nanoseconds())/ops, "kernel-cpu-ns/op")
	b.ReportMetric(float64(runtimeCPU.Nanoseconds())/ops, "runtime-cpu-ns/op")
}

// benchKernel is the kernel side of BenchmarkInviteAccept: a kernel alone,
// with the runtime's default invite IDs (UUIDs), and the benchmark's users
// connected.
type benchKernel struct {
	k       *kernel.Kernel
	invites []kernel.Input
	next    int // the client whose pair comes next
}

func newBenchKernel() *benchKernel {
	k := &benchKernel{k: kernel.New(kernel.Config{IDs: beckon.UUIDInviteIDs(nil)}), invites: make([]kernel.Input, benchClients)}
	for i := range benchClients {
		inviter, invitee := "a"+strconv.Itoa(i), "b"+strconv.Itoa(i)
		k.k.Apply(benchT0, kernel.Connect(inviter, "s"))
		k.k.Apply(benchT0, kernel.Connect(invitee, "s"))
		k.invites[i] = kernel.Input{Op: kernel.OpInvite, User: inviter, Session: "s", Invitees: []string{invitee}, Data: loadtest.Data, Timeout: 30}
	}
	return k
}

var benchT0 = time.Unix(1_700_000_000, 0)

// run applies n ops (n even): invite then accept, client after client, in
// one goroutine.
func (k *benchKernel) run(b *testing.B, n int) {
	for range n / 2 {
		inv := &k.invites[k.next]
		k.next = (k.next + 1) % benchClients
		st := k.k.Apply(benchT0, *inv)
		if st.Err != nil {
			b.Fatal(st.Err)
		}
		accept := kernel.Input{Op: kernel.OpAccept, User: inv.Invitees[0], Session: "s", InviteID: st.InviteID, Data: loadtest.Data}
		if st = k.k.Apply(benchT0, accept); st.Err != nil {
			b.Fatal(st.Err)
		}
	}
}

// BenchmarkHandoff measures the machine, not beckon: the round trip of a
// value sent to another goroutine and back, when that goroutine's thread
// is busy (hot) and when it has gone idle first (idle: the sender spins
// 50 us between trips, long enough for the other thread to sleep). With
// more than one P, the idle case includes waking a sleeping OS thread,
// which is what a pipeline of goroutines pays when a stage's thread runs
// out of work; on this project's 2-vCPU machine it costs about ten times
// the hot case (see BENCHMARKS.md). Metric: rtt-ns, the round trip.
func BenchmarkHandoff(b *testing.B) {
	for _, idle := range []bool{false, true} {
		name := "hot"
		if idle {
			name = "idle"
		}
		b.Run(name, func(b *testing.B) {
			ping, pong := make(chan int), make(chan int)
			go func() {
				for v := range ping {
					pong <- v
				}
			}()
			defer close(ping)
			var rtt time.Duration
			for i := 0; b.Loop(); i++ {
				if idle {
					for t := time.Now(); time.Since(t) < 50*time.Microsecond; {
					}
				}
				start := time.Now()
				ping <- i
				<-pong
				rtt += time.Since(start)
			}
			b.ReportMetric(float64(rtt.Nanoseconds())/float64(b.N), "rtt-ns")
		})
	}
}
