package storetest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// SessionEvent is event seq of a session of user, resumable or not.
func SessionEvent(user, session string, seq uint64, resumable bool) kernel.SessionEvent {
	return kernel.SessionEvent{User: user, Session: session, Seq: seq, Resumable: resumable,
		Event: kernel.Event{Type: kernel.EventNewInvitation, InviteID: fmt.Sprintf("inv-%s-%d", session, seq),
			Inviter: "alice", Invitees: []string{user}, Data: "d"}}
}

// A store keeps the resumable events of a batch, not the others, until
// the session acknowledges them or ends; Ended, then Acked apply before
// Events, so a session that ends and starts anew in one batch keeps the
// new one's, whatever acknowledgements of the old one come with it;
// Kept lists them by user, session and Seq; a batch without records but
// with acknowledgements is taken.
func checkKept(t *testing.T, s port.Store) {
	ref := func(user, session string) kernel.SessionRef { return kernel.SessionRef{User: user, Session: session} }
	ev := SessionEvent
	mustAppend(t, s, port.Batch{Records: Records(1, 1), Events: []kernel.SessionEvent{
		ev("bob", "phone", 1, true), ev("bob", "tab", 1, false), ev("alice", "a", 1, true),
		ev("bob", "phone", 2, true), ev("carol", "c", 1, true)}})
	sameKept(t, "after the first batch", s, ev("alice", "a", 1, true), ev("bob", "phone", 1, true),
		ev("bob", "phone", 2, true), ev("carol", "c", 1, true))

	mustAppend(t, s, port.Batch{Acked: []port.Ack{{SessionRef: ref("bob", "phone"), Seq: 1}, {SessionRef: ref("alice", "a"), Seq: 5}}})
	sameKept(t, "after acknowledgements alone", s, ev("bob", "phone", 2, true), ev("carol", "c", 1, true))

	mustAppend(t, s, port.Batch{Records: Records(2, 2), Ended: []kernel.SessionRef{ref("carol", "c")},
		Events: []kernel.SessionEvent{ev("carol", "c", 1, true), ev("bob", "phone", 3, true)},
		Acked:  []port.Ack{{SessionRef: ref("bob", "phone"), Seq: 2}}})
	sameKept(t, "after an end and a new start in one batch", s, ev("bob", "phone", 3, true), ev("carol", "c", 1, true))

	mustAppend(t, s, port.Batch{Records: Records(3, 3), Ended: []kernel.SessionRef{ref("bob", "phone")},
		Events: []kernel.SessionEvent{ev("bob", "phone", 1, true), ev("bob", "phone", 2, true)},
		Acked:  []port.Ack{{SessionRef: ref("bob", "phone"), Seq: 3}}})
	sameKept(t, "after an end, an acknowledgement of the old session and the new one's events in one batch", s,
		ev("bob", "phone", 1, true), ev("bob", "phone", 2, true), ev("carol", "c", 1, true))
}

// Kept events survive a restart.
func checkKeptReopen(t *testing.T, s port.Store, reopen func(port.Store) port.Store) {
	ev := SessionEvent
	mustAppend(t, s, port.Batch{Records: Records(1, 1), Events: []kernel.SessionEvent{ev("bob", "phone", 7, true), ev("bob", "phone", 8, true)}})
	s = reopen(s)
	sameKept(t, "after reopen", s, ev("bob", "phone", 7, true), ev("bob", "phone", 8, true))
}

func sameKept(t *testing.T, what string, s port.Store, want ...kernel.SessionEvent) {
	t.Helper()
	got, err := s.Kept()
	if err != nil {
		t.Fatalf("Kept %s: %v", what, err)
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Kept %s:\n got %s\nwant %s", what, keptString(got), keptString(want))
	}
}

func keptString(es []kernel.SessionEvent) string {
	out := "["
	for i, e := range es {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%s/%s#%d", e.User, e.Session, e.Seq)
	}
	return out + "]"
}
