package memory_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/beckonhq/beckon/adapters/memory"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	"github.com/beckonhq/beckon/port/deliverytest"
)

func TestHubPort(t *testing.T) {
	deliverytest.Run(t, func(*testing.T) port.SessionRegistry { return memory.NewHub() })
}

// A handler that blocks holds one of the hub's goroutines; the hub starts
// another for the other sessions within a couple of StallAfter.
func TestHubBlockedHandlerDelaysOthersByStallAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := memory.NewHub()
		release := make(chan struct{})
		if _, err := h.Register("alice", "s", func(kernel.Event) { <-release }); err != nil {
			t.Fatal(err)
		}
		handled := make(chan struct{}, 1)
		if _, err := h.Register("bob", "s", func(kernel.Event) { handled <- struct{}{} }); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		h.Deliver("alice", "s", kernel.Event{})
		synctest.Wait() // alice's handler now blocks the only goroutine
		h.Deliver("bob", "s", kernel.Event{})
		<-handled
		if waited := time.Since(start); waited > 2*memory.StallAfter {
			t.Errorf("bob waited %v behind a blocked handler, want <= %v", waited, 2*memory.StallAfter)
		}
		close(release)
		h.Close()
	})
}
