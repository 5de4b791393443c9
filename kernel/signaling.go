package kernel

import (
	"encoding/json"
	"fmt"
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
func GetSignalingInfo(msg []byte) (SignalingInfo, error) {
	var zero SignalingInfo
	if len(msg) > MaxSignalingMessageBytes {
		return zero, notSignaling("%d bytes is above the %d-byte limit", len(msg), MaxSignalingMessageBytes)
	}
	var raw struct {
		BusinessID     *int     `json:"businessID"`
		InviteID       string   `json:"inviteID"`
		GroupID        string   `json:"groupID"`
		Inviter        string   `json:"inviter"`
		InviteeList    []string `json:"inviteeList"`
		Data           string   `json:"data"`
		Timeout        int      `json:"timeout"`
		ActionType     Action   `json:"actionType"`
		OnlineUserOnly bool     `json:"onlineUserOnly"`
	}
	if err := json.Unmarshal(msg, &raw); err != nil {
		return zero, notSignaling("not a JSON envelope: %v", err)
	}
	switch {
	case raw.BusinessID == nil:
		return zero, notSignaling("no businessID")
	case *raw.BusinessID != BusinessID:
		return zero, notSignaling("businessID is %d, want %d", *raw.BusinessID, BusinessID)
	case raw.InviteID == "":
		return zero, notSignaling("no inviteID")
	case raw.Inviter == "":
		return zero, notSignaling("no inviter")
	case raw.ActionType < ActionInvite || raw.ActionType > ActionModify:
		return zero, notSignaling("actionType %d is not 1..6", raw.ActionType)
	case raw.Timeout < 0:
		return zero, notSignaling("negative timeout %d", raw.Timeout)
	}
	if raw.InviteeList == nil {
		raw.InviteeList = []string{}
	}
	return SignalingInfo{
		BusinessID: BusinessID, InviteID: raw.InviteID, GroupID: raw.GroupID, Inviter: raw.Inviter,
		InviteeList: raw.InviteeList, Data: raw.Data, Timeout: raw.Timeout, ActionType: raw.ActionType,
		OnlineUserOnly: raw.OnlineUserOnly,
	}, nil
}

func notSignaling(format string, args ...any) error {
	return &OpError{Class: ErrNotSignalingMessage, Msg: fmt.Sprintf(format, args...)}
}
