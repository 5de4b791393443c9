// Package deliverytest states the contract of port.SessionRegistry (and
// so of port.Delivery) once, as a test suite that every delivery adapter
// runs (as go-cloud's drivertest does for its drivers):
//
//	func TestHubPort(t *testing.T) {
//		deliverytest.Run(t, func(*testing.T) port.SessionRegistry { return memory.NewHub() })
//	}
//
// Each check is a subtest named for what it checks; a failure reads "got X,
// want Y". The checks wait for handlers in real time, up to a generous
// limit, so that an adapter with goroutines or a network can run them.
package deliverytest

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// patience is how long a check waits for a handler before it fails.
const patience = 10 * time.Second

// Run checks the SessionRegistry contract, each check on a new registry
// from newRegistry. A registry that is an io.Closer is closed when its
// check ends, and the Close check runs; otherwise it is skipped.
func Run(t *testing.T, newRegistry func(t *testing.T) port.SessionRegistry) {
	kept := func(t *testing.T) port.SessionRegistry {
		r := newRegistry(t)
		if c, ok := r.(io.Closer); ok {
			t.Cleanup(func() { _ = c.Close() })
		}
		return r
	}
	checks := []struct {
		name string
		run  func(t *testing.T, r port.SessionRegistry)
	}{
		{"OrderPerSession", checkOrderPerSession},
		{"DeliverDoesNotWait", checkDeliverDoesNotWait},
		{"BlockedSessionDoesNotStallOthers", checkBlockedSessionDoesNotStallOthers},
		{"UnknownSession", checkUnknownSession},
		{"RegisterTaken", checkRegisterTaken},
		{"Unregister", checkUnregister},
		{"UnregisterFromHandler", checkUnregisterFromHandler},
		{"Close", checkClose},
		{"CloseFromHandler", checkCloseFromHandler},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, kept(t)) })
	}
}

// Each session gets its events in the order Deliver was called for it,
// one at a time, whatever the other sessions get (DLV-2).
func checkOrderPerSession(t *testing.T, r port.SessionRegistry) {
	const n = 200
	sessions := [][2]string{{"alice", "phone"}, {"alice", "laptop"}, {"bob", "phone"}}
	logs := make([]*eventLog, len(sessions))
	for i, s := range sessions {
		logs[i] = newEventLog()
		var busy atomic.Int32
		mustRegister(t, r, s[0], s[1], func(ev kernel.Event) {
			if busy.Add(1) != 1 {
				t.Errorf("%s/%s: got two handler calls at once, want one at a time", s[0], s[1])
			}
			logs[i].handle(ev)
			busy.Add(-1)
		})
	}
	for k := range n {
		for _, s := range sessions {
			mustDeliver(t, r, s[0], s[1], event(strconv.Itoa(k)))
		}
	}
	for i, s := range sessions {
		got := logs[i].wait(t, n)
		for k, d := range got {
			if d != strconv.Itoa(k) {
				t.Fatalf("%s/%s: event %d: got %s, want %d (in Deliver order)", s[0], s[1], k, d, k)
			}
		}
	}
}

// Deliver queues and returns: a handler that does not return does not
// hold Deliver up, and the events queued meanwhile are handled once it
// does.
func checkDeliverDoesNotWait(t *testing.T, r port.SessionRegistry) {
	const n = 1000
	release := make(chan struct{})
	log := newEventLog()
	mustRegister(t, r, "bob", "s", func(ev kernel.Event) { <-release; log.handle(ev) })
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		for k := range n {
			if err := r.Deliver("bob", "s", event(strconv.Itoa(k))); err != nil {
				t.Errorf("Deliver %d: got %v, want nil", k, err)
				return
			}
		}
	}()
	select {
	case <-delivered:
	case <-time.After(patience):
		close(release)
		t.Fatalf("Deliver of %d events to a blocked handler: still running after %v, want it to return at once", n, patience)
	}
	close(release)
	log.wait(t, n)
}

// A session whose handler blocks does not stop the others' events.
func checkBlockedSessionDoesNotStallOthers(t *testing.T, r port.SessionRegistry) {
	release := make(chan struct{})
	defer close(release)
	entered := make(chan struct{}, 1)
	mustRegister(t, r, "alice", "s", func(kernel.Event) {
		entered <- struct{}{}
		<-release
	})
	bob, carol := newEventLog(), newEventLog()
	mustRegister(t, r, "bob", "s", bob.handle)
	mustRegister(t, r, "carol", "s", carol.handle)
	mustDeliver(t, r, "alice", "s", event("1"))
	select {
	case <-entered:
	case <-time.After(patience):
		t.Fatalf("alice's handler: not called after %v, want it called", patience)
	}
	mustDeliver(t, r, "alice", "s", event("2"))
	mustDeliver(t, r, "bob", "s", event("1"))
	mustDeliver(t, r, "carol", "s", event("1"))
	mustDeliver(t, r, "bob", "s", event("2"))
	if got := bob.wait(t, 2); got[0] != "1" || got[1] != "2" {
		t.Fatalf("bob behind a blocked alice: got %v, want [1 2]", got)
	}
	carol.wait(t, 1)
}

// Deliver to a session never registered fails with ErrNoSession.
func checkUnknownSession(t *testing.T, r port.SessionRegistry) {
	mustRegister(t, r, "bob", "phone", func(kernel.Event) {})
	for _, s := range [][2]string{{"bob", "laptop"}, {"carol", "phone"}} {
		if err := r.Deliver(s[0], s[1], event("x")); !errors.Is(err, port.ErrNoSession) {
			t.Errorf("Deliver to %s/%s, never registered: got %v, want an error matching port.ErrNoSession", s[0], s[1], err)
		}
	}
}

// Register fails for a pair already registered (ErrSessionTaken) and for
// a nil handler; another session of the same user is another pair.
func checkRegisterTaken(t *testing.T, r port.SessionRegistry) {
	first := newEventLog()
	mustRegister(t, r, "bob", "s", first.handle)
	if _, err := r.Register("bob", "s", func(kernel.Event) {}); !errors.Is(err, port.ErrSessionTaken) {
		t.Errorf("Register of bob/s twice: got %v, want an error matching port.ErrSessionTaken", err)
	}
	if _, err := r.Register("bob", "t", nil); err == nil {
		t.Error("Register with a nil handler: got nil, want an error")
	}
	other := newEventLog()
	mustRegister(t, r, "bob", "t", other.handle)
	mustDeliver(t, r, "bob", "s", event("to s"))
	mustDeliver(t, r, "bob", "t", event("to t"))
	if got := first.wait(t, 1); got[0] != "to s" {
		t.Errorf("bob/s after a refused second Register: got %v, want [to s] (the first handler keeps the session)", got)
	}
	if got := other.wait(t, 1); got[0] != "to t" {
		t.Errorf("bob/t: got %v, want [to t]", got)
	}
}

// The events accepted before unregister are handled; after it, Deliver
// fails with ErrNoSession and the handler hears nothing more. unregister
// may be called again, and the session registered anew.
func checkUnregister(t *testing.T, r port.SessionRegistry) {
	old := newEventLog()
	unregister := mustRegister(t, r, "bob", "s", old.handle)
	mustDeliver(t, r, "bob", "s", event("before"))
	unregister()
	unregister()
	if err := r.Deliver("bob", "s", event("after")); !errors.Is(err, port.ErrNoSession) {
		t.Errorf("Deliver after unregister: got %v, want an error matching port.ErrNoSession", err)
	}
	renewed := newEventLog()
	mustRegister(t, r, "bob", "s", renewed.handle)
	mustDeliver(t, r, "bob", "s", event("renewed"))
	if got := renewed.wait(t, 1); got[0] != "renewed" {
		t.Errorf("bob/s registered anew: got %v, want [renewed]", got)
	}
	if got := old.wait(t, 1); got[0] != "before" {
		t.Errorf("unregistered handler: got %v, want [before] (what was accepted before unregister)", got)
	}
	time.Sleep(10 * time.Millisecond) // room for a wrong late call
	if got := old.events(); len(got) != 1 {
		t.Errorf("unregistered handler: got %v, want only [before]", got)
	}
}

// A handler may unregister its own session; what comes after is refused.
func checkUnregisterFromHandler(t *testing.T, r port.SessionRegistry) {
	log := newEventLog()
	var unregister func()
	ready := make(chan struct{})
	unregister = mustRegister(t, r, "bob", "s", func(ev kernel.Event) {
		<-ready
		unregister()
		log.handle(ev)
	})
	close(ready)
	mustDeliver(t, r, "bob", "s", event("1"))
	log.wait(t, 1)
	if err := r.Deliver("bob", "s", event("2")); !errors.Is(err, port.ErrNoSession) {
		t.Errorf("Deliver after the handler unregistered: got %v, want an error matching port.ErrNoSession", err)
	}
}

// After Close, Register and Deliver fail with ErrClosed.
func checkClose(t *testing.T, r port.SessionRegistry) {
	c, ok := r.(io.Closer)
	if !ok {
		t.Skip("the registry has no Close")
	}
	mustRegister(t, r, "bob", "s", func(kernel.Event) {})
	if err := c.Close(); err != nil {
		t.Fatalf("Close: got %v, want nil", err)
	}
	if _, err := r.Register("carol", "s", func(kernel.Event) {}); !errors.Is(err, port.ErrClosed) {
		t.Errorf("Register after Close: got %v, want an error matching port.ErrClosed", err)
	}
	for _, user := range []string{"bob", "carol"} {
		if err := r.Deliver(user, "s", event("x")); !errors.Is(err, port.ErrClosed) {
			t.Errorf("Deliver to %s after Close: got %v, want an error matching port.ErrClosed", user, err)
		}
	}
}

// Close does not wait for a handler: one may call it, and one that blocks
// does not hold it up.
func checkCloseFromHandler(t *testing.T, r port.SessionRegistry) {
	c, ok := r.(io.Closer)
	if !ok {
		t.Skip("the registry has no Close")
	}
	release := make(chan struct{})
	defer close(release)
	mustRegister(t, r, "alice", "s", func(kernel.Event) { <-release })
	closed := make(chan error, 1)
	mustRegister(t, r, "bob", "s", func(kernel.Event) { closed <- c.Close() })
	mustDeliver(t, r, "alice", "s", event("blocks"))
	mustDeliver(t, r, "bob", "s", event("closes"))
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close from a handler, another handler blocked: got %v, want nil", err)
		}
	case <-time.After(patience):
		t.Fatalf("Close from a handler, another handler blocked: still waiting after %v, want it to return", patience)
	}
}

// event returns an event told apart by its Data.
func event(data string) kernel.Event {
	return kernel.Event{Type: kernel.EventModified, InviteID: "i1", Inviter: "alice", Data: data}
}

func mustRegister(t *testing.T, r port.SessionRegistry, user, session string, handle func(kernel.Event)) (unregister func()) {
	t.Helper()
	unregister, err := r.Register(user, session, handle)
	if err != nil {
		t.Fatalf("Register %s/%s: got %v, want nil", user, session, err)
	}
	return unregister
}

func mustDeliver(t *testing.T, r port.SessionRegistry, user, session string, ev kernel.Event) {
	t.Helper()
	if err := r.Deliver(user, session, ev); err != nil {
		t.Fatalf("Deliver to %s/%s: got %v, want nil", user, session, err)
	}
}

// eventLog collects the Data of the events a handler is called with.
type eventLog struct {
	mu      sync.Mutex
	data    []string
	changed chan struct{} // capacity 1: "data may have grown"
}

func newEventLog() *eventLog { return &eventLog{changed: make(chan struct{}, 1)} }

func (l *eventLog) handle(ev kernel.Event) {
	l.mu.Lock()
	l.data = append(l.data, ev.Data)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

func (l *eventLog) events() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.data...)
}

// wait returns the events once there are n of them, and fails the test if
// they do not come within patience.
func (l *eventLog) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(patience)
	for {
		if got := l.events(); len(got) >= n {
			return got
		}
		select {
		case <-l.changed:
		case <-deadline:
			got := l.events()
			t.Fatalf("after %v: got %d events %s, want %d", patience, len(got), clip(got), n)
		}
	}
}

// clip shortens a list of events for a message.
func clip(events []string) string {
	if len(events) > 10 {
		return fmt.Sprintf("%v...", events[:10])
	}
	return fmt.Sprint(events)
}
