package beckon

import (
	"fmt"

	"github.com/beckonhq/beckon/kernel"
)

// recover rebuilds the kernel from the store (see New).
func (r *Runtime) recover(cfg kernel.Config) error {
	snapIndex, snap, records, err := r.store.Load()
	if err != nil {
		return fmt.Errorf("beckon: loading the store: %w", err)
	}
	switch {
	case snap != nil:
		if r.k, err = kernel.Restore(cfg, snap); err != nil {
			return fmt.Errorf("beckon: restoring the snapshot at index %d: %w", snapIndex, err)
		}
	case snapIndex != 0:
		return fmt.Errorf("beckon: the store reports a snapshot at index %d but returned none", snapIndex)
	default:
		r.k = kernel.New(cfg)
	}
	r.index, r.snapIndex = snapIndex, snapIndex
	for _, rec := range records {
		if rec.Index != r.index+1 {
			return fmt.Errorf("beckon: the store's log is not contiguous: record %d follows %d", rec.Index, r.index)
		}
		r.k.Apply(rec.At, rec.Input) // its Step was handed over before the stop
		r.index = rec.Index
	}

	b := new(batch)
	now := r.clock.Now()
	// Deadlines passed while down fire once (TMO-4). Their events have no
	// one to go to (every session dropped with the old process) and nothing
	// queues events for offline users, as at any other time; their history
	// messages are stored (HIS-1), so clients that log in can read them.
	r.apply(b, now, kernel.Input{Op: kernel.OpTick})
	for user, session := range r.k.Sessions() {
		r.apply(b, now, kernel.Disconnect(user, session))
	}
	return r.persist(r.sealed(b)) // no session is there to hear the events
}
