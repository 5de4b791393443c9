package fuzz

import (
	"errors"
	"testing"

	"github.com/beckonhq/beckon/adapters/mqtt"
	"github.com/beckonhq/beckon/adapters/mqtt/wire"
	"github.com/beckonhq/beckon/kernel"
)

// FuzzMQTTRequest: the MQTT request decoder never panics; every payload
// either decodes to a request of the connection's user and session (a
// signaling input, a history query, listOpen or a records query) or gives
// a 6017 error (REM-1, REM-3). A records cursor it accepts is one the
// server could have given: encoding it again gives it back.
func FuzzMQTTRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		req, err := mqtt.DecodeRequest(payload, "alice", "phone", 4096)
		if err != nil {
			if !errors.Is(err, kernel.ErrInvalidParameters) || kernel.Code(err) != 6017 {
				t.Fatalf("error %v: code %d, want one wrapping ErrInvalidParameters (6017)", err, kernel.Code(err))
			}
			return
		}
		switch {
		case len(payload) > 4096:
			t.Fatalf("accepted %d bytes, above the limit", len(payload))
		case ops(req) != 1:
			t.Fatalf("got %+v, want exactly one of Input, History, ListOpen and Records", req)
		case req.Input != nil && (req.Input.User != "alice" || req.Input.Session != "phone" ||
			req.Input.Op < kernel.OpInvite || req.Input.Op > kernel.OpModify):
			t.Fatalf("got input %+v, want a signaling op of alice/phone", *req.Input)
		case req.History != nil && (req.History.Limit < 1 || req.History.Limit > 1000 ||
			req.History.Conv.Group == "" && req.History.Conv.A != "alice" && req.History.Conv.B != "alice"):
			t.Fatalf("got history query %+v, want one of alice's conversations or a group, limit 1..1000", *req.History)
		case req.Records != nil && (req.Records.Limit < 1 || req.Records.Limit > 1000):
			t.Fatalf("got records query %+v, want limit 1..1000", *req.Records)
		}
		if q := req.Records; q != nil {
			c, err := wire.DecodeCursor(wire.EncodeCursor(q.After))
			if err != nil || c != q.After {
				t.Fatalf("cursor %+v: encoded and decoded again: got %+v, %v", q.After, c, err)
			}
		}
	})
}

// requestSeeds are requests of every op, and a few malformed ones.
var requestSeeds = []string{
	`{"id":"c-17","op":"invite","requestID":"r-17","args":{"invitee":"bob","data":"{\"call\":\"video\"}","timeout":30}}`,
	`{"id":"1","op":"inviteInGroup","args":{"group":"g","invitees":["a","b"],"onlineUserOnly":true}}`,
	`{"id":"2","op":"accept","args":{"inviteID":"x","data":""}}`,
	`{"id":"3","op":"history","args":{"peer":"bob","after":3,"limit":10}}`,
	`{"id":"4","op":"invite","args":{"invitee":"bob","push":{"desc":"d"}}}`,
	`{"id":"5","op":"cancel","args":null} {}`, `null`, `[]`, `{"op":7}`,
	`{"id":"6","op":"listOpen"}`, `{"id":"7","op":"listOpen","args":{"user":"bob"}}`,
	`{"id":"8","op":"records","args":{"after":"Z4OOFuX-v_9jYWxsLTEA_________9U","limit":2}}`,
	`{"id":"9","op":"records","args":{"after":"AAAAAAAAAAAA","limit":1000}}`,
}

// ops counts the operations a request holds.
func ops(r mqtt.Request) int {
	n := 0
	for _, set := range []bool{r.Input != nil, r.History != nil, r.ListOpen, r.Records != nil} {
		if set {
			n++
		}
	}
	return n
}
