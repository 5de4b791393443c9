package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/mqtt"
	"github.com/beckonhq/beckon/kernel"
)

// request is one request on the wire (docs/protocol.md "Requests and
// replies").
type request struct {
	ID        string `json:"id"`
	Op        string `json:"op"`
	RequestID string `json:"requestID,omitempty"`
	Args      any    `json:"args"`
}

type inviteArgs struct {
	Invitee        string    `json:"invitee"`
	Data           string    `json:"data"`
	Timeout        int       `json:"timeout,omitempty"`
	OnlineUserOnly bool      `json:"onlineUserOnly,omitempty"`
	InviteID       string    `json:"inviteID,omitempty"`
	Push           *pushInfo `json:"push,omitempty"`
}

type pushInfo struct {
	Title string `json:"title"`
	Desc  string `json:"desc"`
	Ext   string `json:"ext"`
	Sound string `json:"sound"`
}

type groupInviteArgs struct {
	Group          string   `json:"group"`
	Invitees       []string `json:"invitees"`
	Data           string   `json:"data"`
	Timeout        int      `json:"timeout,omitempty"`
	OnlineUserOnly bool     `json:"onlineUserOnly,omitempty"`
	InviteID       string   `json:"inviteID,omitempty"`
}

type respondArgs struct {
	InviteID string `json:"inviteID"`
	Data     string `json:"data"`
}

type historyArgs struct {
	Peer  string `json:"peer,omitempty"`
	Group string `json:"group,omitempty"`
	After uint64 `json:"after"`
	Limit int    `json:"limit"`
}

type recordsArgs struct {
	After string `json:"after,omitempty"`
	Limit int    `json:"limit"`
}

// opNames are the wire names of the signaling operations.
var opNames = map[kernel.Op]string{
	kernel.OpInvite: "invite", kernel.OpInviteInGroup: "inviteInGroup", kernel.OpCancel: "cancel",
	kernel.OpAccept: "accept", kernel.OpReject: "reject", kernel.OpModify: "modify",
}

// encodeInput returns the op, request ID and args of a signaling
// operation. JSON text carries only UTF-8, so a string that is not is
// refused here with 6017 rather than sent mangled.
func encodeInput(in kernel.Input) (op string, args any, err error) {
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
		a := inviteArgs{Invitee: in.Invitees[0], Data: in.Data, Timeout: in.Timeout, OnlineUserOnly: in.OnlineUserOnly, InviteID: in.InviteID}
		if p := in.Push; p != nil {
			a.Push = &pushInfo{Title: p.Title, Desc: p.Desc, Ext: p.Ext, Sound: p.Sound}
		}
		return opNames[in.Op], a, nil
	case kernel.OpInviteInGroup:
		return opNames[in.Op], groupInviteArgs{Group: in.Group, Invitees: in.Invitees, Data: in.Data, Timeout: in.Timeout,
			OnlineUserOnly: in.OnlineUserOnly, InviteID: in.InviteID}, nil
	default:
		return opNames[in.Op], respondArgs{InviteID: in.InviteID, Data: in.Data}, nil
	}
}

// reply is one reply on the wire.
type reply struct {
	ID      string          `json:"id"`
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Result  json.RawMessage `json:"result"`
}

type inviteResult struct {
	InviteID string `json:"inviteID"`
}

type historyResult struct {
	Messages []struct {
		Seq    uint64          `json:"seq"`
		Sender string          `json:"sender"`
		At     string          `json:"at"`
		Info   json.RawMessage `json:"info"`
	} `json:"messages"`
}

type openResult struct {
	Invitations []struct {
		InviteID string   `json:"inviteID"`
		Inviter  string   `json:"inviter"`
		GroupID  string   `json:"groupID"`
		Invitees []string `json:"invitees"`
		States   []string `json:"states"`
		Data     string   `json:"data"`
		Created  string   `json:"created"`
		Deadline string   `json:"deadline"`
		Incoming bool     `json:"incoming"`
	} `json:"invitations"`
}

func decodeOpen(res []byte) ([]beckon.OpenInvitation, error) {
	var r openResult
	if err := json.Unmarshal(res, &r); err != nil {
		return nil, err
	}
	var out []beckon.OpenInvitation
	for _, o := range r.Invitations {
		inv := beckon.OpenInvitation{InviteID: o.InviteID, Inviter: o.Inviter, Group: o.GroupID, Invitees: o.Invitees,
			Data: o.Data, Incoming: o.Incoming}
		var err error
		if inv.States, err = decodeStates(o.States, len(o.Invitees)); err != nil {
			return nil, fmt.Errorf("invitation %s: %w", o.InviteID, err)
		}
		if inv.Created, err = time.Parse(time.RFC3339Nano, o.Created); err != nil {
			return nil, fmt.Errorf("invitation %s: created: %w", o.InviteID, err)
		}
		if o.Deadline != "" {
			if inv.Deadline, err = time.Parse(time.RFC3339Nano, o.Deadline); err != nil {
				return nil, fmt.Errorf("invitation %s: deadline: %w", o.InviteID, err)
			}
		}
		out = append(out, inv)
	}
	return out, nil
}

type recordsResult struct {
	Records []struct {
		User     string   `json:"user"`
		Outcome  string   `json:"outcome"`
		InviteID string   `json:"inviteID"`
		Inviter  string   `json:"inviter"`
		GroupID  string   `json:"groupID"`
		Invitees []string `json:"invitees"`
		States   []string `json:"states"`
		Created  string   `json:"created"`
		Closed   string   `json:"closed"`
		Cursor   string   `json:"cursor"`
	} `json:"records"`
	Next string `json:"next"`
}

// decodeRecords decodes a page of call records, and the cursor of the
// page after it ("": none). A record's close time and index come from its
// cursor, so that its Cursor() is the server's.
func decodeRecords(res []byte) (recs []beckon.CallRecord, next string, err error) {
	var r recordsResult
	if err := json.Unmarshal(res, &r); err != nil {
		return nil, "", err
	}
	for _, x := range r.Records {
		cur, err := mqtt.DecodeCursor(x.Cursor)
		if err != nil || cur.InviteID != x.InviteID {
			return nil, "", fmt.Errorf("record %s: cursor %q is not the record's", x.InviteID, x.Cursor)
		}
		outcome, ok := outcomes[x.Outcome]
		if !ok {
			return nil, "", fmt.Errorf("record %s: unknown outcome %q", x.InviteID, x.Outcome)
		}
		states, err := decodeStates(x.States, len(x.Invitees))
		if err != nil {
			return nil, "", fmt.Errorf("record %s: %w", x.InviteID, err)
		}
		created, err := time.Parse(time.RFC3339Nano, x.Created)
		if err != nil {
			return nil, "", fmt.Errorf("record %s: created: %w", x.InviteID, err)
		}
		recs = append(recs, beckon.CallRecord{User: x.User, Outcome: outcome, Call: kernel.ClosedCall{
			Index: cur.Index, InviteID: x.InviteID, Inviter: x.Inviter, Group: x.GroupID, Invitees: x.Invitees,
			States: states, Created: created.UnixNano(), Closed: cur.Closed}})
	}
	return recs, r.Next, nil
}

// states are the invitee states by their wire name.
var states = func() map[string]beckon.State {
	m := map[string]beckon.State{}
	for _, s := range []beckon.State{kernel.Pending, kernel.Accepted, kernel.Rejected, kernel.TimedOut, kernel.Cancelled} {
		m[s.String()] = s
	}
	return m
}()

func decodeStates(names []string, invitees int) ([]beckon.State, error) {
	if len(names) != invitees {
		return nil, fmt.Errorf("%d states for %d invitees", len(names), invitees)
	}
	out := make([]beckon.State, len(names))
	for i, n := range names {
		s, ok := states[n]
		if !ok {
			return nil, fmt.Errorf("unknown invitee state %q", n)
		}
		out[i] = s
	}
	return out, nil
}

// outcomes are the call record outcomes by their wire name.
var outcomes = func() map[string]beckon.Outcome {
	m := map[string]beckon.Outcome{}
	for _, o := range []beckon.Outcome{kernel.OutcomeAccepted, kernel.OutcomeRejected, kernel.OutcomeMissed, kernel.OutcomeCancelled,
		kernel.OutcomeAnswered, kernel.OutcomeDeclined, kernel.OutcomeUnanswered} {
		m[o.String()] = o
	}
	return m
}()

// event is one event on the wire (docs/protocol.md "Events").
type event struct {
	Seq      uint64   `json:"seq"`
	Type     string   `json:"type"`
	InviteID string   `json:"inviteID"`
	Inviter  string   `json:"inviter"`
	Invitee  string   `json:"invitee"`
	GroupID  string   `json:"groupID"`
	Invitees []string `json:"invitees"`
	Data     string   `json:"data"`
}

// eventTypes are the event types by their wire name.
var eventTypes = func() map[string]beckon.EventType {
	m := map[string]beckon.EventType{}
	for _, t := range []beckon.EventType{beckon.EventNewInvitation, beckon.EventCancelled, beckon.EventAccepted,
		beckon.EventRejected, beckon.EventTimeout, beckon.EventModified} {
		m[t.String()] = t
	}
	return m
}()

func decodeEvent(payload []byte) (seq uint64, ev beckon.Event, err error) {
	var e event
	if err := json.Unmarshal(payload, &e); err != nil {
		return 0, ev, fmt.Errorf("event %q: %w", payload, err)
	}
	t, ok := eventTypes[e.Type]
	if !ok {
		return 0, ev, fmt.Errorf("event of unknown type %q", e.Type)
	}
	return e.Seq, beckon.Event{Type: t, InviteID: e.InviteID, Inviter: e.Inviter, Invitee: e.Invitee,
		GroupID: e.GroupID, Invitees: e.Invitees, Data: e.Data}, nil
}

// Error is the server's refusal of one request: its SDK code and its
// message, which says what was wrong. It matches, with errors.Is, the
// beckon error of its code (ErrInvalidInviteID for 8010, ErrClosed for
// 6013, ...), and ErrTooManyRequests for 7008; beckon.Code reads the code.
type Error struct {
	code  int
	msg   string
	class error // the beckon error of code; nil for a code without one
}

// Code is the SDK's error number.
func (e *Error) Code() int { return e.code }

// Error returns the server's message.
func (e *Error) Error() string { return e.msg }

// Unwrap returns the beckon error of the code, if it has one.
func (e *Error) Unwrap() error { return e.class }

// Is matches another *Error of the same code, such as ErrTooManyRequests.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.code == e.code
}

// ErrTooManyRequests (7008): the device sent requests faster than the
// server's rate limit; the request was not applied. Slow down and retry.
var ErrTooManyRequests = &Error{code: 7008, msg: "beckon: too many requests (7008): not applied; slow down"}

// ErrConnectionLost: the connection dropped after the request was sent and
// before its reply came. The operation may have been applied: retry it with
// the same WithRequestID (IDM-1).
var ErrConnectionLost = errors.New("beckon remote: connection lost while waiting for the reply: the operation may have been applied; retry with the same WithRequestID")

// classes are the beckon errors of the codes a server replies with.
var classes = map[int]error{
	6013:  beckon.ErrClosed,
	6022:  beckon.ErrStoreFailed,
	6017:  beckon.ErrInvalidParameters,
	8001:  beckon.ErrBodySizeLimit,
	8010:  beckon.ErrInvalidInviteID,
	8011:  beckon.ErrNoPermission,
	8012:  beckon.ErrAlreadyExists,
	10007: beckon.ErrNotGroupMember,
	10010: beckon.ErrGroupNotFound,
}

// replyError is the error of a reply: nil for code 0.
func replyError(r reply) error {
	if r.Code == 0 {
		return nil
	}
	msg := r.Message
	if msg == "" {
		msg = fmt.Sprintf("beckon: the server refused the request with code %d", r.Code)
	}
	return &Error{code: r.Code, msg: msg, class: classes[r.Code]}
}
