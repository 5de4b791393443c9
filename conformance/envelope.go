package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
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
// non-empty inviteID and inviter, an actionType 1..6 and a timeout >= 0.
func parseEnvelope(b []byte) (Envelope, bool) {
	if len(b) > maxSignalingMessageBytes {
		return Envelope{}, false
	}
	var raw struct {
		BusinessID     *int     `json:"businessID"`
		InviteID       string   `json:"inviteID"`
		GroupID        string   `json:"groupID"`
		Inviter        string   `json:"inviter"`
		InviteeList    []string `json:"inviteeList"`
		Data           string   `json:"data"`
		Timeout        int      `json:"timeout"`
		ActionType     int      `json:"actionType"`
		OnlineUserOnly bool     `json:"onlineUserOnly"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Envelope{}, false
	}
	if raw.BusinessID == nil || *raw.BusinessID != 1 || raw.InviteID == "" || raw.Inviter == "" ||
		raw.ActionType < ActionInvite || raw.ActionType > ActionModify || raw.Timeout < 0 {
		return Envelope{}, false
	}
	if raw.InviteeList == nil {
		raw.InviteeList = []string{}
	}
	return Envelope{BusinessID: 1, InviteID: raw.InviteID, GroupID: raw.GroupID, Inviter: raw.Inviter,
		InviteeList: raw.InviteeList, Data: raw.Data, Timeout: raw.Timeout, ActionType: raw.ActionType,
		OnlineUserOnly: raw.OnlineUserOnly}, true
}

// maxSignalingMessageBytes: anything longer is "huge input" (HIS-3) for the
// reference model's own parser.
const maxSignalingMessageBytes = 1 << 20
