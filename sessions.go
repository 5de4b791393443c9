package beckon

import (
	"log/slog"
	"sync"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// Sessions that outlive their connections (REM-4, REM-5) are the
// Delivery's business when it is a port.Keeper: the runtime gives it every
// event with its Seq, tells it which sessions ended, keeps the events of
// resumable sessions in the store with the batch that caused them (so a
// crash loses none), drops them once the Keeper acknowledges them
// (Acked), and hands what the store kept to the Keeper at start.

// Acked tells the runtime that the device of session (user, session) has
// every event up to and including seq, so that the store may drop them
// (port.Keeper). It never waits: the store learns it with its next batch,
// and until then a restart may hand those events over again (the device
// drops what it has by Seq).
func (r *Runtime) Acked(user, session string, seq uint64) {
	r.acks.add(kernel.SessionRef{User: user, Session: session}, seq)
}

// acks collects acknowledgements for the committer's next Append.
type acks struct {
	mu  sync.Mutex
	seq map[kernel.SessionRef]uint64
}

func (a *acks) add(s kernel.SessionRef, seq uint64) {
	a.mu.Lock()
	if a.seq == nil {
		a.seq = make(map[kernel.SessionRef]uint64)
	}
	if seq > a.seq[s] {
		a.seq[s] = seq
	}
	a.mu.Unlock()
}

// take returns and forgets what was collected.
func (a *acks) take() []port.Ack {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.seq) == 0 {
		return nil
	}
	out := make([]port.Ack, 0, len(a.seq))
	for s, seq := range a.seq {
		out = append(out, port.Ack{SessionRef: s, Seq: seq})
	}
	clear(a.seq)
	return out
}

// endedRefs lists the sessions that ended in b.
func (b *batch) endedRefs() []kernel.SessionRef {
	if len(b.ended) == 0 {
		return nil
	}
	out := make([]kernel.SessionRef, len(b.ended))
	for i, e := range b.ended {
		out[i] = e.SessionRef
	}
	return out
}

// keptEvents is what the store must keep of b's events (port.Batch): the
// resumable ones, without those of a session that ends later in b.
func (b *batch) keptEvents() []kernel.SessionEvent {
	if len(b.ended) == 0 {
		return b.events
	}
	lastEnd := make(map[kernel.SessionRef]int, len(b.ended))
	for _, e := range b.ended {
		lastEnd[e.SessionRef] = e.after
	}
	out := make([]kernel.SessionEvent, 0, len(b.events))
	for i, e := range b.events {
		if end, ok := lastEnd[kernel.SessionRef{User: e.User, Session: e.Session}]; !ok || i >= end {
			out = append(out, e)
		}
	}
	return out
}

// hand gives one event to the delivery.
func (r *Runtime) hand(e *kernel.SessionEvent) error {
	if r.keeper != nil {
		return r.keeper.Keep(*e)
	}
	return r.delivery.Deliver(e.User, e.Session, e.Event)
}

// ended tells a Keeper that a session ended.
func (r *Runtime) ended(s kernel.SessionRef) {
	if r.keeper == nil {
		return
	}
	if err := safely(func() error { r.keeper.Ended(s); return nil }); err != nil {
		r.log.Warn("beckon: ending a session in the delivery", slog.String("user", s.User),
			slog.String("session", s.Session), slog.Any("err", err))
	}
}

// flush tells a Delivery that holds its writes back that a batch is
// handed over (port.Flusher).
func (r *Runtime) flush() {
	if r.flusher == nil {
		return
	}
	if err := safely(func() error { r.flusher.Flush(); return nil }); err != nil {
		r.log.Warn("beckon: flushing the delivery", slog.Any("err", err))
	}
}

// handKept hands the events the store kept to the Keeper (at start).
func (r *Runtime) handKept() error {
	if r.keeper == nil {
		return nil
	}
	kept, err := r.store.Kept()
	if err != nil {
		return err
	}
	for i := range kept {
		if err := safely(func() error { return r.hand(&kept[i]) }); err != nil {
			r.log.Warn("beckon: a kept event not handed over at start", slog.String("user", kept[i].User),
				slog.String("session", kept[i].Session), slog.Uint64("seq", kept[i].Seq), slog.Any("err", err))
		}
	}
	r.flush()
	return nil
}
