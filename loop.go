package beckon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	"github.com/benbjohnson/clock"
)

// The runtime is a three-stage pipeline:
//
//   - the loop (run) owns the kernel: it takes queued requests, applies
//     them and collects their Steps into a batch;
//   - the committer (commitLoop) makes a batch durable with one
//     Store.Append (and saves the snapshot the batch may carry; only a
//     failed Append stops the runtime);
//   - the deliverer (deliverLoop) hands a durable batch's events, then its
//     push requests, over and answers its callers (DLV-3). All events of
//     the batch go before all its pushes, which go to another destination:
//     each step's pushes still follow its events, as kernel.Step asks.
//
// The loop applies what is queued (up to maxBatch requests) and hands the
// batch over when the committer is free; what is submitted meanwhile
// queues up for the next batch: the slower the store, the larger the
// batches (group commit). The kernel runs ahead of the store by at most
// the batch being committed and the one waiting for the committer, and
// nothing of either is visible to anyone until it is durable. The
// deliverer works on the batch before, so the next Append overlaps its
// deliveries. Batches go through each stage in order.

// batch is what the loop collects of its Steps for one Append: the records
// and history to make durable, then the events and push requests to hand
// over, and the requests to answer.
type batch struct {
	records []kernel.Record
	history []kernel.History
	closed  []kernel.ClosedCall
	events  []kernel.SessionEvent
	pushes  []kernel.PushRequest
	ended   []ending
	taken   []*request

	snapIndex uint64 // if snapshot != nil, save it at this index after the Append
	snapshot  []byte
	held      bool // the loop held it once for more requests (see run)

	failed error // set by the committer: the store failure that stopped the runtime
}

func (b *batch) empty() bool { return len(b.records) == 0 && len(b.taken) == 0 && len(b.events) == 0 }

func (b *batch) reset() {
	clear(b.records)
	clear(b.history)
	clear(b.closed)
	clear(b.events)
	clear(b.pushes)
	clear(b.ended)
	clear(b.taken)
	b.records, b.history, b.closed, b.events, b.pushes, b.ended, b.taken = b.records[:0], b.history[:0], b.closed[:0], b.events[:0], b.pushes[:0], b.ended[:0], b.taken[:0]
	b.snapIndex, b.snapshot, b.failed, b.held = 0, nil, nil, false
}

// newBatch returns an empty batch, recycled if one is free.
func (r *Runtime) newBatch() *batch {
	select {
	case b := <-r.free:
		return b
	default:
		return new(batch)
	}
}

// run is the loop: the only goroutine that touches the kernel.
func (r *Runtime) run() {
	t := newDeadlineTimer(r.clock)
	defer t.disarm()
	fired := false
	cur := r.newBatch()
	hold := time.NewTimer(time.Hour) // a batch's hold (see below); real time, whatever the clock
	hold.Stop()
	defer hold.Stop()
	var holdC <-chan time.Time // hold.C while a hold runs
	lastSize := 0              // requests in the last batch handed to the committer
	take := make([]*request, 0, r.maxBatch)
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			break
		}
		take = r.take(take[:0], r.maxBatch)
		r.mu.Unlock()

		if len(take) > 0 || fired {
			now := r.clock.Now()
			for _, q := range take {
				if q.state.CompareAndSwap(stateQueued, stateTaken) { // else its caller gave up
					if q.query != nil {
						q.query(r.k) // reads only: nothing to apply or log (query.go)
					} else {
						q.res = r.apply(cur, now, q.in)
					}
					cur.taken = append(cur.taken, q)
				}
			}
			if d, ok := r.k.NextDeadline(); ok && !d.After(now) {
				r.apply(cur, now, kernel.Input{Op: kernel.OpTick})
			}
			clear(take)
			fired = false
		}

		t.follow(r.k.NextDeadline())
		if !cur.empty() {
			// Wait for the committer: it is the slower stage. With a store
			// whose Appends take long (a sync to disk), what is submitted
			// meanwhile joins this batch, up to maxBatch, so that it does
			// not wait for one more Append after this one (group commit:
			// callers that answer the last batch over a network come back
			// while the committer syncs). With a fast store it queues for
			// the next batch: waking the loop for each submission would
			// cost more than the wait.
			//
			// And when the committer is free but this batch is much smaller
			// than the last, while Appends are slow, the loop holds it for
			// up to half an Append: the callers of the last batch are on
			// their way back (over a network they come back spread out),
			// and one Append for all of them costs less than one now and
			// another for the rest (each of them would wait for both).
			appendTook := time.Duration(r.appendTook.Load())
			slow := appendTook > slowAppend
			var more chan struct{}
			if slow && len(cur.taken) < r.maxBatch {
				more = r.wake
			}
			commits := r.commits
			if slow && !cur.held && 2*len(cur.taken) < lastSize {
				if holdC == nil {
					hold.Reset(min(appendTook/2, maxHold))
					holdC = hold.C
				}
				commits = nil
			}
			size := len(cur.taken) // cur is the committer's once sent
			select {
			case <-more:
			case <-holdC:
				cur.held, holdC = true, nil
			case commits <- r.sealed(cur):
				lastSize = size
				if holdC != nil {
					hold.Stop()
					holdC = nil
				}
				cur = r.newBatch()
				// Let the callers answered meanwhile run and queue their
				// next operations before the loop takes what is queued: it
				// then takes them at once, in one batch. The loop yields,
				// not the deliverer, which would then wait behind those
				// callers and hold the pipeline up.
				runtime.Gosched()
			case <-t.c:
				t.fired()
				fired = true
			}
			continue
		}
		if len(take) > 0 {
			continue
		}
		select {
		case <-r.wake:
		case <-t.c:
			t.fired()
			fired = true
		}
	}
	r.stop(nil) // fail what is still queued
	if !cur.empty() {
		r.commits <- r.sealed(cur) // applied: commit it (or fail it, after a store failure)
	}
	close(r.commits)
}

// deadlineTimer wakes the loop at the kernel's next deadline.
type deadlineTimer struct {
	clock clock.Clock
	timer *clock.Timer
	c     <-chan time.Time // timer.C while armed, else nil (never ready)
	at    time.Time        // what it is armed for
}

func newDeadlineTimer(c clock.Clock) *deadlineTimer {
	t := &deadlineTimer{clock: c, timer: c.Timer(time.Hour)}
	t.disarm()
	return t
}

// follow arms the timer for the next deadline d, if ok. A timer armed for
// an earlier time is left alone: it fires early, the tick finds nothing
// due, and it is armed again. So the timer is reset only when the next
// deadline comes earlier, not each time the earliest invitation closes.
func (t *deadlineTimer) follow(d time.Time, ok bool) {
	switch {
	case !ok:
		if t.c != nil {
			t.disarm()
		}
	case t.c == nil || d.Before(t.at):
		t.disarm()
		t.timer.Reset(d.Sub(t.clock.Now()))
		t.c, t.at = t.timer.C, d
	}
}

// fired records that the loop received from c.
func (t *deadlineTimer) fired() { t.c, t.at = nil, time.Time{} }

// disarm stops the timer and drops a tick it may have sent and no one
// received (a benbjohnson/clock mock keeps it, and would block on the next).
func (t *deadlineTimer) disarm() {
	if !t.timer.Stop() {
		select {
		case <-t.timer.C:
		default:
		}
	}
	t.c, t.at = nil, time.Time{}
}

// sealed adds a snapshot to b when one is due, and returns b. The snapshot
// is the kernel's state after every record applied so far, at r.index, b's
// last record; records added to b after it (when a select evaluated the
// send but took another case) come after it in the log, as they should.
func (r *Runtime) sealed(b *batch) *batch {
	if b.snapshot == nil && r.index-r.snapIndex >= r.every {
		b.snapIndex, b.snapshot = r.index, r.k.Snapshot()
		r.snapIndex = r.index
	}
	return b
}

// take moves up to n queued requests to dst. r.mu is held.
func (r *Runtime) take(dst []*request, n int) []*request {
	n = min(n, len(r.queue))
	dst = append(dst, r.queue[:n]...)
	m := copy(r.queue, r.queue[n:])
	clear(r.queue[m:])
	r.queue = r.queue[:m]
	return dst
}

// apply applies one input and collects its Step into b, numbering its
// record.
func (r *Runtime) apply(b *batch, now time.Time, in kernel.Input) kernel.Result {
	st := r.k.Apply(now, in)
	if st.Log {
		r.index++
		b.records = append(b.records, st.Record)
		b.records[len(b.records)-1].Index = r.index
	}
	b.history = append(b.history, st.History...)
	for _, c := range st.Closed { // closed calls come with a record, which st.Record is
		c.Index = r.index
		b.closed = append(b.closed, c)
	}
	first := len(b.events)
	b.events = append(b.events, st.Events...)
	b.pushes = append(b.pushes, st.Pushes...)
	for _, s := range st.Ended {
		b.ended = append(b.ended, ending{SessionRef: s.SessionRef, after: first + s.After})
	}
	return st.Result
}

// slowAppend is how long an Append (with its snapshot) must take for
// the loop to gather what is submitted meanwhile into the batch waiting,
// and to hold a small batch (see run): about ten times a wake-up of the
// loop. maxHold bounds a hold.
const (
	slowAppend = 100 * time.Microsecond
	maxHold    = time.Millisecond
)

// ending is a session that ended in a batch, after the batch's first
// `after` events.
type ending struct {
	kernel.SessionRef
	after int
}

// commitLoop is the committer: it makes the loop's batches durable in
// order and passes each on to the deliverer. The first store failure stops
// the runtime; every later batch fails with it.
func (r *Runtime) commitLoop() {
	defer close(r.delivered)
	var failed error
	for b := range r.commits {
		if failed == nil {
			began := time.Now()
			failed = r.persist(b)
			r.appendTook.Store(int64(time.Since(began)))
			if failed != nil {
				r.log.Error("beckon: runtime stopped", slog.Any("err", failed))
				r.stop(failed)
			}
		}
		b.failed = failed
		r.delivered <- b
	}
}

// deliverLoop is the deliverer: for each durable batch, in order, it hands
// over its events and push requests and answers its callers (after a store
// failure, it only answers them, with the failure). Running it apart from
// the committer lets the next Append overlap this batch's deliveries.
func (r *Runtime) deliverLoop() {
	defer close(r.done)
	for b := range r.delivered {
		if b.failed == nil {
			r.deliver(b)
		}
		for _, q := range b.taken {
			q.err = b.failed
			q.finish()
		}
		if b.failed == nil {
			r.flush()
		}
		b.reset()
		select {
		case r.free <- b:
		default:
		}
	}
}

// persist makes b's records and history durable with one Append, then
// saves its snapshot if it has one. A failed Append returns an
// ErrStoreFailed. A failed SaveSnapshot does not: the batch is durable
// once Append returned, so its callers get their true results and its
// events go out; the store keeps its previous snapshot and every record
// after it (recovery replays more), and the loop takes the next snapshot
// at the next due point, WithSnapshotEvery records later.
func (r *Runtime) persist(b *batch) error {
	acked := r.acks.take()
	if len(b.records) > 0 || len(acked) > 0 {
		err := r.store.Append(Batch{Records: b.records, History: b.history, Closed: b.closed,
			Ended: b.endedRefs(), Events: b.keptEvents(), Acked: acked})
		if err != nil {
			return &storeError{op: "append", err: err}
		}
	}
	if b.snapshot != nil {
		if err := r.store.SaveSnapshot(b.snapIndex, b.snapshot); err != nil {
			r.log.Error("beckon: saving a snapshot failed; the runtime goes on and tries again at the next one due",
				slog.Uint64("index", b.snapIndex), slog.Any("err", err))
		}
	}
	return nil
}

// deliver hands over b's events (telling a Keeper of the sessions that
// ended between them), then its push requests, each in order. A
// panic of the Delivery or the PushHook is recovered and logged as that
// call's error: the deliverer must go on for the other recipients and
// batches.
func (r *Runtime) deliver(b *batch) {
	ended := b.ended
	for i := range b.events {
		for ; len(ended) > 0 && ended[0].after == i; ended = ended[1:] {
			r.ended(ended[0].SessionRef)
		}
		e := &b.events[i]
		if err := safely(func() error { return r.hand(e) }); err != nil {
			level := slog.LevelWarn
			if errors.Is(err, port.ErrNoSession) {
				level = slog.LevelDebug // a session that just went away
			}
			r.log.Log(context.Background(), level, "beckon: event not delivered", slog.String("user", e.User),
				slog.String("session", e.Session), slog.String("event", e.Event.Type.String()),
				slog.String("inviteID", e.Event.InviteID), slog.Any("err", err))
		}
	}
	for _, s := range ended {
		r.ended(s.SessionRef)
	}
	for _, req := range b.pushes {
		if err := safely(func() error { return r.push.Push(req) }); err != nil {
			r.log.Warn("beckon: offline push failed", slog.String("to", req.To),
				slog.String("inviteID", req.InviteID), slog.Any("err", err))
		}
	}
}

// safely calls fn and turns a panic of it into an error carrying the panic
// value and the stack.
func safely(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panicked: %v\n%s", v, debug.Stack())
		}
	}()
	return fn()
}

// stop ends the runtime for good: it records why (err, or ErrClosed if
// nil), refuses new submissions, and fails every queued request.
func (r *Runtime) stop(err error) {
	r.mu.Lock()
	r.closed = true
	if err != nil && (r.err == nil || r.err == ErrClosed) {
		r.err = err
	}
	if r.err == nil {
		r.err = ErrClosed
	}
	rest := r.queue
	r.queue = nil
	why := r.err
	r.mu.Unlock()
	for _, q := range rest {
		if q.state.CompareAndSwap(stateQueued, stateTaken) {
			q.err = why
			q.finish()
		}
	}
	r.signal() // the loop, if it waits
}
