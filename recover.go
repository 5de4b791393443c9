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
	// Deadlines passed while down fire once (TMO-4). Their events reach
	// the sessions that outlive a restart (kept, below); the others are
	// gone with the old process, and their history messages are stored
	// (HIS-1), so clients that log in can read them.
	r.apply(b, now, kernel.Input{Op: kernel.OpTick})
	for s := range r.k.Sessions() {
		switch {
		case s.Expiry == 0:
			r.apply(b, now, kernel.Disconnect(s.User, s.Session))
		case s.Away.IsZero():
			r.apply(b, now, kernel.Suspend(s.User, s.Session))
		}
	}
	if err := r.persist(r.sealed(b)); err != nil {
		return err
	}
	if err := r.handKept(); err != nil {
		return fmt.Errorf("beckon: reading the events kept for sessions: %w", err)
	}
	return nil
}
