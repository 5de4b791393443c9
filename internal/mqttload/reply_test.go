package mqttload

import (
	"encoding/json"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

// parseReply reads every reply as encoding/json does, whether its fast
// path reads it or gives it to encoding/json.
func TestParseReplyAgreesWithEncodingJSON(t *testing.T) {
	check := func(t interface {
		Fatalf(string, ...any)
	}, p []byte) {
		var want Reply
		wantOK := json.Unmarshal(p, &want) == nil
		got, ok := parseReply(p)
		if ok != wantOK || ok && !reflect.DeepEqual(got, want) {
			t.Fatalf("parseReply(%s): got %+v, %v; want %+v, %v", p, got, ok, want, wantOK)
		}
	}
	for _, p := range []string{
		`{"id":"c-1","code":0,"message":"","result":{"inviteID":"call-1"}}`,
		`{"id":"c-2","code":0,"message":"","result":{}}`,
		`{"id":"c-3","code":8010,"message":"not the inviter"}`,
		`{"id":"c-4","code":0,"message":"a \"quoted\" word","result":{}}`,
		`{"code":0,"id":"c-5","message":""}`,
		`{"id":"c-6","code":007,"message":""}`,
		`{"id":"c-7","code":0,"message":"","result":{"x":}}`,
		`{"id":"c-8","code":0,"message":"caf\xe9"}`,
		`{"id":"c-9","code":-1,"message":""}`,
		`{"id":"c-10","code":0,"message":"","result":[1,2]}`,
		`not json`,
	} {
		check(t, []byte(p))
	}
	rapid.Check(t, func(t *rapid.T) {
		r := struct {
			ID      string          `json:"id"`
			Code    int             `json:"code"`
			Message string          `json:"message"`
			Result  json.RawMessage `json:"result,omitempty"`
		}{
			ID:      rapid.String().Draw(t, "id"),
			Code:    rapid.IntRange(0, 1<<31-1).Draw(t, "code"),
			Message: rapid.String().Draw(t, "message"),
		}
		switch rapid.IntRange(0, 2).Draw(t, "result") {
		case 1:
			r.Result = json.RawMessage(`{}`)
		case 2:
			id, _ := json.Marshal(rapid.String().Draw(t, "inviteID"))
			r.Result = json.RawMessage(`{"inviteID":` + string(id) + `}`)
		}
		p, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("%v", err)
		}
		check(t, p)
		if len(r.Result) > 2 {
			var want struct {
				InviteID string `json:"inviteID"`
			}
			_ = json.Unmarshal(r.Result, &want)
			if got, ok := inviteIDOf(r.Result); ok != (want.InviteID != "") || got != want.InviteID {
				t.Fatalf("inviteIDOf(%s): got %q, %v; want %q", r.Result, got, ok, want.InviteID)
			}
		}
	})
}
