package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/beckonhq/beckon/adapters/mqtt/wire"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// Request is one decoded request (docs/protocol.md "Requests and replies").
// Exactly one of Input (a signaling operation), History and Records is
// set, or ListOpen is true. Every read is of the connection's own user.
type Request struct {
	ID       string        // the payload's correlation ID; "" if it has none
	Op       string        // as sent: "invite", "history", ...
	Input    *kernel.Input // acted by the connection's user and session
	History  *HistoryQuery
	ListOpen bool // the user's open invitations (QRY-1)
	Records  *RecordsQuery
}

// HistoryQuery is the `history` operation: the messages of Conv with Seq
// above After, at most Limit of them.
type HistoryQuery struct {
	Conv  kernel.Conversation
	After uint64
	Limit int
}

// RecordsQuery is the `records` operation: the user's call records after
// the cursor After (REC-2), at most Limit of them.
type RecordsQuery struct {
	After port.RecordCursor
	Limit int
}

// Page limits of history and records (docs/protocol.md).
const (
	defaultPageLimit = 100
	maxPageLimit     = 1000
)

// pageLimit is the limit of a read: limit if given, within 1..maxPageLimit.
func pageLimit(op string, limit *int) (int, error) {
	switch {
	case limit == nil:
		return defaultPageLimit, nil
	case *limit < 1 || *limit > maxPageLimit:
		return 0, malformed("args of %s: limit must be 1..%d", op, maxPageLimit)
	}
	return *limit, nil
}

// DecodeRequest decodes payload strictly (unknown fields, wrong types,
// trailing data, an unknown op and more than maxBytes bytes are refused)
// into the request of user's session. Its error wraps
// kernel.ErrInvalidParameters (6017) and names the problem; the Request
// then still carries the payload's ID when one could be read, so that the
// refusal can be answered. It never panics. The common requests take a
// fast path that decodes exactly as DecodeRequestStrict does, at a
// fraction of its cost; the rest are DecodeRequestStrict's.
func DecodeRequest(payload []byte, user, session string, maxBytes int) (Request, error) {
	if len(payload) <= maxBytes {
		if req, ok := decodeFast(payload, user, session); ok {
			return req, nil
		}
	}
	return DecodeRequestStrict(payload, user, session, maxBytes)
}

// DecodeRequestStrict is DecodeRequest with encoding/json deciding every
// request: the reference that FuzzMQTTRequestFast holds DecodeRequest's
// fast path to. A server has no reason to call it.
func DecodeRequestStrict(payload []byte, user, session string, maxBytes int) (Request, error) {
	req, err := decodeRequest(payload, user, session, maxBytes)
	if err != nil && req.ID == "" {
		var lenient struct {
			ID string `json:"id"`
		}
		if json.NewDecoder(bytes.NewReader(payload)).Decode(&lenient) == nil && validCorrelationID(lenient.ID) {
			req.ID = lenient.ID
		}
	}
	return req, err
}

// decodeRequest is DecodeRequest but for the ID of a payload it refuses,
// which it reads only when the strict decoding got that far.
func decodeRequest(payload []byte, user, session string, maxBytes int) (Request, error) {
	var req Request
	if len(payload) > maxBytes {
		return req, malformed("request of %d bytes is above the %d-byte limit", len(payload), maxBytes)
	}
	var top wire.Request[json.RawMessage]
	if err := strict(payload, &top); err != nil {
		return req, malformed("request: %v", err)
	}
	if top.ID != nil && !validCorrelationID(*top.ID) {
		return req, malformed("id must be 1..%d bytes", wire.MaxIDBytes)
	}
	if top.ID != nil {
		req.ID = *top.ID
	}
	req.Op = top.Op
	if len(top.Args) == 0 || string(top.Args) == "null" {
		top.Args = []byte("{}")
	}
	switch top.Op {
	case "history", "listOpen", "records":
		if top.RequestID != "" {
			return req, malformed("%s reads: it takes no requestID", top.Op)
		}
	}
	var in kernel.Input
	switch top.Op {
	case "invite":
		var a wire.InviteArgs
		if err := strict(top.Args, &a); err != nil {
			return req, malformed("args of invite: %v", err)
		}
		in = a.Input()
	case "inviteInGroup":
		var a wire.InviteInGroupArgs
		if err := strict(top.Args, &a); err != nil {
			return req, malformed("args of inviteInGroup: %v", err)
		}
		in = a.Input()
	case "cancel", "accept", "reject", "modify":
		var a wire.RespondArgs
		if err := strict(top.Args, &a); err != nil {
			return req, malformed("args of %s: %v", top.Op, err)
		}
		in = a.Input(wire.RespondOp(top.Op))
	case "history":
		var a wire.HistoryArgs
		if err := strict(top.Args, &a); err != nil {
			return req, malformed("args of history: %v", err)
		}
		limit, err := pageLimit(top.Op, a.Limit)
		if err != nil {
			return req, err
		}
		q := HistoryQuery{After: a.After, Limit: limit}
		switch {
		case (a.Peer == "") == (a.Group == ""):
			return req, malformed("args of history: give exactly one of peer and group")
		case a.Peer != "":
			q.Conv = kernel.C2C(user, a.Peer)
		default:
			q.Conv = kernel.GroupConversation(a.Group)
		}
		req.History = &q
		return req, nil
	case "listOpen":
		if err := strict(top.Args, &struct{}{}); err != nil {
			return req, malformed("args of listOpen: %v (it takes none)", err)
		}
		req.ListOpen = true
		return req, nil
	case "records":
		var a wire.RecordsArgs
		if err := strict(top.Args, &a); err != nil {
			return req, malformed("args of records: %v", err)
		}
		after, err := wire.DecodeCursor(a.After)
		if err != nil {
			return req, err
		}
		limit, err := pageLimit(top.Op, a.Limit)
		if err != nil {
			return req, err
		}
		req.Records = &RecordsQuery{After: after, Limit: limit}
		return req, nil
	default:
		return req, malformed("unknown op %q: want invite, inviteInGroup, cancel, accept, reject, modify, history, listOpen or records", top.Op)
	}
	in.User, in.Session, in.RequestID = user, session, top.RequestID
	req.Input = &in
	return req, nil
}

func validCorrelationID(id string) bool { return id != "" && len(id) <= wire.MaxIDBytes }

// strict decodes exactly one JSON value into v, refusing unknown fields.
func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

func malformed(format string, args ...any) error {
	return &kernel.OpError{Class: kernel.ErrInvalidParameters, Msg: fmt.Sprintf(format, args...)}
}
