package beckon_test

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/memory"
	"github.com/beckonhq/beckon/kernel"
	"github.com/benbjohnson/clock"
)

// gateStore is a memory store whose Append can be held at a gate or made
// to fail.
type gateStore struct {
	*memory.Store
	mu      sync.Mutex
	gate    chan struct{} // when non-nil, Append waits until it is closed
	entered chan struct{} // receives when an Append reached the gate
	fail    error
	appends int
	delay   time.Duration // each Append takes this long (a sync to disk)
}

func newGateStore() *gateStore { return &gateStore{Store: memory.NewStore()} }

func (s *gateStore) Append(b beckon.Batch) error {
	s.mu.Lock()
	gate, entered, fail, delay := s.gate, s.entered, s.fail, s.delay
	s.appends++
	s.mu.Unlock()
	time.Sleep(delay)
	if gate != nil {
		entered <- struct{}{}
		<-gate
	}
	if fail != nil {
		return fail
	}
	return s.Store.Append(b)
}

// hold makes the next Appends wait; release lets them go.
func (s *gateStore) hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate, s.entered = make(chan struct{}), make(chan struct{}, 16)
	gate := s.gate
	return func() {
		s.mu.Lock()
		s.gate = nil
		s.mu.Unlock()
		close(gate)
	}
}

func TestDLV3_NothingBeforeDurable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newGateStore()
		rt := newRuntime(t, beckon.WithStore(store))
		alice, ra := login(t, rt, "alice", "phone")
		_, rb := login(t, rt, "bob", "phone")
		release := store.hold()
		var id string
		var err error
		done := make(chan struct{})
		go func() {
			id, err = alice.Invite(ctx, "bob", "x")
			close(done)
		}()
		<-store.entered
		synctest.Wait() // everything that can run has run
		select {
		case <-done:
			t.Fatal("the invite returned before its Append did")
		default:
		}
		want(t, "bob before durable", rb)
		release()
		<-done
		must(t, err)
		synctest.Wait()
		want(t, "bob after durable", rb, "new "+id+" from=alice group= invitees=bob x")
		want(t, "alice", ra)
	})
}

func TestStoreFailureStopsTheRuntime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newGateStore()
		rt := newRuntime(t, beckon.WithStore(store))
		alice, _ := login(t, rt, "alice", "phone")
		_, rb := login(t, rt, "bob", "phone")
		disk := errors.New("disk full")
		store.mu.Lock()
		store.fail = disk
		store.mu.Unlock()
		_, err := alice.Invite(ctx, "bob", "x")
		if !errors.Is(err, beckon.ErrStoreFailed) || !errors.Is(err, disk) || beckon.Code(err) != 6022 {
			t.Fatalf("invite on a failing store: %v (code %d)", err, beckon.Code(err))
		}
		synctest.Wait()
		want(t, "bob (nothing delivered)", rb)
		_, err = alice.Invite(ctx, "bob", "x")
		if !errors.Is(err, beckon.ErrStoreFailed) {
			t.Errorf("invite after the failure: %v", err)
		}
		if !errors.Is(rt.Err(), disk) {
			t.Errorf("Err: %v", rt.Err())
		}
		if err := rt.Close(); !errors.Is(err, disk) {
			t.Errorf("Close: %v", err)
		}
	})
}

// TestCloseWhileBusy: what the loop has taken finishes (durable and
// answered); what was still queued fails with ErrClosed and is not applied.
// Nothing is half-applied: the log holds exactly the invites that succeeded.
func TestCloseWhileBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newGateStore()
		rt := newRuntime(t, beckon.WithStore(store), beckon.WithMaxBatch(1))
		alice, _ := login(t, rt, "alice", "phone")
		release := store.hold()
		const n = 5
		results := make(chan error, n)
		for i := range n {
			go func() {
				_, err := alice.Invite(ctx, "bob"+strconv.Itoa(i), "")
				results <- err
			}()
		}
		<-store.entered // one batch (of one op) is in Append
		synctest.Wait() // the others are queued, or applied and waiting for the committer
		closed := make(chan error)
		go func() { closed <- rt.Close() }()
		synctest.Wait()
		release()
		must(t, <-closed)
		var ok, refused int
		for range n {
			switch err := <-results; {
			case err == nil:
				ok++
			case errors.Is(err, beckon.ErrClosed):
				refused++
			default:
				t.Errorf("unexpected %v", err)
			}
		}
		// One in Append, at most one more applied while it waited.
		if ok < 1 || ok > 2 || refused != n-ok {
			t.Errorf("%d succeeded and %d refused", ok, refused)
		}
		_, _, records, err := store.Load()
		must(t, err)
		invites := 0
		for _, r := range records {
			if r.Input.Op == kernel.OpInvite {
				invites++
			}
		}
		if invites != ok {
			t.Errorf("%d invites logged, %d succeeded", invites, ok)
		}
	})
}

// TestRaceManyCallers: many goroutines invite and answer at once; every
// operation succeeds exactly as the rules say and every event arrives.
func TestRaceManyCallers(t *testing.T) {
	rt := newRuntime(t, beckon.WithSnapshotEvery(50))
	const pairs, rounds = 16, 20
	var wg sync.WaitGroup
	recs := make([][2]*recorder, pairs)
	for i := range pairs {
		inviter, ra := login(t, rt, "a"+strconv.Itoa(i), "s")
		invitee, rb := login(t, rt, "b"+strconv.Itoa(i), "s")
		recs[i] = [2]*recorder{ra, rb}
		wg.Go(func() {
			for n := range rounds {
				id, err := inviter.Invite(ctx, invitee.User(), strconv.Itoa(n), beckon.TimeoutSeconds(60))
				if err != nil {
					t.Error(err)
					return
				}
				answer := invitee.Accept
				if n%2 == 1 {
					answer = invitee.Reject
				}
				if err := answer(ctx, id, ""); err != nil {
					t.Error(err)
					return
				}
				// A second answer, racing with a cancel, must lose cleanly.
				var second sync.WaitGroup
				second.Go(func() { wantCode(t, "cancel of an answered invitation", inviter.Cancel(ctx, id, ""), 8010) })
				second.Go(func() { wantCode(t, "second answer", invitee.Accept(ctx, id, ""), 8010) })
				second.Wait()
			}
		})
	}
	wg.Wait()
	must(t, rt.Close()) // the callbacks already handed their events still run
	for i, r := range recs {
		waitFor(t, r[0], rounds)
		waitFor(t, r[1], 2*rounds)
		inviter, invitee := r[0].got(), r[1].got()
		if len(inviter) != rounds || len(invitee) != 2*rounds {
			t.Errorf("pair %d: inviter heard %d, invitee %d; want %d and %d", i, len(inviter), len(invitee), rounds, 2*rounds)
		}
	}
}

func TestRaceInviteAndLoginOfTheInvitee(t *testing.T) {
	// Whether bob's login comes before or after the invite, he hears it
	// exactly once (INV-5 or SYN-1).
	for range 20 {
		rt := newRuntime(t)
		alice, _ := login(t, rt, "alice", "phone")
		var wg sync.WaitGroup
		var rb *recorder
		wg.Go(func() { _, rb = login(t, rt, "bob", "phone") })
		wg.Go(func() {
			if _, err := alice.Invite(ctx, "bob", ""); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		// Close does not wait for callbacks: a cancel, which bob hears
		// after whatever he heard of the invite (DLV-2), marks the end.
		must(t, alice.Cancel(ctx, "c1", ""))
		waitFor(t, rb, 2)
		must(t, rt.Close())
		want(t, "bob", rb, "new c1 from=alice group= invitees=bob", "cancelled c1 by=alice")
	}
}

func TestTMO4_RestartFiresMissedDeadlineOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memory.NewStore()
		rt := newRuntime(t, beckon.WithStore(store), beckon.WithSnapshotEvery(3))
		alice, _ := login(t, rt, "alice", "phone")
		login(t, rt, "bob", "phone")
		timed, err := alice.Invite(ctx, "bob", "soon", beckon.TimeoutSeconds(10))
		must(t, err)
		open, err := alice.Invite(ctx, "bob", "later", beckon.TimeoutSeconds(100))
		must(t, err)
		must(t, alice.Modify(ctx, open, "later2"))
		must(t, rt.Close()) // "crash": the sessions are left connected in the log

		time.Sleep(30 * time.Second) // down while the 10 s deadline passes
		rt2 := newRuntime(t, beckon.WithStore(store), beckon.WithSnapshotEvery(3))
		conv := kernel.C2C("alice", "bob")
		if got := history(t, rt2, conv); got != "invite:alice invite:alice modify:alice timeout:alice" {
			t.Fatalf("history after restart: %q", got)
		}
		// The old sessions are gone: bob's new one gets the open invitation
		// only, with its current data (SYN-1 after recovery).
		bob, rb := login(t, rt2, "bob", "phone")
		_, ra := login(t, rt2, "alice", "laptop")
		synctest.Wait()
		want(t, "bob", rb, "new "+open+" from=alice group= invitees=bob later2")
		want(t, "alice (the timeout fired during recovery, with no one to hear it)", ra)
		wantCode(t, "accept of the timed-out one", bob.Accept(ctx, timed, ""), 8010)
		must(t, rt2.Close())

		rt3 := newRuntime(t, beckon.WithStore(store))
		if got := history(t, rt3, conv); got != "invite:alice invite:alice modify:alice timeout:alice" {
			t.Errorf("history after a second restart (the timeout fired twice?): %q", got)
		}
		bob3, _ := login(t, rt3, "bob", "phone")
		must(t, bob3.Accept(ctx, open, "ok"))
		time.Sleep(200 * time.Second)
		if got := history(t, rt3, conv); got != "invite:alice invite:alice modify:alice timeout:alice accept:bob" {
			t.Errorf("history at the end: %q", got)
		}
	})
}

func TestRecoveryReplaysAfterSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memory.NewStore()
		for round := range 5 {
			rt := newRuntime(t, beckon.WithStore(store), beckon.WithSnapshotEvery(4),
				beckon.WithInviteIDs(beckon.SequentialInviteIDs(fmt.Sprintf("r%d-", round))))
			if round == 0 {
				must(t, rt.SetGroup(ctx, "g", []string{"alice", "bob", "carol"}))
			}
			alice, _ := login(t, rt, "alice", "phone")
			carol, rc := login(t, rt, "carol", "phone")
			synctest.Wait()
			// Every earlier round left one invitation open for carol.
			if n := len(rc.got()); n != round {
				t.Fatalf("round %d: carol rang for %d open invitations, want %d", round, n, round)
			}
			id, err := alice.InviteInGroup(ctx, "g", []string{"bob", "carol"}, strconv.Itoa(round))
			must(t, err)
			must(t, carol.Modify(ctx, id, "m"))
			must(t, rt.Close())
		}
		snapIndex, snap, records, err := store.Load()
		must(t, err)
		if snap == nil || snapIndex == 0 || len(records) >= 4 || (len(records) > 0 && records[0].Index != snapIndex+1) {
			t.Errorf("snapshot at %d (%d bytes), %d records after it", snapIndex, len(snap), len(records))
		}
	})
}

func TestRecoveryRejectsAGap(t *testing.T) {
	store := &gapStore{memory.NewStore()}
	if _, err := beckon.New(beckon.WithStore(store), beckon.WithLogger(quiet)); err == nil {
		t.Fatal("New accepted a log with a gap")
	}
}

// gapStore returns a log with a gap.
type gapStore struct{ *memory.Store }

func (gapStore) Load() (uint64, []byte, []kernel.Record, error) {
	return 0, nil, []kernel.Record{{Index: 2, At: time.Unix(1, 0), Input: kernel.Input{Op: kernel.OpTick}}}, nil
}

// TestTMO1_MockClock drives the timeout with a benbjohnson/clock mock
// instead of synctest (a mock runs outside the runtime's control: wait for
// the callbacks in real time).
func TestTMO1_MockClock(t *testing.T) {
	mock := clock.NewMock()
	rt := newRuntime(t, beckon.WithClock(mock))
	alice, ra := login(t, rt, "alice", "phone")
	_, rb := login(t, rt, "bob", "phone")
	for round := range 3 {
		id, err := alice.Invite(ctx, "bob", "", beckon.TimeoutSeconds(10))
		must(t, err)
		mock.Add(9 * time.Second)
		mock.Add(time.Second)
		waitFor(t, ra, round+1)
		waitFor(t, rb, 2*round+2)
		if got := ra.got()[round]; got != "timeout "+id+" invitees=bob" {
			t.Errorf("round %d: alice heard %q", round, got)
		}
	}
}

// waitFor waits (in real time) until rec heard n callbacks.
func waitFor(t *testing.T, rec *recorder, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for len(rec.got()) < n {
		select {
		case <-rec.notify:
		case <-deadline:
			t.Fatalf("heard %d callbacks, want %d: %q", len(rec.got()), n, rec.got())
		}
	}
}

// slowStore is a runtime on a store whose Appends take a millisecond (a
// sync to disk), alice and bob logged in; invite has alice invite bob on a
// goroutine of its own, its error on errs; appends counts the Appends.
func slowStore(t *testing.T) (store *gateStore, invite func(), errs chan error, appends func() int) {
	store = newGateStore()
	store.delay = time.Millisecond
	rt := newRuntime(t, beckon.WithStore(store))
	alice, _ := login(t, rt, "alice", "phone")
	login(t, rt, "bob", "phone")
	errs = make(chan error, 16)
	invite = func() {
		go func() {
			_, err := alice.Invite(ctx, "bob", "")
			errs <- err
		}()
	}
	appends = func() int {
		store.mu.Lock()
		defer store.mu.Unlock()
		return store.appends
	}
	return store, invite, errs, appends
}

// Group commit: with a store whose Appends take long, operations
// submitted while the committer is busy join the batch waiting for it,
// however they trickle in, so they wait for one Append after the current
// one, never two.
func TestSubmittedWhileCommittingJoinTheWaitingBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, invite, errs, appends := slowStore(t)
		release := store.hold()
		invite()
		<-store.entered
		before := appends()
		for range 3 {
			invite() // one at a time, the loop waiting for the committer meanwhile
			synctest.Wait()
		}
		release()
		for range 4 {
			must(t, <-errs)
		}
		if got := appends() - before; got != 1 {
			t.Errorf("Appends after the first for the three calls made while it was held: got %d, want 1", got)
		}
	})
}

// Group commit: with a store whose Appends take long, a batch much smaller
// than the last one waits (up to half an Append) for the callers of the
// last batch to come back, so that they share one Append.
func TestSmallBatchWaitsForTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, invite, errs, appends := slowStore(t)
		// A batch of six: the first invite's Append is held while six
		// more join the batch waiting.
		release := store.hold()
		invite()
		<-store.entered
		for range 6 {
			invite()
		}
		synctest.Wait()
		release()
		for range 7 {
			must(t, <-errs)
		}
		synctest.Wait()
		before := appends()
		invite() // alone: much smaller than the last batch
		time.Sleep(100 * time.Microsecond)
		invite()
		invite()
		for range 3 {
			must(t, <-errs)
		}
		if got := appends() - before; got != 1 {
			t.Errorf("Appends for three calls coming back within a tenth of an Append: got %d, want 1", got)
		}
	})
}
