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
			At: m.At.UTC().Format(time.RFC3339Nano), Info: json.RawMessage(m.Payload)}
	}
	return r
}

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
