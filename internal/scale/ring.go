package scale

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Latency summarizes ring latencies.
type Latency struct {
	N             int
	P50, P99, Max time.Duration
}

func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return Latency{N: len(ds), P50: at(0.50), P99: at(0.99), Max: ds[len(ds)-1]}
}

func (l Latency) String() string {
	us := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Microsecond)) }
	return fmt.Sprintf("p50 %s us, p99 %s us, max %s us (%d rings)", us(l.P50), us(l.P99), us(l.Max), l.N)
}

// timed is an event with the time it was read.
type timed struct {
	Event
	at time.Time
}

// ringer is one of the two active devices, its events queued for the
// ring loop.
type ringer struct {
	*Device
	events chan timed
}

func newRinger(o DeviceOptions) *ringer {
	r := &ringer{events: make(chan timed, 256)}
	o.OnEvent = func(_ *Device, ev Event, at time.Time) {
		if ev.Type != sessionType {
			r.events <- timed{ev, at}
		}
	}
	r.Device = NewDevice(o)
	return r
}

// await returns the time r read the event of type typ for inviteID,
// skipping others.
func (r *ringer) await(typ, inviteID string) (time.Time, error) {
	t := time.NewTimer(Patience)
	defer t.Stop()
	for {
		select {
		case ev := <-r.events:
			if ev.Type == typ && ev.InviteID == inviteID {
				return ev.at, nil
			}
		case <-t.C:
			return time.Time{}, fmt.Errorf("scale: %s: no %s for %s within %v", r.cid, typ, inviteID, Patience)
		}
	}
}

// ring makes a and b call each other in turn, warmup then n times: the
// caller invites, the callee gets ReceiveNewInvitation and accepts, the
// caller gets InviteeAccepted. A ring's latency runs from the invite's
// sending to the callee's reading of ReceiveNewInvitation.
func ring(ctx context.Context, a, b *ringer, warmup, n int) (Latency, error) {
	lat := make([]time.Duration, 0, n)
	for i := range warmup + n {
		if err := ctx.Err(); err != nil {
			return Latency{}, err
		}
		caller, callee := a, b
		if i%2 == 1 {
			caller, callee = b, a
		}
		start := time.Now()
		id, err := caller.Invite(callee.User)
		if err != nil {
			return Latency{}, err
		}
		rang, err := callee.await("ReceiveNewInvitation", id)
		if err != nil {
			return Latency{}, err
		}
		if err := callee.Answer("accept", id); err != nil {
			return Latency{}, err
		}
		if _, err := caller.await("InviteeAccepted", id); err != nil {
			return Latency{}, err
		}
		if i >= warmup {
			lat = append(lat, rang.Sub(start))
		}
	}
	return summarize(lat), nil
}
