package beckon_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/kernel"
)

// flushLog is a Delivery and a port.Flusher that writes down, in order,
// each event it is handed ("event <type> <user>") and each Flush.
type flushLog struct {
	mu    sync.Mutex
	lines []string
}

func (f *flushLog) Deliver(user, _ string, ev kernel.Event) error {
	f.add(fmt.Sprintf("event %v %s", ev.Type, user))
	return nil
}

func (f *flushLog) Flush() { f.add("flush") }

func (f *flushLog) add(line string) {
	f.mu.Lock()
	f.lines = append(f.lines, line)
	f.mu.Unlock()
}

func (f *flushLog) snapshot() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

// A Delivery that is a port.Flusher is flushed after each batch whose
// events it was handed: by the time an operation's caller is answered, its
// events are handed, and a Flush follows them (the MQTT adapter writes
// them only then).
func TestFlushFollowsEachBatchsEvents(t *testing.T) {
	d := &flushLog{}
	rt := newRuntime(t, beckon.WithDelivery(d))
	ctx := context.Background()
	for _, in := range []kernel.Input{kernel.Connect("alice", "a1"), kernel.Connect("bob", "b1")} {
		if _, err := rt.Do(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	res, err := rt.Do(ctx, kernel.Input{Op: kernel.OpInvite, User: "alice", Session: "a1", Invitees: []string{"bob"}, Timeout: 30})
	if err != nil || res.Err != nil {
		t.Fatalf("invite: %v, %v", err, res.Err)
	}
	if _, err := rt.Do(ctx, kernel.Input{Op: kernel.OpAccept, User: "bob", Session: "b1", InviteID: res.InviteID}); err != nil {
		t.Fatal(err)
	}
	rt.Close() // the deliverer is done: every Flush has happened
	lines := d.snapshot()
	events, pending := 0, 0
	for _, l := range lines {
		if l == "flush" {
			pending = 0
			continue
		}
		events++
		pending++
	}
	if events != 3 {
		t.Fatalf("got %d events (%q), want 3: the invitation to bob, the accept to both", events, lines)
	}
	if pending != 0 {
		t.Fatalf("got %q: %d events after the last flush, want every event followed by a Flush", lines, pending)
	}
}
