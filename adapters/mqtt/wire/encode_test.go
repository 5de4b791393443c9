package wire

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"pgregory.net/rapid"

	"github.com/beckonhq/beckon/kernel"
)

// TestAppendStringIsMarshals: every string of up to two bytes, every
// rune, and random strings rich in what JSON escapes are written as
// json.Marshal writes them.
func TestAppendStringIsMarshals(t *testing.T) {
	check := func(s string) {
		t.Helper()
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
	for i := range 1 << 16 {
		check(string([]byte{byte(i)}))
		check(string([]byte{byte(i >> 8), byte(i)}))
	}
	for r := rune(0); r <= utf8.MaxRune; r++ {
		check(string(r))
	}
	rapid.Check(t, func(t *rapid.T) {
		s := genEncodable(t, "s")
		want, _ := json.Marshal(s)
		if got := appendString([]byte("prefix"), s); !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got[len("prefix"):], want)
		}
	})
}

// TestEncodeReplyIsMarshals: the replies of the signaling operations,
// and any other, are json.Marshal's bytes.
func TestEncodeReplyIsMarshals(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := Reply[any]{Code: rapid.Int().Draw(t, "code"), Message: genEncodable(t, "message")}
		if rapid.Bool().Draw(t, "has id") {
			r.ID = genEncodable(t, "id")
		}
		switch rapid.IntRange(0, 3).Draw(t, "result") {
		case 1:
			r.Result = struct{}{}
		case 2:
			r.Result = InviteResult{InviteID: genEncodable(t, "inviteID")}
		case 3:
			r.Result = RecordsResult{Next: genEncodable(t, "next")}
		}
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := EncodeReply(r); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("EncodeReply(%+v) = %s, %v; want %s", r, got, err, want)
		}
	})
}

// TestEncodeEventIsMarshals: every event type's payload is json.Marshal's
// of its Event.
func TestEncodeEventIsMarshals(t *testing.T) {
	types := []kernel.EventType{kernel.EventNewInvitation, kernel.EventCancelled, kernel.EventAccepted,
		kernel.EventRejected, kernel.EventTimeout, kernel.EventModified}
	rapid.Check(t, func(t *rapid.T) {
		ev := kernel.Event{Type: rapid.SampledFrom(types).Draw(t, "type"), InviteID: genEncodable(t, "inviteID"),
			Inviter: genEncodable(t, "inviter"), Invitee: genEncodable(t, "invitee"), GroupID: genEncodable(t, "group"),
			Data: genEncodable(t, "data")}
		if n := rapid.IntRange(-1, 3).Draw(t, "invitees"); n >= 0 {
			ev.Invitees = make([]string, n)
			for i := range ev.Invitees {
				ev.Invitees[i] = genEncodable(t, "invitee")
			}
		}
		seq := rapid.Uint64().Draw(t, "seq")
		got, err := EncodeEvent(seq, ev)
		if err != nil {
			t.Fatal(err)
		}
		e := newEvent(seq, &ev)
		if want, _ := json.Marshal(e); !bytes.Equal(got, want) {
			t.Fatalf("EncodeEvent(%d, %+v) = %s, want %s", seq, ev, got, want)
		}
		// With every field set, whatever the type: appendJSON alone.
		all := Event{Seq: seq, Type: ev.Type.String(), InviteID: ev.InviteID, Inviter: &ev.Inviter, Invitee: &ev.Invitee,
			GroupID: &ev.GroupID, Invitees: ev.Invitees, Data: &ev.Data}
		if want, _ := json.Marshal(all); !bytes.Equal(all.appendJSON(nil), want) {
			t.Fatalf("appendJSON(%+v) = %s, want %s", all, all.appendJSON(nil), want)
		}
	})
}

// genEncodable is any string, often one rich in what JSON escapes,
// invalid UTF-8 included.
func genEncodable(t *rapid.T, label string) string {
	return rapid.OneOf(
		rapid.String(),
		rapid.StringOf(rapid.SampledFrom([]rune("\"\\/\b\f\n\r\t\x00\x1f\x7f<>&\u2028\u2029\ufffdé中😀a"))),
		rapid.Map(rapid.SliceOf(rapid.Byte()), func(b []byte) string { return string(b) }),
	).Draw(t, label)
}
