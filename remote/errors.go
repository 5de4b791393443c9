package remote

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/mqtt/wire"
)

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

// reply is one reply, its result decoded once the op is known.
type reply = wire.Reply[json.RawMessage]

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
