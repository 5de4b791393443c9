package memory_test

import (
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beckonhq/beckon/adapters/memory"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

func TestHubDeliversInOrderPerSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := memory.NewHub()
		var mu sync.Mutex
		got := map[string][]string{}
		for _, s := range []string{"phone", "laptop"} {
			_, err := h.Register("alice", s, func(ev kernel.Event) {
				mu.Lock()
				got[s] = append(got[s], ev.Data)
				mu.Unlock()
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		for i := range 100 {
			for _, s := range []string{"phone", "laptop"} {
				if err := h.Deliver("alice", s, kernel.Event{Type: kernel.EventModified, Data: strconv.Itoa(i)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		synctest.Wait()
		for _, s := range []string{"phone", "laptop"} {
			if len(got[s]) != 100 {
				t.Fatalf("%s got %d events", s, len(got[s]))
			}
			for i, d := range got[s] {
				if d != strconv.Itoa(i) {
					t.Fatalf("%s: event %d is %s (out of order)", s, i, d)
				}
			}
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestHubSlowHandlerDoesNotBlockDeliver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := memory.NewHub()
		block := make(chan struct{})
		n := 0
		_, err := h.Register("bob", "s", func(kernel.Event) { <-block; n++ })
		if err != nil {
			t.Fatal(err)
		}
		for range 1000 { // the handler is stuck on the first; Deliver still returns
			if err := h.Deliver("bob", "s", kernel.Event{}); err != nil {
				t.Fatal(err)
			}
		}
		close(block)
		h.Close() // waits until the queue is handled
		if n != 1000 {
			t.Errorf("handled %d", n)
		}
	})
}

func TestHubRegisterUnregister(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := memory.NewHub()
		if err := h.Deliver("bob", "s", kernel.Event{}); !errors.Is(err, port.ErrNoSession) {
			t.Errorf("deliver to nobody: %v", err)
		}
		var n int
		unregister, err := h.Register("bob", "s", func(kernel.Event) { n++ })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Register("bob", "s", func(kernel.Event) {}); !errors.Is(err, port.ErrSessionTaken) {
			t.Errorf("second register: %v", err)
		}
		if _, err := h.Register("bob", "t", nil); err == nil {
			t.Error("register without a handler")
		}
		h.Deliver("bob", "s", kernel.Event{})
		unregister()
		unregister()
		if err := h.Deliver("bob", "s", kernel.Event{}); !errors.Is(err, port.ErrNoSession) {
			t.Errorf("deliver after unregister: %v", err)
		}
		synctest.Wait()
		if n != 1 {
			t.Errorf("handled %d, want the one queued before unregister", n)
		}
		// Unregister from inside the handler.
		var un func()
		un, _ = h.Register("bob", "s", func(kernel.Event) { un() })
		h.Deliver("bob", "s", kernel.Event{})
		synctest.Wait()
		h.Close()
		if _, err := h.Register("carol", "s", func(kernel.Event) {}); !errors.Is(err, port.ErrClosed) {
			t.Errorf("register after Close: %v", err)
		}
		if err := h.Deliver("carol", "s", kernel.Event{}); !errors.Is(err, port.ErrClosed) {
			t.Errorf("deliver after Close: %v", err)
		}
	})
}

// A handler that blocks holds one of the hub's goroutines; other sessions'
// events must still be handled, within a couple of StallAfter.
func TestHubBlockedHandlerDoesNotStopOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := memory.NewHub()
		release := make(chan struct{})
		_, err := h.Register("alice", "s", func(kernel.Event) { <-release })
		if err != nil {
			t.Fatal(err)
		}
		handled := make(chan string, 10)
		for _, u := range []string{"bob", "carol"} {
			if _, err := h.Register(u, "s", func(ev kernel.Event) { handled <- u + ":" + ev.Data }); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		h.Deliver("alice", "s", kernel.Event{Data: "1"})
		synctest.Wait() // alice's handler now blocks the only goroutine
		h.Deliver("bob", "s", kernel.Event{Data: "1"})
		h.Deliver("carol", "s", kernel.Event{Data: "1"})
		h.Deliver("bob", "s", kernel.Event{Data: "2"})
		var got []string
		for range 3 {
			select {
			case ev := <-handled:
				got = append(got, ev)
			case <-time.After(time.Second):
				t.Fatalf("after 1s behind a blocked handler, others handled only %v", got)
			}
		}
		if waited := time.Since(start); waited > 2*memory.StallAfter {
			t.Errorf("other sessions waited %v behind a blocked handler, want <= %v", waited, 2*memory.StallAfter)
		}
		bob1, bob2 := slices.Index(got, "bob:1"), slices.Index(got, "bob:2")
		if bob1 < 0 || bob2 < bob1 || !slices.Contains(got, "carol:1") {
			t.Errorf("handled %v, want bob:1 before bob:2, and carol:1", got)
		}
		close(release)
		h.Close()
	})
}
