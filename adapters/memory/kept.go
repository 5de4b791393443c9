package memory

import (
	"cmp"
	"slices"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// kept holds the events of resumable sessions until acknowledged
// (port.Batch): per session, in Seq order. An event's Invitees are shared
// with the runtime, which never modifies them.
type kept map[kernel.SessionRef][]kernel.SessionEvent

// apply applies a batch's Ended, Acked and Events, in that order.
func (k kept) apply(b *port.Batch) {
	for _, s := range b.Ended {
		delete(k, s)
	}
	for _, a := range b.Acked {
		q := k[a.SessionRef]
		n, _ := slices.BinarySearchFunc(q, a.Seq+1, func(e kernel.SessionEvent, seq uint64) int { return cmp.Compare(e.Seq, seq) })
		switch {
		case n == len(q):
			delete(k, a.SessionRef)
		case n > 0:
			k[a.SessionRef] = slices.Delete(q, 0, n)
		}
	}
	for _, e := range b.Events {
		if e.Resumable {
			ref := kernel.SessionRef{User: e.User, Session: e.Session}
			k[ref] = append(k[ref], e)
		}
	}
}

// all lists every kept event, by user, then session, then Seq.
func (k kept) all() []kernel.SessionEvent {
	refs := make([]kernel.SessionRef, 0, len(k))
	for ref := range k {
		refs = append(refs, ref)
	}
	slices.SortFunc(refs, func(a, b kernel.SessionRef) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Session, b.Session))
	})
	var out []kernel.SessionEvent
	for _, ref := range refs {
		out = append(out, k[ref]...)
	}
	return out
}

// Kept returns the events kept for resumable sessions (port.Store).
func (s *Store) Kept() ([]kernel.SessionEvent, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errStoreClosed
	}
	return s.kept.all(), nil
}
