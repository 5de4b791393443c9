package memory_test

import (
	"log/slog"
	"strings"
	"sync"
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

// A handler that panics must not take the process down: the panic is
// recovered and logged, and the session goes on with its next events.
func TestHubHandlerPanicIsRecovered(t *testing.T) {
	var logged strings.Builder
	var logMu sync.Mutex
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, nil)))
	defer slog.SetDefault(old)

	h := memory.NewHub()
	defer h.Close()
	got := make(chan string, 4)
	if _, err := h.Register("bob", "s", func(ev kernel.Event) {
		if ev.Data == "boom" {
			panic("listener bug")
		}
		got <- ev.Data
	}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"boom", "after"} {
		if err := h.Deliver("bob", "s", kernel.Event{Type: kernel.EventModified, InviteID: "i1", Data: d}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case d := <-got:
		if d != "after" {
			t.Fatalf("handled %q after the panic, want %q", d, "after")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the session got no event after its handler panicked, want the next one")
	}
	logMu.Lock()
	defer logMu.Unlock()
	for _, want := range []string{"listener bug", "user=bob", "session=s", "InvitationModified", "hub_test.go"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log of the panic: got %q, want it to contain %q", logged.String(), want)
		}
	}
}

// Close returns at once however the handlers behave: one blocked, one
// calling Close itself. The events queued before are still handled.
func TestHubCloseDoesNotWaitForHandlers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := memory.NewHub()
		release := make(chan struct{})
		if _, err := h.Register("alice", "s", func(kernel.Event) { <-release }); err != nil {
			t.Fatal(err)
		}
		closedInside := make(chan error, 1)
		if _, err := h.Register("bob", "s", func(kernel.Event) { closedInside <- h.Close() }); err != nil {
			t.Fatal(err)
		}
		later := make(chan struct{}, 1)
		if _, err := h.Register("carol", "s", func(kernel.Event) { later <- struct{}{} }); err != nil {
			t.Fatal(err)
		}
		h.Deliver("alice", "s", kernel.Event{})
		synctest.Wait() // alice's handler blocks
		h.Deliver("carol", "s", kernel.Event{})
		h.Deliver("bob", "s", kernel.Event{})
		if err := <-closedInside; err != nil {
			t.Errorf("Close from a handler: got %v, want nil", err)
		}
		if err := h.Close(); err != nil {
			t.Errorf("Close with a blocked handler: got %v, want nil", err)
		}
		select {
		case <-later:
		default:
			synctest.Wait()
			select {
			case <-later:
			default:
				t.Error("carol's event, queued before Close, was not handled")
			}
		}
		close(release)
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
