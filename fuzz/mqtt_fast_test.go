package fuzz

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/beckonhq/beckon/adapters/mqtt"
)

// FuzzMQTTRequestFast: mqtt.DecodeRequest, whose fast path decodes the
// common requests by hand, decides every payload as
// mqtt.DecodeRequestStrict (encoding/json) does: both accept it with the
// same Request, or both refuse it with the same error.
func FuzzMQTTRequestFast(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		// what the fast path reads: any key order, whitespace, escapes, null
		`{"args":{"data":"d","invitee":"bob","timeout":-0,"onlineUserOnly":false,"inviteID":"i"},"requestID":"r","op":"invite","id":"a"}`,
		` { "id" : "a" , "op" : "reject" , "args" : { "inviteID" : "x" } } ` + "\n",
		`{"id":"a","op":"modify","args":{"inviteID":"\u0078\"\\\/\b\f\n\r\t","data":"\u00e9\u4e2d\u2028<>&"}}`,
		`{"id":"a","op":"invite","args":{"invitee":"b","push":{"title":"t","desc":"d","ext":"e","sound":"s"}}}`,
		`{"id":"a","op":"invite","args":{"invitee":"b","push":{}}}`,
		`{"id":"a","op":"invite","args":{"invitee":"b","push":null,"data":null,"timeout":null}}`,
		`{"id":null,"op":"cancel","requestID":null,"args":null}`,
		`{"id":"a","op":"inviteInGroup","args":{"group":"g","invitees":[]}}`,
		`{"id":"a","op":"inviteInGroup","args":{"group":"g","invitees":["a",null]}}`,
		`{"id":"a","op":"accept","args":{"inviteID":"é中😀","data":"` + "\xff" + `"}}`,
		`{"id":"a","op":"accept","args":{"inviteID":"\ud83d\ude00","data":"\ud83d"}}`,
		// what only encoding/json decides
		`{"id":"a","op":"accept","op":"cancel","args":{}}`,
		`{"id":"a","op":"accept","args":{"inviteID":"x","inviteID":"y"}}`,
		`{"id":"a","OP":"accept","args":{}}`, `{"Id":"a","op":"accept","ARGS":{"InviteID":"x"}}`,
		`{"id":"a","op":"accept","args":{"inviteID":"x","invitee":"b"}}`,
		`{"id":"a","op":"accept","args":{"inviteID":{"x":1}}}`, `{"id":"a","op":"accept","args":[]}`,
		`{"id":"a","op":"invite","args":{"invitee":"b","timeout":1e1}}`,
		`{"id":"a","op":"invite","args":{"invitee":"b","timeout":30.0}}`,
		`{"id":"a","op":"invite","args":{"invitee":"b","timeout":01}}`,
		`{"id":"a","op":"invite","args":{"invitee":"b","timeout":9223372036854775808}}`,
		`{"id":"a","op":"invite","args":{"invitee":"b","timeout":1234567890}}`,
		`{"id":"a","op":"invite","args":{"invitee":"b","onlineUserOnly":1}}`,
		`{"id":"","op":"accept","args":{}}`, `{"id":"a","op":"accept","args":{},}`,
		`{"id":"a","op":"accept","args":{}}x`, `{"id":"a","op":"Accept","args":{}}`,
		`{"id":"a","op":"accept","args":{"data":"` + "\t" + `"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		got, gotErr := mqtt.DecodeRequest(payload, "alice", "phone", 4096)
		want, wantErr := mqtt.DecodeRequestStrict(payload, "alice", "phone", 4096)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("payload %q:\nDecodeRequest       %s, %v\nDecodeRequestStrict %s, %v",
				payload, describe(got), gotErr, describe(want), wantErr)
		}
	})
}

// describe prints a request with its pointers followed.
func describe(r mqtt.Request) string {
	s := fmt.Sprintf("%+v", r)
	if in := r.Input; in != nil {
		s += fmt.Sprintf(" input %+v", *in)
		if in.Push != nil {
			s += fmt.Sprintf(" push %+v", *in.Push)
		}
	}
	return s
}
