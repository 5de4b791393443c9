package memory

import (
	"strconv"
	"testing"
	"testing/synctest"

	"github.com/beckonhq/beckon/kernel"
)

// A burst of events for many sessions with fast handlers must be handled
// by a few goroutines, not one per session (that is the hub's point), and
// the goroutines beyond maxIdleWorkers must exit once idle.
func TestHubBurstUsesFewGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub()
		const sessions = 500
		handled := 0
		for i := range sessions {
			if _, err := h.Register("u"+strconv.Itoa(i), "s", func(kernel.Event) { handled++ }); err != nil {
				t.Fatal(err)
			}
		}
		most := 0
		for round := range 20 {
			for i := range sessions {
				if err := h.Deliver("u"+strconv.Itoa(i), "s", kernel.Event{Data: strconv.Itoa(round)}); err != nil {
					t.Fatal(err)
				}
				h.mu.Lock()
				most = max(most, h.workers)
				h.mu.Unlock()
			}
			synctest.Wait()
		}
		if handled != 20*sessions {
			t.Errorf("handled %d events, want %d", handled, 20*sessions)
		}
		if most > maxIdleWorkers {
			t.Errorf("up to %d goroutines handled the bursts, want <= %d", most, maxIdleWorkers)
		}
		h.Close()
		synctest.Wait() // Close does not wait for the goroutines; they exit once idle
		if h.workers != 0 {
			t.Errorf("%d goroutines left after Close", h.workers)
		}
	})
}
