package mqtt_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/mqtt/wire"
)

func decodeResult[T any](t *testing.T, what string, r replyMsg) T {
	t.Helper()
	var v T
	if r.Code != 0 {
		t.Fatalf("%s: got code %d (%s), want 0", what, r.Code, r.Message)
	}
	if err := json.Unmarshal(r.Result, &v); err != nil {
		t.Fatalf("%s: result %s: %v", what, r.Result, err)
	}
	return v
}

// QRY-1 over the wire: a device lists its own open invitations, outgoing
// and incoming, with states, data and deadline; nobody else's.
func TestListOpen(t *testing.T) {
	e := start(t, nil)
	alice := e.online(t, "alice", "phone")
	bob := e.online(t, "bob", "phone")
	carol := e.online(t, "carol", "phone")
	out := decodeResult[wire.InviteResult](t, "invite", alice.call("1", "invite", map[string]any{"invitee": "bob", "data": "d", "timeout": 30}))
	in := decodeResult[wire.InviteResult](t, "invite", carol.call("2", "invite", map[string]any{"invitee": "alice"}))

	l := decodeResult[wire.OpenResult](t, "alice's listOpen", alice.call("3", "listOpen", nil))
	if len(l.Invitations) != 2 {
		t.Fatalf("alice's listOpen: got %+v, want her invitation to bob and carol's to her", l)
	}
	o, i := l.Invitations[0], l.Invitations[1]
	if o.InviteID != out.InviteID || o.Inviter != "alice" || o.Incoming || o.Data != "d" || o.GroupID != "" ||
		strings.Join(o.Invitees, ",") != "bob" || strings.Join(o.States, ",") != "pending" || o.Deadline == "" {
		t.Errorf("outgoing: got %+v, want %s from alice to bob, pending, data d, with a deadline", o, out.InviteID)
	}
	if i.InviteID != in.InviteID || i.Inviter != "carol" || !i.Incoming || i.Deadline != "" {
		t.Errorf("incoming: got %+v, want %s from carol, incoming, without deadline (timeout 0)", i, in.InviteID)
	}
	created, err1 := time.Parse(time.RFC3339Nano, o.Created)
	deadline, err2 := time.Parse(time.RFC3339Nano, o.Deadline)
	if err1 != nil || err2 != nil || deadline.Sub(created) != 30*time.Second {
		t.Errorf("created %q, deadline %q: want RFC 3339 times 30s apart (%v, %v)", o.Created, o.Deadline, err1, err2)
	}
	b := decodeResult[wire.OpenResult](t, "bob's listOpen", bob.call("4", "listOpen", map[string]any{}))
	if len(b.Invitations) != 1 || b.Invitations[0].InviteID != out.InviteID || !b.Invitations[0].Incoming {
		t.Errorf("bob's listOpen: got %+v, want only alice's invitation to him, incoming", b)
	}
	if r := bob.call("5", "listOpen", map[string]any{"user": "alice"}); r.Code != 6017 || !strings.Contains(r.Message, "user") {
		t.Errorf("listOpen naming a user: got %+v, want 6017 (REM-1)", r)
	}
}

// REC-1, REC-2 over the wire: a device lists its own call records, newest
// first, paged by the cursor; another user's are never shown; a cursor the
// server did not give is 6017.
func TestRecords(t *testing.T) {
	e := start(t, nil)
	alice := e.online(t, "alice", "phone")
	bob := e.online(t, "bob", "phone")
	carol := e.online(t, "carol", "phone")
	id := func(r replyMsg) string { return decodeResult[wire.InviteResult](t, "invite", r).InviteID }
	a := id(alice.call("1", "invite", map[string]any{"invitee": "bob"}))
	bob.call("2", "accept", map[string]any{"inviteID": a})
	c := id(carol.call("3", "invite", map[string]any{"invitee": "alice"}))
	alice.call("4", "reject", map[string]any{"inviteID": c})
	x := id(alice.call("5", "invite", map[string]any{"invitee": "bob"}))
	alice.call("6", "cancel", map[string]any{"inviteID": x})

	want, err := e.rt.Records("alice", beckon.RecordCursor{}, 0)
	if err != nil || len(want) != 3 {
		t.Fatalf("Runtime.Records(alice): got %d, %v; want 3", len(want), err)
	}
	all := decodeResult[wire.RecordsResult](t, "records", alice.call("7", "records", nil))
	if len(all.Records) != 3 || all.Next != "" {
		t.Fatalf("records: got %+v, want 3 records and no next", all)
	}
	for i, r := range all.Records {
		w := want[i]
		if r.User != "alice" || r.InviteID != w.Call.InviteID || r.Outcome != w.Outcome.String() || r.Cursor != wire.EncodeCursor(w.Cursor()) {
			t.Errorf("record %d: got %+v, want alice's record of %s, %s, the runtime's cursor", i, r, w.Call.InviteID, w.Outcome)
		}
		if closed, err := time.Parse(time.RFC3339Nano, r.Closed); err != nil || closed.UnixNano() != w.Call.Closed {
			t.Errorf("record %d: closed %q, want %v", i, r.Closed, time.Unix(0, w.Call.Closed).UTC())
		}
	}
	if got := []string{all.Records[0].Outcome, all.Records[1].Outcome, all.Records[2].Outcome}; strings.Join(got, ",") != "cancelled,rejected,answered" {
		t.Errorf("outcomes newest first: got %v, want cancelled, rejected, answered", got)
	}

	first := decodeResult[wire.RecordsResult](t, "records page 1", alice.call("8", "records", map[string]any{"limit": 2}))
	if len(first.Records) != 2 || first.Next == "" || first.Next != all.Records[1].Cursor {
		t.Fatalf("records limit 2: got %+v, want the 2 newest and next = the second's cursor", first)
	}
	second := decodeResult[wire.RecordsResult](t, "records page 2", alice.call("9", "records", map[string]any{"after": first.Next, "limit": 2}))
	if len(second.Records) != 1 || second.Records[0].InviteID != a || second.Next != "" {
		t.Errorf("records after the first page: got %+v, want the oldest (%s) and no next", second, a)
	}

	b := decodeResult[wire.RecordsResult](t, "bob's records", bob.call("10", "records", map[string]any{}))
	if len(b.Records) != 2 || b.Records[0].InviteID != x || b.Records[1].InviteID != a {
		t.Errorf("bob's records: got %+v, want his two calls with alice only", b)
	}
	for _, r := range b.Records {
		if r.User != "bob" {
			t.Errorf("bob's records: got a record of %q", r.User)
		}
	}

	for _, c := range []struct{ name, args, want string }{
		{"NotBase64", `{"after":"!!"}`, "cursor"},
		{"Padded", `{"after":"` + all.Records[0].Cursor + `=="}`, "cursor"},
		{"NotACursor", `{"after":"` + base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdefghij")) + `"}`, "cursor"},
		{"ControlInInviteID", `{"after":"` + wire.EncodeCursor(beckon.RecordCursor{Closed: 1, InviteID: "a\nb"}) + `"}`, "control"},
		{"TooLong", `{"after":"` + strings.Repeat("A", 400) + `"}`, "too long"},
		{"NotAString", `{"after":5}`, "after"},
		{"LimitZero", `{"limit":0}`, "limit"},
		{"LimitTooLarge", `{"limit":1001}`, "limit"},
		{"UnknownField", `{"user":"bob"}`, "user"},
	} {
		t.Run(c.name, func(t *testing.T) {
			alice.publish("beckon/v1/alice/phone/req", []byte(`{"id":"bad","op":"records","args":`+c.args+`}`), nil)
			if r := alice.reply(); r.Code != 6017 || !strings.Contains(r.Message, c.want) {
				t.Errorf("got %+v, want 6017 naming %q", r, c.want)
			}
		})
	}
	alice.publish("beckon/v1/alice/phone/req", []byte(`{"id":"rid","op":"records","requestID":"r1"}`), nil)
	if r := alice.reply(); r.Code != 6017 || !strings.Contains(r.Message, "requestID") {
		t.Errorf("records with a requestID: got %+v, want 6017", r)
	}
}

// A cursor survives its wire form, the start included.
func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []beckon.RecordCursor{{}, {Closed: 1, InviteID: "x", Index: 7}, {Closed: -5, InviteID: "call-ü", Index: 1<<64 - 1},
		{Closed: 1 << 62, InviteID: strings.Repeat("i", 127)}} {
		got, err := wire.DecodeCursor(wire.EncodeCursor(c))
		if err != nil || got != c {
			t.Errorf("DecodeCursor(EncodeCursor(%+v)): got %+v, %v", c, got, err)
		}
	}
}
