package kernel_test

// The signaling envelope (HIS-2, HIS-3): MarshalSignalingInfo writes the
// SDK's key names; GetSignalingInfo reads them back and refuses anything
// else with ErrNotSignalingMessage, without panicking.

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/beckonhq/beckon/kernel"
	"pgregory.net/rapid"
)

func TestSignalingKeyNames(t *testing.T) {
	js, err := kernel.MarshalSignalingInfo(kernel.SignalingInfo{BusinessID: 1, InviteID: "i1", GroupID: "g",
		Inviter: "alice", InviteeList: list("bob"), Data: "d", Timeout: 30, ActionType: kernel.ActionInvite, OnlineUserOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"actionType", "businessID", "data", "groupID", "inviteID", "inviteeList", "inviter", "onlineUserOnly", "timeout"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q (in %s)", keys, want, js)
	}
	for k, v := range map[string]string{"businessID": `1`, "inviteID": `"i1"`, "groupID": `"g"`, "inviter": `"alice"`,
		"inviteeList": `["bob"]`, "data": `"d"`, "timeout": `30`, "actionType": `1`, "onlineUserOnly": `true`} {
		if string(m[k]) != v {
			t.Errorf("%s = %s, want %s", k, m[k], v)
		}
	}
	// An empty invitee list is [] (not null), and an empty group ID is "".
	js, _ = kernel.MarshalSignalingInfo(kernel.SignalingInfo{BusinessID: 1, InviteID: "i1", Inviter: "a", ActionType: kernel.ActionCancel})
	if !strings.Contains(string(js), `"inviteeList":[]`) || !strings.Contains(string(js), `"groupID":""`) {
		t.Errorf("envelope with no invitees: %s", js)
	}
	// The action numbers.
	for a, n := range map[kernel.Action]int{kernel.ActionInvite: 1, kernel.ActionCancel: 2, kernel.ActionAccept: 3,
		kernel.ActionReject: 4, kernel.ActionTimeout: 5, kernel.ActionModify: 6} {
		if int(a) != n {
			t.Errorf("action %d, want %d", a, n)
		}
	}
	if kernel.BusinessID != 1 {
		t.Errorf("BusinessID = %d", kernel.BusinessID)
	}
}

func TestSignalingRoundTrip(t *testing.T) {
	for _, info := range []kernel.SignalingInfo{
		{BusinessID: 1, InviteID: "i1", Inviter: "alice", InviteeList: list("bob"), Data: "", Timeout: 0, ActionType: kernel.ActionInvite},
		{BusinessID: 1, InviteID: strings.Repeat("x", 127), GroupID: "group", Inviter: "alice", InviteeList: list("b", "c", "d"),
			Data: `{"nested":"json","n":[1,2]}`, Timeout: 86400, ActionType: kernel.ActionTimeout, OnlineUserOnly: true},
		{BusinessID: 1, InviteID: "é", Inviter: "中文", InviteeList: nil, Data: "<>&\"\\\u2028\u2029\x01\n\t", ActionType: kernel.ActionModify},
	} {
		js, err := kernel.MarshalSignalingInfo(info)
		if err != nil {
			t.Fatal(err)
		}
		got, err := kernel.GetSignalingInfo(js)
		if err != nil || !equalInfo(got, info) {
			t.Errorf("GetSignalingInfo(%s) = %+v, %v; want %+v", js, got, err, info)
		}
		if got.InviteeList == nil {
			t.Errorf("GetSignalingInfo returns a nil invitee list for %s", js)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		str := rapid.StringN(0, 20, -1)
		info := kernel.SignalingInfo{
			BusinessID:     1,
			InviteID:       rapid.StringN(1, 20, -1).Draw(t, "inviteID"),
			GroupID:        str.Draw(t, "groupID"),
			Inviter:        rapid.StringN(1, 20, -1).Draw(t, "inviter"),
			InviteeList:    rapid.SliceOfN(str, 0, 4).Draw(t, "invitees"),
			Data:           rapid.String().Draw(t, "data"),
			Timeout:        rapid.IntRange(0, 1<<31).Draw(t, "timeout"),
			ActionType:     kernel.Action(rapid.IntRange(1, 6).Draw(t, "action")),
			OnlineUserOnly: rapid.Bool().Draw(t, "onlineOnly"),
		}
		js, err := kernel.MarshalSignalingInfo(info)
		if err != nil {
			t.Fatal(err)
		}
		got, err := kernel.GetSignalingInfo(js)
		if err != nil || !equalInfo(got, info) {
			t.Fatalf("GetSignalingInfo(%s) = %+v, %v; want %+v", js, got, err, info)
		}
	})
}

func TestSignalingReadsTheSDKEnvelope(t *testing.T) {
	// As another SDK writes it: other key order, extra keys, whitespace.
	msg := `{ "actionType": 3, "inviteeList": ["bob"], "inviter": "alice", "inviteID": "abc",
		"businessID": 1, "groupID": "", "data": "hi", "timeout": 30, "onlineUserOnly": false, "extra": {"x": 1} }`
	got, err := kernel.GetSignalingInfo([]byte(msg))
	want := kernel.SignalingInfo{BusinessID: 1, InviteID: "abc", Inviter: "alice", InviteeList: list("bob"), Data: "hi",
		Timeout: 30, ActionType: kernel.ActionAccept}
	if err != nil || !equalInfo(got, want) {
		t.Errorf("GetSignalingInfo = %+v, %v; want %+v", got, err, want)
	}
}

// TestSignalingNumberForms: other SDKs write JSON numbers in other forms;
// the numeric fields are read by value, exactly (HIS-3).
func TestSignalingNumberForms(t *testing.T) {
	msg := func(business, timeout, action string) []byte {
		return []byte(`{"businessID":` + business + `,"inviteID":"i1","inviter":"a","inviteeList":["b"],"timeout":` +
			timeout + `,"actionType":` + action + `}`)
	}
	for _, one := range []string{"1", "1.0", "1e0", "1E0", "10e-1", "0.1e1", "1.000", "100e-2", "1e+0", "0.00001e5"} {
		info, err := kernel.GetSignalingInfo(msg(one, "30", "1"))
		if err != nil || info.BusinessID != 1 {
			t.Errorf("businessID %s: got %+v, %v; want businessID 1", one, info, err)
		}
	}
	for written, want := range map[string]int{"30": 30, "30.0": 30, "3e1": 30, "300e-1": 30, "0": 0, "-0": 0, "0.0": 0,
		"0e99999999999": 0, "2147483647": 2147483647, "9.223372036854775807e18": 9223372036854775807} {
		info, err := kernel.GetSignalingInfo(msg("1", written, "3.0"))
		if err != nil || info.Timeout != want || info.ActionType != kernel.ActionAccept {
			t.Errorf("timeout %s, actionType 3.0: got %+v, %v; want timeout %d, actionType 3", written, info, err, want)
		}
	}
	bad := map[string][]byte{
		"businessID 1.5":              msg("1.5", "0", "1"),
		"businessID 1.0000000001":     msg("1.0000000000000000000001", "0", "1"),
		"businessID 0.1":              msg("0.1", "0", "1"),
		"businessID 1e1":              msg("1e1", "0", "1"),
		"businessID 1e-999999999":     msg("1e-999999999999", "0", "1"),
		"businessID 1e999999999":      msg("1e999999999999", "0", "1"),
		"timeout 2.5":                 msg("1", "2.5", "1"),
		"timeout 9223372036854775808": msg("1", "9223372036854775808", "1"),
		"timeout 1e19":                msg("1", "1e19", "1"),
		"timeout -1.0":                msg("1", "-1.0", "1"),
		"actionType 1.5":              msg("1", "0", "1.5"),
		"actionType 6e0 + 1e-20":      msg("1", "0", "6.00000000000000000001"),
		"actionType string":           msg("1", "0", `"1"`),
		"timeout array":               msg("1", "[1]", "1"),
	}
	for name, b := range bad {
		if info, err := kernel.GetSignalingInfo(b); !isNotSignaling(err) {
			t.Errorf("%s: got %+v, %v; want ErrNotSignalingMessage", name, info, err)
		}
	}
}

// TestSignalingErrorTextHasNoGoTypes: the text of a "not a signaling
// message" error speaks of JSON, never of the Go types the parser uses.
func TestSignalingErrorTextHasNoGoTypes(t *testing.T) {
	valid := `{"businessID":1,"inviteID":"i1","inviter":"a","inviteeList":["b"],"actionType":1,"timeout":0,"onlineUserOnly":false,"data":""}`
	swap := func(old, new string) []byte { return []byte(strings.Replace(valid, old, new, 1)) }
	cases := [][]byte{
		swap(`"businessID":1`, `"businessID":1.5`), swap(`"businessID":1`, `"businessID":"1"`),
		swap(`"businessID":1`, `"businessID":{}`), swap(`"inviteID":"i1"`, `"inviteID":7`),
		swap(`"inviter":"a"`, `"inviter":[]`), swap(`["b"]`, `"b"`), swap(`["b"]`, `["b",1]`),
		swap(`"onlineUserOnly":false`, `"onlineUserOnly":"no"`), swap(`"data":""`, `"data":1e400`),
		swap(`"timeout":0`, `"timeout":1e400`), swap(`"actionType":1`, `"actionType":true`),
		[]byte(`[1]`), []byte(`1.0`), []byte(`"x"`), []byte(`{"a":`), []byte(`{"a" 1}`), []byte(strings.Repeat("[", 20000)),
	}
	goTypes := []string{"float64", "int64", "json:", "Go ", "struct", "of type", "[]string", "reflect", "RawMessage", "kernel."}
	for _, b := range cases {
		_, err := kernel.GetSignalingInfo(b)
		if !isNotSignaling(err) {
			t.Errorf("GetSignalingInfo(%.60s): got %v, want ErrNotSignalingMessage", b, err)
			continue
		}
		for _, g := range goTypes {
			if strings.Contains(err.Error(), g) {
				t.Errorf("GetSignalingInfo(%.60s): got the text %q, want no Go type names (%q)", b, err, g)
			}
		}
	}
}

func TestSignalingNotASignalingMessage(t *testing.T) {
	valid := `{"businessID":1,"inviteID":"i1","groupID":"","inviter":"a","inviteeList":["b"],"data":"","timeout":0,"actionType":1,"onlineUserOnly":false}`
	if _, err := kernel.GetSignalingInfo([]byte(valid)); err != nil {
		t.Fatalf("the valid envelope: %v", err)
	}
	cases := map[string]string{
		"empty":                  ``,
		"null":                   `null`,
		"array":                  `[1,2,3]`,
		"envelope in an array":   `[` + valid + `]`,
		"string":                 `"businessID"`,
		"number":                 `1`,
		"true":                   `true`,
		"other JSON":             `{"text":"hello","type":"chat"}`,
		"empty object":           `{}`,
		"no businessID":          strings.Replace(valid, `"businessID":1,`, ``, 1),
		"businessID 0":           strings.Replace(valid, `"businessID":1`, `"businessID":0`, 1),
		"businessID 2":           strings.Replace(valid, `"businessID":1`, `"businessID":2`, 1),
		"businessID string":      strings.Replace(valid, `"businessID":1`, `"businessID":"1"`, 1),
		"businessID null":        strings.Replace(valid, `"businessID":1`, `"businessID":null`, 1),
		"businessID float":       strings.Replace(valid, `"businessID":1`, `"businessID":1.5`, 1),
		"no inviteID":            strings.Replace(valid, `"inviteID":"i1",`, ``, 1),
		"empty inviteID":         strings.Replace(valid, `"inviteID":"i1"`, `"inviteID":""`, 1),
		"inviteID number":        strings.Replace(valid, `"inviteID":"i1"`, `"inviteID":7`, 1),
		"no inviter":             strings.Replace(valid, `"inviter":"a",`, ``, 1),
		"no actionType":          strings.Replace(valid, `,"actionType":1`, ``, 1),
		"actionType 0":           strings.Replace(valid, `"actionType":1`, `"actionType":0`, 1),
		"actionType 7":           strings.Replace(valid, `"actionType":1`, `"actionType":7`, 1),
		"negative timeout":       strings.Replace(valid, `"timeout":0`, `"timeout":-1`, 1),
		"inviteeList not a list": strings.Replace(valid, `["b"]`, `"b"`, 1),
		"truncated":              valid[:len(valid)-1],
		"half":                   valid[:len(valid)/2],
		"trailing garbage":       valid + `x`,
		"two envelopes":          valid + valid,
		"not UTF-8 JSON":         "\xff\xfe",
		"huge":                   `{"businessID":1,"inviteID":"i1","inviter":"a","actionType":1,"data":"` + strings.Repeat("a", kernel.MaxSignalingMessageBytes) + `"}`,
	}
	for name, msg := range cases {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: panic %v", name, p)
				}
			}()
			info, err := kernel.GetSignalingInfo([]byte(msg))
			if !isNotSignaling(err) {
				t.Errorf("%s: GetSignalingInfo(%.80q) = %+v, %v; want ErrNotSignalingMessage", name, msg, info, err)
			}
			if err != nil && !strings.Contains(err.Error(), "not a signaling message") {
				t.Errorf("%s: error text %q", name, err)
			}
		}()
	}
	var nilMsg []byte
	if _, err := kernel.GetSignalingInfo(nilMsg); !isNotSignaling(err) {
		t.Errorf("nil: %v", err)
	}
	// Exactly at the size limit is still read; one byte more is not.
	pad := func(n int) []byte {
		head := strings.TrimSuffix(valid, "}") + `,"pad":"`
		return []byte(head + strings.Repeat("p", n-len(head)-2) + `"}`)
	}
	if _, err := kernel.GetSignalingInfo(pad(kernel.MaxSignalingMessageBytes)); err != nil {
		t.Errorf("a message of MaxSignalingMessageBytes: %v", err)
	}
	if _, err := kernel.GetSignalingInfo(pad(kernel.MaxSignalingMessageBytes + 1)); !isNotSignaling(err) {
		t.Errorf("a message above MaxSignalingMessageBytes: %v", err)
	}
}

// TestSignalingDataSurvivesTheEnvelope: data the kernel accepts must reach
// the history envelope unchanged (HIS-2); JSON strings cannot carry bytes
// that are not UTF-8, so the kernel must refuse such data (6017, Data) or
// the envelope must keep it.
func TestSignalingDataSurvivesTheEnvelope(t *testing.T) {
	f := newFx(t, kernel.Config{})
	for _, data := range []string{"ok", "\xff\xfe", "a\xc3"} {
		res, outs := f.do(kernel.Invite("alice", "bob", data, 0))
		if res.Err != nil {
			checkErr(t, res.Err, kernel.ErrInvalidParameters, "Data")
			continue
		}
		h := outs[0].History
		js, err := kernel.MarshalSignalingInfo(h.Info)
		if err != nil {
			t.Fatal(err)
		}
		got, err := kernel.GetSignalingInfo(js)
		if err != nil || got.Data != data {
			t.Errorf("data %q accepted, but its history envelope carries %q (%v)", data, got.Data, err)
		}
	}
}

// TestConversationKeys: a 1:1 conversation has one key whichever user
// names it first, and keys of different pairs never collide.
func TestConversationKeys(t *testing.T) {
	if got := kernel.C2C("zoe", "adam").String(); got != "c2c:4:adamzoe" {
		t.Errorf("C2C(zoe, adam): got %q, want %q", got, "c2c:4:adamzoe")
	}
	if kernel.C2C("zoe", "adam") != kernel.C2C("adam", "zoe") {
		t.Errorf("C2C(zoe, adam): got %v, want C2C(adam, zoe) %v", kernel.C2C("zoe", "adam"), kernel.C2C("adam", "zoe"))
	}
	if a, b := kernel.C2C("a", "bc").String(), kernel.C2C("ab", "c").String(); a == b {
		t.Errorf("keys of C2C(a, bc) and C2C(ab, c): got both %q, want different", a)
	}
	if got := kernel.GroupConversation("g").String(); got != "group:g" {
		t.Errorf("GroupConversation(g): got %q, want %q", got, "group:g")
	}
}

// equalInfo compares two envelopes, an empty invitee list equal to nil.
func equalInfo(a, b kernel.SignalingInfo) bool {
	a.InviteeList, b.InviteeList = cloneList(a.InviteeList), cloneList(b.InviteeList)
	return reflect.DeepEqual(a, b)
}

// isNotSignaling reports whether err is ErrNotSignalingMessage (and not
// the other 6017 class).
func isNotSignaling(err error) bool {
	return errors.Is(err, kernel.ErrNotSignalingMessage) && !errors.Is(err, kernel.ErrInvalidParameters) &&
		kernel.Code(err) == 6017
}
