package mqtt_test

import (
	"testing"
)

// A 1:1 call over MQTT: alice invites bob, bob's device hears it with seq
// 1, bob accepts, both hear InviteeAccepted (REM-3, DLV-1).
func TestCallEndToEnd(t *testing.T) {
	e := start(t, nil)
	alice := e.online(t, "alice", "phone")
	bob := e.online(t, "bob", "phone")
	r := alice.call("c-1", "invite", map[string]any{"invitee": "bob", "data": "video", "timeout": 30})
	if r.Code != 0 || r.ID != "c-1" || string(r.Result) != `{"inviteID":"call-1"}` {
		t.Fatalf("invite: got %+v (result %s), want code 0, id c-1, inviteID call-1", r, r.Result)
	}
	ev := bob.event()
	if ev.Seq != 1 || ev.Type != "ReceiveNewInvitation" || ev.InviteID != "call-1" || ev.Inviter != "alice" || ev.Data != "video" {
		t.Fatalf("bob: got %+v, want seq 1 ReceiveNewInvitation call-1 from alice", ev)
	}
	if r := bob.call("c-2", "accept", map[string]any{"inviteID": "call-1", "data": "ok"}); r.Code != 0 || string(r.Result) != "{}" {
		t.Fatalf("accept: got %+v, want code 0 and result {}", r)
	}
	for _, d := range []*device{alice, bob} {
		ev := d.event()
		want := uint64(1)
		if d == bob {
			want = 2
		}
		if ev.Type != "InviteeAccepted" || ev.Invitee != "bob" || ev.Seq != want {
			t.Errorf("%s: got %+v, want InviteeAccepted by bob with seq %d", d.cid, ev, want)
		}
	}
	if r := bob.call("c-3", "accept", map[string]any{"inviteID": "call-1"}); r.Code != 8010 {
		t.Errorf("accepting twice: got code %d, want 8010", r.Code)
	}
}
