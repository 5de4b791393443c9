package beckon_test

import (
	"testing"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/memory"
	"github.com/beckonhq/beckon/kernel"
)

// outcomes lists a user's records as "inviteID:outcome".
func outcomes(t *testing.T, rs []beckon.CallRecord, err error) []string {
	t.Helper()
	must(t, err)
	var out []string
	for _, r := range rs {
		out = append(out, r.Call.InviteID+":"+r.Outcome.String())
	}
	return out
}

// TestOpenInvitationsAndRecords (QRY-1, REC-1, REC-2): a client lists
// what is ringing for it and from it; once closed, each participant has a
// record with its outcome, newest first, and it survives a restart on the
// same store.
func TestOpenInvitationsAndRecords(t *testing.T) {
	store := memory.NewStore()
	rt := newRuntime(t, beckon.WithStore(store))
	alice, _ := login(t, rt, "alice", "phone")
	bob, _ := login(t, rt, "bob", "phone")
	c1, err := alice.Invite(ctx, "bob", "d1")
	must(t, err)
	c2, err := bob.Invite(ctx, "alice", "d2")
	must(t, err)
	open, err := alice.OpenInvitations(ctx)
	must(t, err)
	if len(open) != 2 || open[0].InviteID != c1 || open[0].Incoming || open[1].InviteID != c2 || !open[1].Incoming ||
		open[0].Data != "d1" || !open[0].Deadline.IsZero() || open[0].States[0] != kernel.Pending {
		t.Fatalf("alice's open invitations: got %+v, want %s outgoing and %s incoming, pending, no deadline", open, c1, c2)
	}
	must(t, bob.Accept(ctx, c1, ""))
	must(t, bob.Cancel(ctx, c2, ""))
	if open, err := alice.OpenInvitations(ctx); err != nil || len(open) != 0 {
		t.Fatalf("alice's open invitations once closed: got %+v, %v; want none", open, err)
	}
	wantRecords := func(who string, c *beckon.Client, want ...string) {
		t.Helper()
		rs, err := c.Records(beckon.RecordCursor{}, 0)
		if got := outcomes(t, rs, err); !slicesEqual(got, want) {
			t.Fatalf("%s's records: got %v, want %v", who, got, want)
		}
	}
	wantRecords("alice", alice, c2+":cancelled", c1+":answered")
	wantRecords("bob", bob, c2+":cancelled", c1+":accepted")
	page, err := alice.Records(beckon.RecordCursor{}, 1)
	must(t, err)
	next, err := alice.Records(page[0].Cursor(), 1)
	if got := outcomes(t, next, err); !slicesEqual(got, []string{c1 + ":answered"}) {
		t.Fatalf("alice's second page of 1: got %v, want [%s:answered]", got, c1)
	}
	must(t, rt.Close())

	rt = newRuntime(t, beckon.WithStore(store))
	rs, err := rt.Records("bob", beckon.RecordCursor{}, 0)
	if got := outcomes(t, rs, err); !slicesEqual(got, []string{c2 + ":cancelled", c1 + ":accepted"}) {
		t.Fatalf("bob's records after a restart: got %v", got)
	}
	if rs, err := rt.Records("eve", beckon.RecordCursor{}, 0); err != nil || len(rs) != 0 {
		t.Fatalf("records of a user in no call: got %v, %v; want none", rs, err)
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
