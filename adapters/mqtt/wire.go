package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// Codes of the adapter's own refusals and failures (docs/protocol.md).
const (
	codeShuttingDown    = 6013 // the server is stopping: not applied
	codeServerFailed    = 6022 // the store (or the engine) failed
	codeTooManyRequests = 7008 // over the request rate: not applied
)

// codedError is a refusal of the adapter itself, with its SDK code.
type codedError struct {
	code int
	msg  string
}

func (e *codedError) Error() string { return e.msg }
func (e *codedError) Code() int     { return e.code }

var errTooManyRequests = &codedError{codeTooManyRequests,
	"beckon: too many requests (7008): not applied; slow down (see the server's request rate limit)"}

// codeOf is the SDK code of an error of the Engine or the adapter: the
// kernel's, else that of an error with a Code method (the runtime's), else
// 6013 for a cancelled context (the server is stopping), else 6022.
func codeOf(err error) int {
	if c := kernel.Code(err); c >= 0 {
		return c
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return codeShuttingDown
	}
	return codeServerFailed
}

// reply is the JSON object of one reply.
type reply struct {
	ID      string `json:"id,omitempty"`
	Code    int    `json:"code"`
	Message string `json:"message"`
	Result  any    `json:"result,omitempty"`
}

type inviteResult struct {
	InviteID string `json:"inviteID"`
}

type historyResult struct {
	Messages []historyMessage `json:"messages"`
}

type historyMessage struct {
	Seq    uint64          `json:"seq"`
	Sender string          `json:"sender"`
	At     string          `json:"at"`
	Info   json.RawMessage `json:"info"`
}

func newHistoryResult(msgs []port.HistoryMessage) historyResult {
	r := historyResult{Messages: make([]historyMessage, len(msgs))}
	for i, m := range msgs {
		r.Messages[i] = historyMessage{Seq: m.Seq, Sender: m.Sender,
			At: timestamp(m.At), Info: json.RawMessage(m.Payload)}
	}
	return r
}

type openResult struct {
	Invitations []openInvitation `json:"invitations"`
}

type openInvitation struct {
	InviteID string   `json:"inviteID"`
	Inviter  string   `json:"inviter"`
	GroupID  string   `json:"groupID"`
	Invitees []string `json:"invitees"`
	States   []string `json:"states"`
	Data     string   `json:"data"`
	Created  string   `json:"created"`
	Deadline string   `json:"deadline,omitempty"` // none: the invitation never times out
	Incoming bool     `json:"incoming"`
}

func newOpenResult(invs []kernel.OpenInvitation) openResult {
	r := openResult{Invitations: make([]openInvitation, len(invs))}
	for i, o := range invs {
		r.Invitations[i] = openInvitation{InviteID: o.InviteID, Inviter: o.Inviter, GroupID: o.Group,
			Invitees: o.Invitees, States: stateNames(o.States), Data: o.Data, Created: timestamp(o.Created),
			Incoming: o.Incoming}
		if !o.Deadline.IsZero() {
			r.Invitations[i].Deadline = timestamp(o.Deadline)
		}
	}
	return r
}

type recordsResult struct {
	Records []callRecord `json:"records"`
	Next    string       `json:"next,omitempty"` // none: this page is the last
}

type callRecord struct {
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
}

// newRecordsResult is the page of the first limit of rs; next is set when
// rs holds more.
func newRecordsResult(rs []port.CallRecord, limit int) recordsResult {
	var r recordsResult
	if len(rs) > limit {
		rs = rs[:limit]
		r.Next = EncodeCursor(rs[limit-1].Cursor())
	}
	r.Records = make([]callRecord, len(rs))
	for i := range rs {
		x, c := &rs[i], &rs[i].Call
		r.Records[i] = callRecord{User: x.User, Outcome: x.Outcome.String(), InviteID: c.InviteID, Inviter: c.Inviter,
			GroupID: c.Group, Invitees: c.Invitees, States: stateNames(c.States),
			Created: timestamp(time.Unix(0, c.Created)), Closed: timestamp(time.Unix(0, c.Closed)), Cursor: EncodeCursor(x.Cursor())}
	}
	return r
}

func stateNames(states []kernel.State) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = s.String()
	}
	return out
}

// timestamp is the wire form of a time: RFC 3339 in UTC, to the nanosecond.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// failure is the reply to a request that failed with err.
func failure(id string, err error) reply {
	return reply{ID: id, Code: codeOf(err), Message: err.Error()}
}

// eventJSON is one event on the wire; which fields a type carries is
// docs/protocol.md's "Events" table (kernel.Event's doc).
type eventJSON struct {
	Seq      uint64   `json:"seq"`
	Type     string   `json:"type"`
	InviteID string   `json:"inviteID"`
	Inviter  *string  `json:"inviter,omitempty"`
	Invitee  *string  `json:"invitee,omitempty"`
	GroupID  *string  `json:"groupID,omitempty"`
	Invitees []string `json:"invitees,omitempty"`
	Data     *string  `json:"data,omitempty"`
}

func encodeEvent(seq uint64, ev kernel.Event) ([]byte, error) {
	e := eventJSON{Seq: seq, Type: ev.Type.String(), InviteID: ev.InviteID}
	switch ev.Type {
	case kernel.EventNewInvitation:
		e.Inviter, e.GroupID, e.Invitees, e.Data = &ev.Inviter, &ev.GroupID, ev.Invitees, &ev.Data
	case kernel.EventCancelled:
		e.Inviter, e.Data = &ev.Inviter, &ev.Data
	case kernel.EventAccepted, kernel.EventRejected:
		e.Invitee, e.Data = &ev.Invitee, &ev.Data
	case kernel.EventTimeout:
		e.Invitees = ev.Invitees
	case kernel.EventModified:
		e.Data = &ev.Data
	}
	return json.Marshal(e)
}
