package mqtt_test

import (
	"encoding/json"
	"testing"

	"github.com/beckonhq/beckon/internal/mqttload"
	"github.com/beckonhq/beckon/kernel"
)

// v3 connects user's device with internal/mqttload, an MQTT 3.1.1 client
// written from docs/protocol.md alone (a second, independent client).
func (e *env) v3(t *testing.T, user, dev string) *mqttload.Device {
	t.Helper()
	n := e.eng.connects(user + "/" + dev)
	d, err := mqttload.Dial(mqttload.Options{Broker: "tcp://" + e.addr, User: user, Device: dev, Token: token(t, user)})
	if err != nil {
		t.Fatalf("%s/%s: %v", user, dev, err)
	}
	t.Cleanup(d.Close)
	waitFor(t, d.ClientID()+" online", func() bool { return e.eng.connects(user+"/"+dev) > n })
	return d
}

func next(t *testing.T, d *mqttload.Device) mqttload.Event {
	t.Helper()
	ev, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// The documented protocol, spoken by the independent MQTT 3.1.1 client: a
// 1:1 call accepted, one cancelled, one rejected, and the conversation's
// history (REM-3, DLV-1, HIS-1).
func TestInteropMQTT311(t *testing.T) {
	e := start(t, nil)
	alice := e.v3(t, "alice", "phone")
	bob := e.v3(t, "bob", "phone")

	id, err := alice.Invite("bob", "video", 30)
	if err != nil {
		t.Fatal(err)
	}
	ev := next(t, bob)
	if ev.Seq != 1 || ev.Type != "ReceiveNewInvitation" || ev.InviteID != id || ev.Inviter != "alice" ||
		ev.GroupID != "" || len(ev.Invitees) != 1 || ev.Invitees[0] != "bob" || ev.Data != "video" {
		t.Fatalf("bob: got %+v, want seq 1 ReceiveNewInvitation %s from alice to [bob], data video", ev, id)
	}
	if err := bob.Answer("accept", id, "ok"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		d   *mqttload.Device
		seq uint64
	}{{alice, 1}, {bob, 2}} {
		if ev := next(t, c.d); ev.Seq != c.seq || ev.Type != "InviteeAccepted" || ev.InviteID != id || ev.Invitee != "bob" || ev.Data != "ok" {
			t.Errorf("%s: got %+v, want seq %d InviteeAccepted of %s by bob, data ok", c.d.ClientID(), ev, c.seq, id)
		}
	}

	id2, err := alice.Invite("bob", "", 30)
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(t, bob); ev.Type != "ReceiveNewInvitation" || ev.InviteID != id2 || ev.Seq != 3 {
		t.Fatalf("bob: got %+v, want seq 3 ReceiveNewInvitation %s", ev, id2)
	}
	if err := alice.Answer("cancel", id2, "bye"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*mqttload.Device{alice, bob} { // every participant (CAN-3)
		if ev := next(t, d); ev.Type != "InvitationCancelled" || ev.InviteID != id2 || ev.Inviter != "alice" || ev.Data != "bye" {
			t.Errorf("%s: got %+v, want InvitationCancelled %s by alice, data bye", d.ClientID(), ev, id2)
		}
	}

	id3, err := alice.Invite("bob", "", 30)
	if err != nil {
		t.Fatal(err)
	}
	next(t, bob)
	if err := bob.Answer("reject", id3, "busy"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*mqttload.Device{alice, bob} {
		if ev := next(t, d); ev.Type != "InviteeRejected" || ev.InviteID != id3 || ev.Invitee != "bob" || ev.Data != "busy" {
			t.Errorf("%s: got %+v, want InviteeRejected %s by bob, data busy", d.ClientID(), ev, id3)
		}
	}
	if err := bob.Answer("accept", id3, ""); err == nil {
		t.Error("accepting a rejected invitation: got success, want code 8010")
	}

	r, err := bob.Call("history", map[string]any{"peer": "alice", "limit": 1000}, "")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Messages []struct {
			Seq    uint64          `json:"seq"`
			Sender string          `json:"sender"`
			At     string          `json:"at"`
			Info   json.RawMessage `json:"info"`
		} `json:"messages"`
	}
	if r.Code != 0 || json.Unmarshal(r.Result, &h) != nil {
		t.Fatalf("history: got %+v, want code 0 and {\"messages\": [...]}", r)
	}
	// Invite, accept; invite, cancel; invite, reject (HIS-1).
	if len(h.Messages) != 6 {
		t.Fatalf("history of alice and bob: got %d messages %s, want 6", len(h.Messages), r.Result)
	}
	for i, m := range h.Messages {
		if m.Seq != uint64(i+1) || m.At == "" || len(m.Info) == 0 || m.Info[0] != '{' {
			t.Errorf("history message %d: got %+v, want seq %d, a time and an info object", i, m, i+1)
		}
	}
	if s := h.Messages[1].Sender; s != "bob" {
		t.Errorf("history message 2 (the accept): sender %q, want bob", s)
	}
	r, err = bob.Call("history", map[string]any{"peer": "alice", "after": 5}, "")
	if err != nil || r.Code != 0 || json.Unmarshal(r.Result, &h) != nil || len(h.Messages) != 1 || h.Messages[0].Seq != 6 {
		t.Errorf("history after 5: got %+v (%v), want message 6 only", r, err)
	}
}

// HIS-4 over the wire: a group's members read its history, a non-member
// gets 10007, an unknown group 10010.
func TestHIS4GroupHistory(t *testing.T) {
	e := start(t, nil)
	if _, err := e.rt.Do(t.Context(), kernel.SetGroup("g", []string{"alice", "bob", "carol"})); err != nil {
		t.Fatal(err)
	}
	alice := e.v3(t, "alice", "phone")
	bob := e.v3(t, "bob", "phone")
	dave := e.v3(t, "dave", "phone")
	r, err := alice.Call("inviteInGroup", map[string]any{"group": "g", "invitees": []string{"bob", "carol"}, "timeout": 30}, "")
	if err != nil || r.Code != 0 {
		t.Fatalf("inviteInGroup: got %+v (%v), want code 0", r, err)
	}
	if ev := next(t, bob); ev.Type != "ReceiveNewInvitation" || ev.GroupID != "g" || len(ev.Invitees) != 2 {
		t.Errorf("bob: got %+v, want ReceiveNewInvitation in group g to 2 invitees", ev)
	}
	for _, c := range []struct {
		d     *mqttload.Device
		group string
		code  int
	}{{alice, "g", 0}, {bob, "g", 0}, {dave, "g", 10007}, {alice, "nope", 10010}} {
		r, err := c.d.Call("history", map[string]any{"group": c.group}, "")
		if err != nil {
			t.Fatal(err)
		}
		if r.Code != c.code {
			t.Errorf("%s reads group %s's history: got code %d (%s), want %d", c.d.ClientID(), c.group, r.Code, r.Message, c.code)
			continue
		}
		var h struct {
			Messages []struct{ Sender string } `json:"messages"`
		}
		if c.code == 0 && (json.Unmarshal(r.Result, &h) != nil || len(h.Messages) != 1 || h.Messages[0].Sender != "alice") {
			t.Errorf("%s reads group %s's history: got %s, want the invitation sent by alice", c.d.ClientID(), c.group, r.Result)
		}
	}
}
