package beckon_test

import (
	"testing"
	"testing/synctest"

	"github.com/beckonhq/beckon"
)

// HIS-4: a group's history is read by its current members only; the raw
// Runtime.History stays unchecked for trusted code.
func TestHIS4_GroupHistoryMembersOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		alice, _ := login(t, rt, "alice", "phone")
		eve, _ := login(t, rt, "eve", "phone")
		must(t, rt.SetGroup(ctx, "g", []string{"alice", "bob"}))
		_, err := alice.InviteInGroup(ctx, "g", []string{"bob"}, "secret")
		must(t, err)
		got, err := eve.GroupHistory("g", 0, 0)
		wantCode(t, "a non-member reading a group's history", err, 10007)
		if len(got) != 0 {
			t.Errorf("a non-member's read: got %d messages, want none", len(got))
		}
		if msgs, err := alice.GroupHistory("g", 0, 0); err != nil || len(msgs) != 1 {
			t.Errorf("a member's read: got %d messages, %v; want 1", len(msgs), err)
		}
		if _, err := rt.HistoryAs(ctx, "eve", beckon.C2C("alice", "bob"), 0, 0); beckon.Code(err) != 6017 {
			t.Errorf("HistoryAs(eve, alice and bob): got %v, want 6017", err)
		}
		must(t, rt.JoinGroup(ctx, "g", "eve"))
		if msgs, err := eve.GroupHistory("g", 0, 0); err != nil || len(msgs) != 1 {
			t.Errorf("after joining: got %d messages, %v; want 1", len(msgs), err)
		}
		if msgs, err := rt.History(beckon.GroupConversation("g"), 0, 0); err != nil || len(msgs) != 1 {
			t.Errorf("Runtime.History (unchecked): got %d messages, %v; want 1", len(msgs), err)
		}
	})
}
