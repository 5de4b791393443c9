package scale

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// inbox is what one idle device was sent during the storm (by the
// senders' successful requests, in order) and what it handled.
type inbox struct {
	mu        sync.Mutex
	want, got []string     // "<type> <inviteID>"
	session   atomic.Int64 // when the last Session message was read, Unix ns
}

func (b *inbox) expect(typ, id string) {
	b.mu.Lock()
	b.want = append(b.want, typ+" "+id)
	b.mu.Unlock()
}

// onEvent is an idle device's OnEvent.
func (b *inbox) onEvent(_ *Device, ev Event, at time.Time) {
	if ev.Type == sessionType {
		b.session.Store(at.UnixNano())
		return
	}
	b.mu.Lock()
	b.got = append(b.got, ev.Type+" "+ev.InviteID)
	b.mu.Unlock()
}

func (b *inbox) complete() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.got) >= len(b.want)
}

// StormReport is what the reconnect storm measured and checked.
type StormReport struct {
	Resumes      bool          // the server opens events with a Session message (resume is implemented)
	Resubscribed time.Duration // from the drop until every device had its SUBACKs again
	Resumed      time.Duration // ... until every device had read its Session message (0 without Resumes)
	Delivered    time.Duration // ... until every device had every event sent to it (the senders stop StormTail after Resumed)
	Invitations  int           // invited then cancelled by the senders, each two events for an idle device
	Events       int           // events the idle devices should have handled
	Missing      int           // sent, never handled
	Extra        int           // handled, never sent (a duplicate among them)
	Disordered   int           // devices that handled what was sent, in another order
	Gaps         uint64        // seq jumps the devices saw
	Dups         uint64        // re-deliveries dropped by seq (not a fault: QoS 1)
	Fresh        uint64        // Session messages with resumed=false after the drop
	SenderErrors []string      // requests of the senders that failed
	Examples     []string      // a few devices whose events differ
}

// OK reports whether the storm lost, duplicated or reordered nothing, and
// every session was resumed.
func (r *StormReport) OK() bool {
	return r.Resumes && r.Missing == 0 && r.Extra == 0 && r.Disordered == 0 && r.Gaps == 0 && r.Fresh == 0 &&
		len(r.SenderErrors) == 0
}

// storm has the senders invite (then cancel) the idle devices in turn,
// drops every idle device's connection at once after lead, reconnects them
// all (clean session false: resume), keeps inviting for tail after the
// last resumed, and checks that every idle device handled exactly the
// events sent to it, in order. bound limits the whole.
func storm(ctx context.Context, cfg Config, idle []*Device, boxes []*inbox, senders []*Device, bound time.Duration) (*StormReport, error) {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	rep := &StormReport{}
	for _, d := range idle {
		rep.Resumes = rep.Resumes || d.Stats().Sessions.Load() > 0
	}
	base := make([]uint64, len(idle)) // Fresh before the drop
	for i, d := range idle {
		base[i] = d.Stats().Fresh.Load()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var invitations atomic.Int64
	for k, s := range senders {
		wg.Go(func() {
			fail := func(err error) {
				mu.Lock()
				rep.SenderErrors = append(rep.SenderErrors, err.Error())
				mu.Unlock()
			}
			for {
				for j := k; j < len(idle); j += len(senders) {
					select {
					case <-stop:
						return
					default:
					}
					id, err := s.Invite(idle[j].User)
					if err != nil {
						fail(err)
						return
					}
					boxes[j].expect("ReceiveNewInvitation", id)
					if err := s.Answer("cancel", id); err != nil {
						fail(err)
						return
					}
					boxes[j].expect("InvitationCancelled", id)
					invitations.Add(1)
				}
			}
		})
	}
	stopSenders := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopSenders()

	sleep(ctx, cfg.StormLead)
	drop := time.Now()
	for _, d := range idle {
		d.Drop()
	}
	if _, err := connectAll(ctx, idle, cfg.Concurrency, cfg.KeepAlive, bound); err != nil {
		return nil, fmt.Errorf("scale: reconnecting after the drop: %w", err)
	}
	rep.Resubscribed = time.Since(drop)
	if rep.Resumes {
		err := until(ctx, func() bool {
			for _, b := range boxes {
				if b.session.Load() < drop.UnixNano() {
					return false
				}
			}
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("scale: a device had no Session message since the drop: %w", err)
		}
		var last int64
		for _, b := range boxes {
			last = max(last, b.session.Load())
		}
		rep.Resumed = time.Unix(0, last).Sub(drop)
	}
	sleep(ctx, cfg.StormTail)
	stopSenders()
	if deliveredAll(ctx, boxes, idle) {
		rep.Delivered = time.Since(drop)
	}
	rep.Invitations = int(invitations.Load())
	for i, b := range boxes {
		st := idle[i].Stats()
		rep.Gaps += st.Gaps.Load()
		rep.Dups += st.Dups.Load()
		rep.Fresh += st.Fresh.Load() - base[i]
		b.mu.Lock()
		rep.Events += len(b.want)
		missing, extra := diff(b.want, b.got)
		rep.Missing += missing
		rep.Extra += extra
		if missing == 0 && extra == 0 && !slices.Equal(b.want, b.got) {
			rep.Disordered++
		}
		if !slices.Equal(b.want, b.got) && len(rep.Examples) < 3 {
			rep.Examples = append(rep.Examples, example(idle[i].User, b.want, b.got))
		}
		b.mu.Unlock()
	}
	return rep, nil
}

// stall is how long the storm waits for the next event while some are
// still missing: QoS 1 re-delivery is immediate, so a longer wait would
// only wait for what was lost.
const stall = 2 * time.Second

// deliveredAll waits until every inbox has as many events as were sent to
// it, and reports whether that happened before ctx ended or the events
// stopped coming for stall.
func deliveredAll(ctx context.Context, boxes []*inbox, idle []*Device) bool {
	count := func() (n uint64) {
		for _, d := range idle {
			n += d.Stats().Events.Load()
		}
		return n
	}
	last, progress := count(), time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	return until(ctx, func() bool {
		if n := count(); n != last {
			last, progress = n, time.Now()
		} else if time.Since(progress) > stall {
			cancel(errors.New("stalled"))
		}
		for _, b := range boxes {
			if !b.complete() {
				return false
			}
		}
		return true
	}) == nil
}

// example shows where what device handled first differs from what was sent
// to it.
func example(device string, want, got []string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	return fmt.Sprintf("%s: %d events sent, %d handled, the same up to #%d; then sent %q, handled %q",
		device, len(want), len(got), i, want[i:min(i+2, len(want))], got[i:min(i+2, len(got))])
}

// diff counts the elements of want not in got and of got not in want, as
// multisets.
func diff(want, got []string) (missing, extra int) {
	n := make(map[string]int, len(want))
	for _, w := range want {
		n[w]++
	}
	for _, g := range got {
		if n[g] > 0 {
			n[g]--
		} else {
			extra++
		}
	}
	for _, c := range n {
		missing += c
	}
	return missing, extra
}

// until polls cond until it holds or ctx ends.
func until(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
