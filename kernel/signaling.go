package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
)

// BusinessID is the envelope's businessID of every signaling message.
const BusinessID = 1

// MaxSignalingMessageBytes bounds what GetSignalingInfo reads: a longer
// input is not a signaling message (it could not have come from a kernel
// whose data limit is below it). It keeps memory bounded on hostile input.
const MaxSignalingMessageBytes = 1 << 20

// Action is the envelope's actionType (HIS-2).
type Action int

// The actions of the envelope.
const (
	ActionInvite  Action = 1
	ActionCancel  Action = 2
	ActionAccept  Action = 3
	ActionReject  Action = 4
	ActionTimeout Action = 5
	ActionModify  Action = 6
)

// SignalingInfo is the SDK's signaling envelope, the payload of a history
// message (HIS-2). The JSON key names are the SDK's, so apps that read the
// SDK's envelope read this one. For accept, reject and timeout InviteeList
// holds only the invitee(s) concerned; otherwise every invitee.
type SignalingInfo struct {
	BusinessID     int      `json:"businessID"`
	InviteID       string   `json:"inviteID"`
	GroupID        string   `json:"groupID"`
	Inviter        string   `json:"inviter"`
	InviteeList    []string `json:"inviteeList"`
	Data           string   `json:"data"`
	Timeout        int      `json:"timeout"`
	ActionType     Action   `json:"actionType"`
	OnlineUserOnly bool     `json:"onlineUserOnly"`
}

// MarshalSignalingInfo encodes info as the SDK's JSON envelope. It is meant
// for the place where history is stored or sent, not for the kernel's hot
// path.
func MarshalSignalingInfo(info SignalingInfo) ([]byte, error) {
	if info.InviteeList == nil {
		info.InviteeList = []string{}
	}
	return json.Marshal(info)
}

// GetSignalingInfo parses a signaling message (HIS-3). Anything that is not
// one, other JSON, a wrong businessID, a missing inviteID, inviter or
// actionType, an unknown actionType, malformed, truncated or oversized
// input, gives an error wrapping ErrNotSignalingMessage. It never panics.
//
// Other SDKs write JSON numbers in other forms, so the numeric fields are
// read by value: businessID, timeout and actionType may be written 1, 1.0,
// 1e0 or 10e-1 alike; a value that is not a whole number, or does not fit
// an int, is not a signaling message. Keys match case-insensitively, as
// encoding/json matches them.
func GetSignalingInfo(msg []byte) (SignalingInfo, error) {
	var zero SignalingInfo
	if len(msg) > MaxSignalingMessageBytes {
		return zero, notSignaling("%d bytes is above the %d-byte limit", len(msg), MaxSignalingMessageBytes)
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
	if err := json.Unmarshal(msg, &raw); err != nil {
		return zero, notSignaling("%s", jsonProblem(err))
	}
	if isNull(raw.BusinessID) {
		return zero, notSignaling("no businessID")
	}
	business, err := jsonInt("businessID", raw.BusinessID)
	if err != nil {
		return zero, err
	}
	action, err := jsonInt("actionType", raw.ActionType)
	if err != nil {
		return zero, err
	}
	timeout, err := jsonInt("timeout", raw.Timeout)
	if err != nil {
		return zero, err
	}
	switch {
	case business != BusinessID:
		return zero, notSignaling("businessID is %d, want %d", business, BusinessID)
	case raw.InviteID == "":
		return zero, notSignaling("no inviteID")
	case raw.Inviter == "":
		return zero, notSignaling("no inviter")
	case action < int(ActionInvite) || action > int(ActionModify):
		return zero, notSignaling("actionType %d is not 1..6", action)
	case timeout < 0:
		return zero, notSignaling("negative timeout %d", timeout)
	}
	if raw.InviteeList == nil {
		raw.InviteeList = []string{}
	}
	return SignalingInfo{
		BusinessID: BusinessID, InviteID: raw.InviteID, GroupID: raw.GroupID, Inviter: raw.Inviter,
		InviteeList: raw.InviteeList, Data: raw.Data, Timeout: timeout, ActionType: Action(action),
		OnlineUserOnly: raw.OnlineUserOnly,
	}, nil
}

func notSignaling(format string, args ...any) error {
	return &OpError{Class: ErrNotSignalingMessage, Msg: fmt.Sprintf(format, args...)}
}

// jsonProblem says in JSON's terms what encoding/json found wrong, without
// its Go type names.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("not JSON: %s (at byte %d)", syntax.Error(), syntax.Offset)
	case errors.As(err, &typ):
		got, _, _ := strings.Cut(typ.Value, " ") // "number 1.5": the kind only
		if typ.Field == "" {
			return "the message is a JSON " + got + ", want an object"
		}
		if typ.Type.Kind() == reflect.String && strings.HasPrefix(typ.Field, "inviteeList") {
			return "inviteeList holds a JSON " + got + ", want only strings"
		}
		return fmt.Sprintf("%s is a JSON %s, want %s", typ.Field, got, jsonKind(typ.Type))
	}
	return "not a JSON object"
}

// jsonKind names the JSON value a field of the envelope holds.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "an array of strings"
	}
	return "another kind of value"
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// jsonInt reads the JSON value raw of the numeric field name by value: a
// number in any form (1, -3, 1.0, 1e0, 10e-1, 0.5e1) whose value is a whole
// number that fits an int. Absent or null reads as 0. It computes on the
// decimal digits, exactly: no rounding through float64, and no work
// proportional to an exponent (1e999999999 is refused at once).
func jsonInt(name string, raw json.RawMessage) (int, error) {
	if isNull(raw) {
		return 0, nil
	}
	s := string(raw) // valid JSON: encoding/json checked it
	if c := s[0]; c != '-' && (c < '0' || c > '9') {
		return 0, notSignaling("%s is not a JSON number", name)
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	mant, exp, _ := strings.Cut(strings.ToLower(s), "e")
	whole, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return 0, nil // zero, whatever the exponent
	}
	// value = digits × 10^(e - len(frac)), with e the written exponent.
	trimmed := strings.TrimRight(digits, "0")
	shift := int64(len(digits)-len(trimmed)) - int64(len(frac))
	e, ok := smallExponent(exp)
	if !ok { // |e| above a billion: out of range, or not whole
		return 0, notSignaling("%s is out of range or not a whole number", name)
	}
	shift += e
	switch {
	case shift < 0:
		return 0, notSignaling("%s is not a whole number", name)
	case int64(len(trimmed))+shift > 19:
		return 0, notSignaling("%s is out of range", name)
	}
	var v uint64
	for i := 0; i < len(trimmed)+int(shift); i++ {
		d := uint64(0)
		if i < len(trimmed) {
			d = uint64(trimmed[i] - '0')
		}
		if v > (math.MaxUint64-d)/10 {
			return 0, notSignaling("%s is out of range", name)
		}
		v = v*10 + d
	}
	if v > math.MaxInt || (neg && v > -math.MinInt) {
		return 0, notSignaling("%s is out of range", name)
	}
	if neg {
		return int(-int64(v)), nil // -MinInt == MaxInt+1 wraps to MinInt, as it should
	}
	return int(v), nil
}

// smallExponent parses the exponent digits of a JSON number ("", "+5",
// "-12"); ok is false if its magnitude is above a billion.
func smallExponent(s string) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(strings.TrimLeft(s, "+-"), "0")
	if len(s) > 9 {
		return 0, false
	}
	var e int64
	for i := 0; i < len(s); i++ {
		e = e*10 + int64(s[i]-'0')
	}
	if neg {
		e = -e
	}
	return e, true
}
