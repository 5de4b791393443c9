package wire

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// Reply is one reply. R is the result's type: any (one of the *Result
// below) to encode, json.RawMessage to decode it once the op is known.
type Reply[R any] struct {
	ID      string `json:"id,omitempty"`
	Code    int    `json:"code"`
	Message string `json:"message"`
	Result  R      `json:"result,omitempty"`
}

// EncodeReply is the payload of r: json.Marshal(r), written directly for
// the replies of the signaling operations (an InviteResult, an empty
// result struct{}{}, or a failure without one); the reads' results go
// through json.Marshal.
func EncodeReply(r Reply[any]) ([]byte, error) {
	switch r.Result.(type) {
	case nil, struct{}, InviteResult:
	default:
		return json.Marshal(r)
	}
	n := 64 + len(r.ID) + len(r.Message)
	if res, ok := r.Result.(InviteResult); ok {
		n += 16 + len(res.InviteID)
	}
	b := make([]byte, 0, n) // enough unless escapes lengthen the strings
	b = append(b, '{')
	if r.ID != "" {
		b = append(b, `"id":`...)
		b = appendString(b, r.ID)
		b = append(b, ',')
	}
	b = append(b, `"code":`...)
	b = strconv.AppendInt(b, int64(r.Code), 10)
	b = append(b, `,"message":`...)
	b = appendString(b, r.Message)
	switch res := r.Result.(type) {
	case struct{}:
		b = append(b, `,"result":{}`...)
	case InviteResult:
		b = append(b, `,"result":{"inviteID":`...)
		b = appendString(b, res.InviteID)
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// InviteResult is the result of `invite` and `inviteInGroup`.
type InviteResult struct {
	InviteID string `json:"inviteID"`
}

// HistoryResult is the result of `history`.
type HistoryResult struct {
	Messages []HistoryMessage `json:"messages"`
}

// HistoryMessage is one message of a HistoryResult.
type HistoryMessage struct {
	Seq    uint64          `json:"seq"`
	Sender string          `json:"sender"`
	At     string          `json:"at"`
	Info   json.RawMessage `json:"info"`
}

// NewHistoryResult is the result of a history read of msgs.
func NewHistoryResult(msgs []port.HistoryMessage) HistoryResult {
	r := HistoryResult{Messages: make([]HistoryMessage, len(msgs))}
	for i, m := range msgs {
		r.Messages[i] = HistoryMessage{Seq: m.Seq, Sender: m.Sender, At: timestamp(m.At), Info: json.RawMessage(m.Payload)}
	}
	return r
}

// Decode returns the messages of r.
func (r HistoryResult) Decode() ([]port.HistoryMessage, error) {
	out := make([]port.HistoryMessage, len(r.Messages))
	for i, m := range r.Messages {
		at, err := time.Parse(time.RFC3339Nano, m.At)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", m.Seq, err)
		}
		out[i] = port.HistoryMessage{Seq: m.Seq, Sender: m.Sender, At: at, Payload: []byte(m.Info)}
	}
	return out, nil
}

// OpenResult is the result of `listOpen`.
type OpenResult struct {
	Invitations []OpenInvitation `json:"invitations"`
}

// OpenInvitation is one invitation of an OpenResult.
type OpenInvitation struct {
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

// NewOpenResult is the result of a listOpen read of invs.
func NewOpenResult(invs []kernel.OpenInvitation) OpenResult {
	r := OpenResult{Invitations: make([]OpenInvitation, len(invs))}
	for i, o := range invs {
		r.Invitations[i] = OpenInvitation{InviteID: o.InviteID, Inviter: o.Inviter, GroupID: o.Group,
			Invitees: o.Invitees, States: stateNames(o.States), Data: o.Data, Created: timestamp(o.Created),
			Incoming: o.Incoming}
		if !o.Deadline.IsZero() {
			r.Invitations[i].Deadline = timestamp(o.Deadline)
		}
	}
	return r
}

// Decode returns the invitations of r.
func (r OpenResult) Decode() ([]kernel.OpenInvitation, error) {
	var out []kernel.OpenInvitation
	for _, o := range r.Invitations {
		inv := kernel.OpenInvitation{InviteID: o.InviteID, Inviter: o.Inviter, Group: o.GroupID, Invitees: o.Invitees,
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

// RecordsResult is the result of `records`.
type RecordsResult struct {
	Records []CallRecord `json:"records"`
	Next    string       `json:"next,omitempty"` // none: this page is the last
}

// CallRecord is one record of a RecordsResult.
type CallRecord struct {
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

// NewRecordsResult is the page of the first limit of rs; Next is set when
// rs holds more.
func NewRecordsResult(rs []port.CallRecord, limit int) RecordsResult {
	var r RecordsResult
	if len(rs) > limit {
		rs = rs[:limit]
		r.Next = EncodeCursor(rs[limit-1].Cursor())
	}
	r.Records = make([]CallRecord, len(rs))
	for i := range rs {
		x, c := &rs[i], &rs[i].Call
		r.Records[i] = CallRecord{User: x.User, Outcome: x.Outcome.String(), InviteID: c.InviteID, Inviter: c.Inviter,
			GroupID: c.Group, Invitees: c.Invitees, States: stateNames(c.States),
			Created: timestamp(time.Unix(0, c.Created)), Closed: timestamp(time.Unix(0, c.Closed)), Cursor: EncodeCursor(x.Cursor())}
	}
	return r
}

// Decode returns the records of r. A record's close time and index come
// from its cursor, so that its Cursor() is the server's.
func (r RecordsResult) Decode() ([]port.CallRecord, error) {
	var out []port.CallRecord
	for _, x := range r.Records {
		cur, err := DecodeCursor(x.Cursor)
		if err != nil || cur.InviteID != x.InviteID {
			return nil, fmt.Errorf("record %s: cursor %q is not the record's", x.InviteID, x.Cursor)
		}
		outcome, ok := outcomes[x.Outcome]
		if !ok {
			return nil, fmt.Errorf("record %s: unknown outcome %q", x.InviteID, x.Outcome)
		}
		states, err := decodeStates(x.States, len(x.Invitees))
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", x.InviteID, err)
		}
		created, err := time.Parse(time.RFC3339Nano, x.Created)
		if err != nil {
			return nil, fmt.Errorf("record %s: created: %w", x.InviteID, err)
		}
		out = append(out, port.CallRecord{User: x.User, Outcome: outcome, Call: kernel.ClosedCall{
			Index: cur.Index, InviteID: x.InviteID, Inviter: x.Inviter, Group: x.GroupID, Invitees: x.Invitees,
			States: states, Created: created.UnixNano(), Closed: cur.Closed}})
	}
	return out, nil
}

// Event is one event; which fields a type carries is docs/protocol.md's
// "Events" table (kernel.Event's doc), so a field is absent, not empty,
// where its type has none.
type Event struct {
	Seq      uint64   `json:"seq"`
	Type     string   `json:"type"`
	InviteID string   `json:"inviteID"`
	Inviter  *string  `json:"inviter,omitempty"`
	Invitee  *string  `json:"invitee,omitempty"`
	GroupID  *string  `json:"groupID,omitempty"`
	Invitees []string `json:"invitees,omitempty"`
	Data     *string  `json:"data,omitempty"`
}

// SessionNotice is the first message of each connection on its events
// topic, before any event: whether the connection resumed the session
// (docs/protocol.md "Sessions"), and the session's expiry in seconds.
type SessionNotice struct {
	Seq     uint64 `json:"seq"`  // always 0: it is not an event
	Type    string `json:"type"` // always "Session"
	Resumed bool   `json:"resumed"`
	Expiry  int    `json:"expiry"`
}

// SessionType is the Type of a SessionNotice.
const SessionType = "Session"

// EncodeSessionNotice is the payload of a SessionNotice.
func EncodeSessionNotice(resumed bool, expiry int) []byte {
	b, _ := json.Marshal(SessionNotice{Type: SessionType, Resumed: resumed, Expiry: expiry})
	return b
}

// DecodeSessionNotice reads a SessionNotice; ok is false for any other
// message (an event).
func DecodeSessionNotice(payload []byte) (n SessionNotice, ok bool) {
	if json.Unmarshal(payload, &n) != nil || n.Type != SessionType {
		return SessionNotice{}, false
	}
	return n, true
}

// EncodeEvent is the payload of ev, the seq-th event of a session.
func EncodeEvent(seq uint64, ev kernel.Event) ([]byte, error) {
	n := 128 + len(ev.InviteID) + len(ev.Inviter) + len(ev.Invitee) + len(ev.GroupID) + len(ev.Data)
	for _, v := range ev.Invitees {
		n += 3 + len(v)
	}
	e := newEvent(seq, &ev)
	return e.appendJSON(make([]byte, 0, n)), nil // n: enough unless escapes lengthen the strings
}

// newEvent is the Event of ev, pointing into it.
func newEvent(seq uint64, ev *kernel.Event) Event {
	e := Event{Seq: seq, Type: ev.Type.String(), InviteID: ev.InviteID}
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
	return e
}

// appendJSON appends json.Marshal(e), written without reflection: events
// are the server's most frequent payload.
func (e *Event) appendJSON(b []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"inviteID":`...)
	b = appendString(b, e.InviteID)
	b = appendOptional(b, `,"inviter":`, e.Inviter)
	b = appendOptional(b, `,"invitee":`, e.Invitee)
	b = appendOptional(b, `,"groupID":`, e.GroupID)
	if len(e.Invitees) > 0 {
		b = append(b, `,"invitees":[`...)
		for i, v := range e.Invitees {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v)
		}
		b = append(b, ']')
	}
	b = appendOptional(b, `,"data":`, e.Data)
	return append(b, '}')
}

// appendOptional appends an omitempty *string field: nothing when v is nil.
func appendOptional(b []byte, key string, v *string) []byte {
	if v == nil {
		return b
	}
	return appendString(append(b, key...), *v)
}

// DecodeEvent reads what EncodeEvent wrote.
func DecodeEvent(payload []byte) (seq uint64, ev kernel.Event, err error) {
	var e Event
	if err := json.Unmarshal(payload, &e); err != nil {
		return 0, ev, fmt.Errorf("event %q: %w", payload, err)
	}
	t, ok := eventTypes[e.Type]
	if !ok {
		return 0, ev, fmt.Errorf("event of unknown type %q", e.Type)
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return e.Seq, kernel.Event{Type: t, InviteID: e.InviteID, Inviter: str(e.Inviter), Invitee: str(e.Invitee),
		GroupID: str(e.GroupID), Invitees: e.Invitees, Data: str(e.Data)}, nil
}

// timestamp is the wire form of a time: RFC 3339 in UTC, to the nanosecond.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func stateNames(states []kernel.State) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = s.String()
	}
	return out
}

func decodeStates(names []string, invitees int) ([]kernel.State, error) {
	if len(names) != invitees {
		return nil, fmt.Errorf("%d states for %d invitees", len(names), invitees)
	}
	out := make([]kernel.State, len(names))
	for i, n := range names {
		s, ok := states[n]
		if !ok {
			return nil, fmt.Errorf("unknown invitee state %q", n)
		}
		out[i] = s
	}
	return out, nil
}

// Values by their wire name, which is their String().
var (
	states     = byName(kernel.Pending, kernel.Accepted, kernel.Rejected, kernel.TimedOut, kernel.Cancelled)
	outcomes   = byName(kernel.OutcomeAccepted, kernel.OutcomeRejected, kernel.OutcomeMissed, kernel.OutcomeCancelled, kernel.OutcomeAnswered, kernel.OutcomeDeclined, kernel.OutcomeUnanswered)
	eventTypes = byName(kernel.EventNewInvitation, kernel.EventCancelled, kernel.EventAccepted, kernel.EventRejected, kernel.EventTimeout, kernel.EventModified)
)

func byName[T fmt.Stringer](all ...T) map[string]T {
	m := make(map[string]T, len(all))
	for _, v := range all {
		m[v.String()] = v
	}
	return m
}
