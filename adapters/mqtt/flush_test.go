package mqtt_test

import (
	"testing"
	"time"

	"github.com/beckonhq/beckon/internal/mqttload"
	"github.com/beckonhq/beckon/kernel"
)

// Once the runtime flushes after its batches (port.Flusher), an event
// kept for a connection waits for the next Flush: the connection then
// writes the batch's events, with the reply of its own request if it has
// one, in one write.
func TestEventsWaitForFlush(t *testing.T) {
	e := start(t, nil) // the runtime has flushed once, after the kept events at start
	dev, err := mqttload.Dial(mqttload.Options{Broker: "tcp://" + e.addr, User: "bob", Device: "b1", Token: token(t, "bob")})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	for deadline := time.Now().Add(patience); e.eng.connects("bob/b1") == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the device's session did not start within %v", patience)
		}
	}
	ev := kernel.SessionEvent{User: "bob", Session: "b1", Seq: 1,
		Event: kernel.Event{Type: kernel.EventCancelled, InviteID: "call-x", Inviter: "alice"}}
	if err := e.srv.Keep(ev); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-dev.Events:
		t.Fatalf("got event %+v before Flush, want it held until Flush", got)
	case <-time.After(200 * time.Millisecond):
	}
	e.srv.Flush()
	select {
	case got := <-dev.Events:
		if got.Seq != 1 || got.Type != "InvitationCancelled" || got.InviteID != "call-x" {
			t.Fatalf("got event %+v, want seq 1 InvitationCancelled call-x", got)
		}
	case <-time.After(patience):
		t.Fatalf("no event within %v of Flush", patience)
	}
}
