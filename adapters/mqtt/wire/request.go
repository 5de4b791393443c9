// Package wire is the data of docs/protocol.md, written once for the
// server (adapters/mqtt) and the Go device client (remote): topics and
// client IDs, the JSON of requests, replies, results and events, the cursor
// codec, and their conversions to and from kernel and port values. It
// imports no MQTT library, so that a device links no broker.
package wire

import (
	"fmt"
	"unicode/utf8"

	"github.com/beckonhq/beckon/kernel"
)

// Request is one request (docs/protocol.md "Requests and replies"). A is
// the args' type: one of the *Args below to encode, json.RawMessage to
// decode them in a second, op-specific step.
type Request[A any] struct {
	ID        *string `json:"id"` // nil: absent, so the reply has none
	Op        string  `json:"op"`
	RequestID string  `json:"requestID,omitempty"`
	Args      A       `json:"args"`
}

// InviteArgs are the args of `invite`.
type InviteArgs struct {
	Invitee        string `json:"invitee"`
	Data           string `json:"data"`
	Timeout        int    `json:"timeout,omitempty"`
	OnlineUserOnly bool   `json:"onlineUserOnly,omitempty"`
	InviteID       string `json:"inviteID,omitempty"`
	Push           *Push  `json:"push,omitempty"`
}

// Push is the offline push of an invite (kernel.PushInfo).
type Push struct {
	Title string `json:"title"`
	Desc  string `json:"desc"`
	Ext   string `json:"ext"`
	Sound string `json:"sound"`
}

// InviteInGroupArgs are the args of `inviteInGroup`.
type InviteInGroupArgs struct {
	Group          string   `json:"group"`
	Invitees       []string `json:"invitees"`
	Data           string   `json:"data"`
	Timeout        int      `json:"timeout,omitempty"`
	OnlineUserOnly bool     `json:"onlineUserOnly,omitempty"`
	InviteID       string   `json:"inviteID,omitempty"`
}

// RespondArgs are the args of `cancel`, `accept`, `reject` and `modify`.
type RespondArgs struct {
	InviteID string `json:"inviteID"`
	Data     string `json:"data"`
}

// HistoryArgs are the args of `history`: exactly one of Peer and Group.
type HistoryArgs struct {
	Peer  string `json:"peer,omitempty"`
	Group string `json:"group,omitempty"`
	After uint64 `json:"after"`
	Limit *int   `json:"limit,omitempty"` // nil: the default
}

// RecordsArgs are the args of `records`.
type RecordsArgs struct {
	After string `json:"after,omitempty"` // a cursor; "": from the newest
	Limit *int   `json:"limit,omitempty"` // nil: the default
}

// opNames are the wire names of the signaling operations.
var opNames = map[kernel.Op]string{
	kernel.OpInvite: "invite", kernel.OpInviteInGroup: "inviteInGroup", kernel.OpCancel: "cancel",
	kernel.OpAccept: "accept", kernel.OpReject: "reject", kernel.OpModify: "modify",
}

// RespondOp is the operation of a RespondArgs op name; 0 for any other.
func RespondOp(name string) kernel.Op {
	switch op := ops[name]; op {
	case kernel.OpCancel, kernel.OpAccept, kernel.OpReject, kernel.OpModify:
		return op
	}
	return 0
}

// SignalingOp is the operation of a signaling op's wire name, and that
// name as this package holds it (not a copy of the caller's); 0 and ""
// for any other name.
func SignalingOp(name string) (string, kernel.Op) {
	op := ops[name]
	return opNames[op], op
}

var ops = func() map[string]kernel.Op {
	m := map[string]kernel.Op{}
	for op, n := range opNames {
		m[n] = op
	}
	return m
}()

// ArgsOf returns the op name and args of a signaling operation. JSON text
// carries only UTF-8, so a string that is not is refused here with 6017
// rather than sent mangled.
func ArgsOf(in kernel.Input) (op string, args any, err error) {
	strs := map[string]string{"data": in.Data, "inviteID": in.InviteID, "group": in.Group, "requestID": in.RequestID}
	for i, v := range in.Invitees {
		strs[fmt.Sprintf("invitees[%d]", i)] = v
	}
	if p := in.Push; p != nil {
		strs["push.title"], strs["push.desc"], strs["push.ext"], strs["push.sound"] = p.Title, p.Desc, p.Ext, p.Sound
	}
	for field, v := range strs {
		if !utf8.ValidString(v) {
			return "", nil, &kernel.OpError{Class: kernel.ErrInvalidParameters, Field: field, Value: fmt.Sprintf("%d bytes", len(v)),
				Msg: "not valid UTF-8: the wire protocol is JSON text, which cannot carry it"}
		}
	}
	switch in.Op {
	case kernel.OpInvite:
		a := InviteArgs{Invitee: in.Invitees[0], Data: in.Data, Timeout: in.Timeout, OnlineUserOnly: in.OnlineUserOnly, InviteID: in.InviteID}
		if p := in.Push; p != nil {
			a.Push = &Push{Title: p.Title, Desc: p.Desc, Ext: p.Ext, Sound: p.Sound}
		}
		return opNames[in.Op], a, nil
	case kernel.OpInviteInGroup:
		return opNames[in.Op], InviteInGroupArgs{Group: in.Group, Invitees: in.Invitees, Data: in.Data, Timeout: in.Timeout,
			OnlineUserOnly: in.OnlineUserOnly, InviteID: in.InviteID}, nil
	default:
		return opNames[in.Op], RespondArgs{InviteID: in.InviteID, Data: in.Data}, nil
	}
}

// Input is the invite of a, without its actor and request ID.
func (a InviteArgs) Input() kernel.Input {
	in := kernel.Input{Op: kernel.OpInvite, Invitees: []string{a.Invitee}, Data: a.Data, Timeout: a.Timeout,
		OnlineUserOnly: a.OnlineUserOnly, InviteID: a.InviteID}
	if p := a.Push; p != nil {
		in.Push = &kernel.PushInfo{Title: p.Title, Desc: p.Desc, Ext: p.Ext, Sound: p.Sound}
	}
	return in
}

// Input is the group invite of a, without its actor and request ID.
func (a InviteInGroupArgs) Input() kernel.Input {
	return kernel.Input{Op: kernel.OpInviteInGroup, Group: a.Group, Invitees: a.Invitees, Data: a.Data, Timeout: a.Timeout,
		OnlineUserOnly: a.OnlineUserOnly, InviteID: a.InviteID}
}

// Input is op (see RespondOp) of a, without its actor and request ID.
func (a RespondArgs) Input(op kernel.Op) kernel.Input {
	return kernel.Input{Op: op, InviteID: a.InviteID, Data: a.Data}
}
