package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// envelopeKeys are the keys of the SDK's signaling envelope (HIS-2).
var envelopeKeys = []string{"businessID", "inviteID", "groupID", "inviter", "inviteeList", "data", "timeout", "actionType", "onlineUserOnly"}

// decodeEnvelope is the suite's own reading of a history payload: a JSON
// object carrying every key of the envelope with the right JSON type.
func decodeEnvelope(b []byte) (Envelope, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Envelope{}, fmt.Errorf("not a JSON object: %v", err)
	}
	for _, k := range envelopeKeys {
		if _, ok := raw[k]; !ok {
			return Envelope{}, fmt.Errorf("key %q missing", k)
		}
	}
	if bytes.Equal(bytes.TrimSpace(raw["inviteeList"]), []byte("null")) {
		return Envelope{}, fmt.Errorf("inviteeList is null, want an array")
	}
	var e Envelope
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&e); err != nil {
		return Envelope{}, fmt.Errorf("wrong types: %v", err)
	}
	if e.InviteeList == nil {
		e.InviteeList = []string{}
	}
	return e, nil
}

// encodeEnvelope writes the envelope as the SDK does (used by test harnesses
// built on the reference model).
func encodeEnvelope(e Envelope) []byte {
	if e.InviteeList == nil {
		e.InviteeList = []string{}
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return b
}

// parseEnvelope is the reference reading of GetSignalingInfo for messages
// whose answer the rules fix: ok for a JSON object with businessID 1, a
// non-empty inviteID and inviter, an actionType 1..6 and a timeout >= 0,
// the numbers read by value, in any form (HIS-3).
func parseEnvelope(b []byte) (Envelope, bool) {
	if len(b) > maxSignalingMessageBytes {
		return Envelope{}, false
	}
	var raw struct {
		BusinessID     json.RawMessage `json:"businessID"`
		InviteID       string          `json:"inviteID"`
		GroupID        string          `json:"groupID"`
		Inviter        string          `json:"inviter"`
		InviteeList    []string        `json:"inviteeList"`
		Data           string          `json:"data"`
		Timeout        json.RawMessage `json:"timeout"`
		ActionType     json.RawMessage `json:"actionType"`
		OnlineUserOnly bool            `json:"onlineUserOnly"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Envelope{}, false
	}
	business, ok1 := numberValue(raw.BusinessID)
	timeout, ok2 := numberValue(raw.Timeout)
	action, ok3 := numberValue(raw.ActionType)
	if !ok1 || !ok2 || !ok3 || len(raw.BusinessID) == 0 || string(raw.BusinessID) == "null" || business != 1 ||
		raw.InviteID == "" || raw.Inviter == "" || action < ActionInvite || action > ActionModify || timeout < 0 {
		return Envelope{}, false
	}
	if raw.InviteeList == nil {
		raw.InviteeList = []string{}
	}
	return Envelope{BusinessID: 1, InviteID: raw.InviteID, GroupID: raw.GroupID, Inviter: raw.Inviter,
		InviteeList: raw.InviteeList, Data: raw.Data, Timeout: timeout, ActionType: action,
		OnlineUserOnly: raw.OnlineUserOnly}, true
}

// numberValue reads a JSON value of a numeric field by value: ok for a
// number in any form (1, 1.0, 1e0, 10e-1) that is a whole number fitting
// an int; absent or null is 0.
func numberValue(raw json.RawMessage) (int, bool) {
	s := string(raw)
	if s == "" || s == "null" {
		return 0, true
	}
	if s[0] != '-' && (s[0] < '0' || s[0] > '9') {
		return 0, false // a string, an object, ...
	}
	mant, exp, _ := strings.Cut(strings.ToLower(s), "e")
	neg := strings.HasPrefix(mant, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(mant, "-"), ".")
	digits := strings.TrimRight(whole+frac, "0")
	zeros := len(whole+frac) - len(digits)
	if digits = strings.TrimLeft(digits, "0"); digits == "" {
		return 0, true
	}
	e := 0
	if exp != "" {
		var err error
		if e, err = strconv.Atoi(exp); err != nil || e > 1<<20 || e < -(1<<30) {
			return 0, false // a huge exponent: out of range, or not whole
		}
	}
	p := e - len(frac) + zeros // value = digits × 10^p
	if p < 0 || p > 20 {
		return 0, false
	}
	n, _ := new(big.Int).SetString(digits, 10)
	n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(p)), nil))
	if neg {
		n.Neg(n)
	}
	if !n.IsInt64() || int64(int(n.Int64())) != n.Int64() {
		return 0, false
	}
	return int(n.Int64()), true
}

// maxSignalingMessageBytes: anything longer is "huge input" (HIS-3) for the
// reference model's own parser.
const maxSignalingMessageBytes = 1 << 20
