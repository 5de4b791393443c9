package kernel

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/looplab/fsm"
)

// benchData is the 16 bytes of data every benchmark invitation carries.
const benchData = "0123456789abcdef"

// BenchmarkInviteAccept measures one command per op, alternating Invite
// and Accept of 1:1 invitations between 1024 online pairs (one session
// each), so every op also emits its events and history message.
func BenchmarkInviteAccept(b *testing.B) {
	const pairs = 1024
	k := New(Config{})
	t0 := time.Unix(1_700_000_000, 0)
	invites := make([]Input, pairs)
	accepts := make([]Input, pairs)
	for i := range pairs {
		inviter, invitee, id := "a"+strconv.Itoa(i), "b"+strconv.Itoa(i), "c"+strconv.Itoa(i)
		k.Apply(t0, Connect(inviter, "s"))
		k.Apply(t0, Connect(invitee, "s"))
		invites[i] = Invite(inviter, invitee, benchData, 30)
		invites[i].InviteID = id
		accepts[i] = Accept(invitee, id, benchData)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		i := (n / 2) % pairs
		in := &invites[i]
		if n%2 == 1 {
			in = &accepts[i]
		}
		if st := k.Apply(t0, *in); st.Err != nil {
			b.Fatal(st.Err)
		}
	}
}

// BenchmarkLooplabTransition is the baseline: the accept transition of one
// invitee driven through looplab/fsm directly (the declaration the kernel
// compiles into its table).
func BenchmarkLooplabTransition(b *testing.B) {
	f := fsm.NewFSM(standingNames[sPending], lifecycleEvents(), nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f.SetState(standingNames[sPending])
		if err := f.Event(ctx, transitionNames[tAccept]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTableTransition is the same transition through the compiled
// table the kernel's hot path uses.
func BenchmarkTableTransition(b *testing.B) {
	states := []State{Pending}
	b.ReportAllocs()
	for b.Loop() {
		states[0] = Pending
		c := &lifecycle[sPending+standing(states[0])][tAccept]
		if c.refusal != nil {
			b.Fatal("refused")
		}
		states[0] = c.next
	}
}

// openInvitations returns a kernel holding n open 1:1 invitations with
// 16-byte data and short IDs, all with a 30 s timeout from t0, invitees
// offline (so a timeout emits its history message and no event).
func openInvitations(tb testing.TB, n int, t0 time.Time) *Kernel {
	k := New(Config{MaxOpenPerInviter: n})
	for i := range n {
		in := Invite("a"+strconv.Itoa(i%1000), "b"+strconv.Itoa(i), benchData, 30)
		in.InviteID = "c" + strconv.Itoa(i)
		if st := k.Apply(t0, in); st.Err != nil {
			tb.Fatal(st.Err)
		}
	}
	return k
}

// BenchmarkTickExpire measures the cost of one expiry when n invitations
// are all due at one Tick; ns/expiry is the figure of merit.
func BenchmarkTickExpire(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			t0 := time.Unix(1_700_000_000, 0)
			var total time.Duration
			for range b.N {
				b.StopTimer()
				k := openInvitations(b, n, t0)
				runtime.GC()
				b.StartTimer()
				start := time.Now()
				st := k.Tick(t0.Add(time.Minute))
				total += time.Since(start)
				if len(st.History) != n || k.Open() != 0 {
					b.Fatalf("got %d history messages and %d open, want %d and 0", len(st.History), k.Open(), n)
				}
			}
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*n), "ns/expiry")
		})
	}
}

// BenchmarkRetainedHeap reports the live heap per open 1:1 invitation
// (16-byte data, short IDs, offline invitees), all indexes included.
func BenchmarkRetainedHeap(b *testing.B) {
	const n = 100_000
	t0 := time.Unix(1_700_000_000, 0)
	var perInvitation float64
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		k := openInvitations(b, n, t0)
		k.history = nil // the Step's buffers are scratch, not per-invitation state
		runtime.GC()
		runtime.ReadMemStats(&after)
		perInvitation = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(k)
	}
	b.ReportMetric(perInvitation, "B/invitation")
}

// BenchmarkSnapshot100k and BenchmarkRestore100k measure the whole-state
// encoding with 100k open invitations.
func BenchmarkSnapshot100k(b *testing.B) {
	k := openInvitations(b, 100_000, time.Unix(1_700_000_000, 0))
	var size int
	b.ReportAllocs()
	for b.Loop() {
		size = len(k.Snapshot())
	}
	b.ReportMetric(float64(size), "bytes")
}

func BenchmarkRestore100k(b *testing.B) {
	snap := openInvitations(b, 100_000, time.Unix(1_700_000_000, 0)).Snapshot()
	b.ReportAllocs()
	for b.Loop() {
		k, err := Restore(Config{MaxOpenPerInviter: 100_000}, snap)
		if err != nil || k.Open() != 100_000 {
			b.Fatal(err)
		}
	}
}
