package crash

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beckonhq/beckon/internal/scale"
)

// keepAlive is the devices' MQTT keep-alive; they ping at a third of it.
const keepAlive = 30 * time.Second

// retryPause is how long a device waits before connecting again, and a
// request before it is sent again, after a failure (a server down).
const retryPause = 50 * time.Millisecond

// device is one user's device: a scale.Device with clean session false,
// kept connected by keep, and what it handled.
type device struct {
	*scale.Device
	ready atomic.Bool // connected and subscribed: requests may be sent (keep)
	// away, when not 0, asks keep to drop the connection (a lost one: no
	// DISCONNECT) and stay away this long before connecting again.
	away atomic.Int64

	mu       sync.Mutex
	events   []scale.Event // the events handed to it, in order (Session notices excluded)
	notices  int           // Session notices
	fresh    int           // of them, resumed=false
	sessions chan struct{} // gets a value at each Session notice; capacity 1

	unanswered atomic.Int64                     // requests with no reply on a connection that stayed up (REM-3)
	connects   atomic.Int64                     // connections made (subscribed)
	note       func(format string, args ...any) // the run's log
}

func newDevice(addr, user, token string, note func(format string, args ...any)) *device {
	dv := &device{sessions: make(chan struct{}, 1), note: note}
	dv.Device = scale.NewDevice(scale.DeviceOptions{Addr: addr, User: user, ID: "phone", Token: token,
		OnEvent: dv.onEvent})
	return dv
}

// onEvent is the device's scale OnEvent: it gets each event once, by seq.
func (dv *device) onEvent(_ *scale.Device, ev scale.Event, _ time.Time) {
	dv.mu.Lock()
	defer dv.mu.Unlock()
	if ev.Type != "Session" {
		dv.events = append(dv.events, ev)
		return
	}
	dv.notices++
	if !ev.Resumed {
		dv.fresh++
	}
	select {
	case dv.sessions <- struct{}{}:
	default:
	}
}

// handled returns a copy of the events handled so far.
func (dv *device) handled() []scale.Event {
	dv.mu.Lock()
	defer dv.mu.Unlock()
	return append([]scale.Event(nil), dv.events...)
}

// counts returns the Session notices and how many were resumed=false.
func (dv *device) counts() (notices, fresh int) {
	dv.mu.Lock()
	defer dv.mu.Unlock()
	return dv.notices, dv.fresh
}

// keep connects the device whenever it is not, until ctx ends, pings, and
// drops the connection when asked to (away).
func (dv *device) keep(ctx context.Context) {
	lastPing := time.Now()
	lastErr := ""
	for ctx.Err() == nil {
		if dv.Up() && dv.ready.Load() {
			if away := time.Duration(dv.away.Swap(0)); away > 0 {
				dv.note("%s drops its connection for %v", dv.User, away.Round(time.Millisecond))
				dv.Drop()
				sleep(ctx, away)
				continue
			}
			if time.Since(lastPing) > keepAlive/3 {
				dv.Ping()
				lastPing = time.Now()
			}
			sleep(ctx, 10*time.Millisecond)
			continue
		}
		if dv.ready.Swap(false) {
			dv.note("%s lost its connection", dv.User)
		}
		if err := dv.Connect(keepAlive); err != nil {
			if err.Error() != lastErr {
				dv.note("%s could not connect: %v", dv.User, err)
				lastErr = err.Error()
			}
			sleep(ctx, retryPause+rand.N(retryPause))
			continue
		}
		lastPing, lastErr = time.Now(), ""
		dv.connects.Add(1)
		dv.note("%s connected", dv.User)
		dv.ready.Store(true)
	}
}

// started waits for the device's first Session notice: its session
// exists (join has applied it), so that it is durable before the first
// kill.
func (dv *device) started(ctx context.Context) error {
	select {
	case <-dv.sessions:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("crash: %s: no Session notice: %w", dv.User, ctx.Err())
	}
}

// call sends one request with requestID until it has an answer: a lost
// connection, a server shutting down (6013), a store failure (6022) or a
// refusal for rate (7008) send it again, with the same request ID, so that
// it is applied once (IDM-1). It returns the answer and how many sends it
// took.
func (dv *device) call(ctx context.Context, op, requestID string, args any) (scale.Reply, int, error) {
	for sends := 1; ; {
		if err := ctx.Err(); err != nil {
			return scale.Reply{}, sends, fmt.Errorf("crash: %s: %s %s: no answer: %w", dv.User, op, requestID, err)
		}
		if !dv.ready.Load() || !dv.Up() {
			sleep(ctx, 10*time.Millisecond)
			continue
		}
		r, err := dv.Call(op, args, requestID)
		if err == nil && r.Code != 6013 && r.Code != 6022 && r.Code != 7008 {
			return r, sends, nil
		}
		if err != nil && strings.Contains(err.Error(), "no reply within") && dv.Up() {
			dv.unanswered.Add(1)
		}
		sends++
		sleep(ctx, retryPause)
	}
}

// sleep sleeps for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// upTo is a random duration in [0, d).
func upTo(rng *rand.Rand, d time.Duration) time.Duration { return time.Duration(rng.Int64N(int64(d))) }
