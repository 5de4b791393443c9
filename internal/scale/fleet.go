package scale

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// fleet is every device of a run, so that one goroutine pings them all.
type fleet struct {
	mu   sync.Mutex
	devs []*Device
}

func (f *fleet) add(ds ...*Device) {
	f.mu.Lock()
	f.devs = append(f.devs, ds...)
	f.mu.Unlock()
}

func (f *fleet) all() []*Device {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.devs
}

// pingStep is how often the pinger wakes; each time it pings its share of
// the fleet, so that every device pings twice per keep-alive.
const pingStep = 100 * time.Millisecond

// ping pings the fleet's connected devices until ctx ends.
func (f *fleet) ping(ctx context.Context, keepAlive time.Duration) {
	t := time.NewTicker(pingStep)
	defer t.Stop()
	next := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		devs := f.all()
		share := len(devs)*int(pingStep)/int(keepAlive/2) + 1
		for range min(share, len(devs)) {
			if next >= len(devs) {
				next = 0
			}
			devs[next].Ping()
			next++
		}
	}
}

// lost is how many connections of the fleet ended without Drop or Close.
func (f *fleet) lost() uint64 {
	var n uint64
	for _, d := range f.all() {
		n += d.Stats().Lost.Load()
	}
	return n
}

// connectAll connects devs, at most concurrency at once, and returns how
// long it took; the first failure stops it. bound limits the whole.
func connectAll(ctx context.Context, devs []*Device, concurrency int, keepAlive, bound time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	start := time.Now()
	var next, done atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range min(concurrency, len(devs)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(devs) {
					return
				}
				if err := devs[i].Connect(keepAlive); err != nil {
					once.Do(func() { first = err })
					cancel()
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if first != nil {
		return 0, first
	}
	if n := int(done.Load()); n < len(devs) {
		return 0, fmt.Errorf("scale: %d of %d devices connected within %v: %w", n, len(devs), bound, context.Cause(ctx))
	}
	return time.Since(start), nil
}

// closeAll disconnects devs cleanly, many at once.
func closeAll(devs []*Device) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(64, len(devs)) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(devs); i = int(next.Add(1)) - 1 {
				devs[i].Close()
			}
		})
	}
	wg.Wait()
}
