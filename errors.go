package beckon

import (
	"errors"

	"github.com/beckonhq/beckon/kernel"
)

// Error is a failure of the runtime itself (as opposed to an operation the
// rules reject, see ErrInvalidParameters and the others) with the SDK's
// numeric code. ErrClosed, ErrNotLoggedIn, ErrStoreFailed, ErrSessionInUse
// and ErrNoSessionRegistry are its only instances: match them with
// errors.Is and read the number with Code.
type Error struct {
	code int
	msg  string
}

// Code is the SDK's error number.
func (e *Error) Code() int { return e.code }

// Error returns the message, which says what to do about it.
func (e *Error) Error() string { return e.msg }

// The errors of operations the rules reject (RULES.md, "Error codes"):
// the kernel's classes, under this package's names so that a program can
// match them without importing the kernel. A rejected operation's error
// wraps one of them and says which field was wrong and why.
var (
	// ErrInvalidParameters (6017): malformed input (empty, duplicate or
	// oversized IDs, the inviter among the invitees, a timeout out of
	// range, push info without Desc, not UTF-8 or with OnlineUserOnly, an
	// invitee of a group invite outside the group, too many invitees or
	// open invitations, a request ID reused for another call), or a
	// CallOption the operation does not take.
	ErrInvalidParameters = kernel.ErrInvalidParameters
	// ErrBodySizeLimit (8001): data or push info above its configured
	// size limit.
	ErrBodySizeLimit = kernel.ErrBodySizeLimit
	// ErrInvalidInviteID (8010): unknown or closed invitation, already
	// answered by this invitee, or the caller may not do this to it.
	ErrInvalidInviteID = kernel.ErrInvalidInviteID
	// ErrNoPermission (8011): a participant doing what its role forbids
	// (an invitee cancelling, a modify of an online-only invitation).
	ErrNoPermission = kernel.ErrNoPermission
	// ErrAlreadyExists (8012): WithInviteID named an invite ID in use.
	ErrAlreadyExists = kernel.ErrAlreadyExists
	// ErrGroupNotFound (10010): a group the runtime was never told about
	// (see Runtime.SetGroup).
	ErrGroupNotFound = kernel.ErrGroupNotFound
	// ErrNotGroupMember (10007): a group invite by a user outside the
	// group, or a read of a group's history by one (HIS-4).
	ErrNotGroupMember = kernel.ErrNotGroupMember
	// ErrNotSignalingMessage (6017, but distinct from ErrInvalidParameters):
	// GetSignalingInfo was given something that is not a signaling message.
	ErrNotSignalingMessage = kernel.ErrNotSignalingMessage
)

// The runtime's own errors.
var (
	// ErrClosed (6013, the SDK's "not initialized"): the runtime is closed.
	// An operation that gets it was not applied. Create a new Runtime.
	ErrClosed = &Error{6013, "beckon: runtime is closed (the operation was not applied); create a new Runtime"}
	// ErrNotLoggedIn (6014, the SDK's "not logged in"): the client is
	// closed. Log in again with Runtime.Login.
	ErrNotLoggedIn = &Error{6014, "beckon: not logged in: this client is closed; log in again with Runtime.Login"}
	// ErrStoreFailed (6022, the SDK's "IO operation failed"): the store
	// could not make a batch durable. The operations of that batch were not
	// acknowledged and the runtime stopped, since its memory may be ahead
	// of the disk; the error wraps the store's. Fix the store and restart:
	// recovery replays what the store kept.
	ErrStoreFailed = &Error{6022, "beckon: store failed; the runtime stopped (restart it to recover from what the store kept)"}
	// ErrSessionInUse (6017, invalid parameters): Login of a session that
	// is already logged in on this runtime. Close its client first, or give
	// each device its own session ID.
	ErrSessionInUse = &Error{6017, "beckon: this session is already logged in; close its client first or use another session ID"}
	// ErrNoSessionRegistry (6013): Login needs a Delivery that can register
	// in-process sessions (a SessionRegistry such as memory.Hub); the one
	// given with WithDelivery cannot.
	ErrNoSessionRegistry = &Error{6013, "beckon: Login needs a Delivery that implements SessionRegistry (memory.Hub does); see WithDelivery"}
)

// Code returns the SDK error number carried by err: the code of a runtime
// Error, of a rule error (ErrInvalidParameters and the others), or of any
// error in err's chain with a Code() int method (a server's reply to a
// remote client), 0 for nil, and -1 for anything else (a context's error,
// for instance).
func Code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.code
	}
	if c := kernel.Code(err); c >= 0 {
		return c
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code()
	}
	return -1
}

// storeError is an ErrStoreFailed that also wraps the store's error.
type storeError struct {
	op  string
	err error
}

// Error names the failed store operation and the store's error.
func (e *storeError) Error() string {
	return ErrStoreFailed.msg + ": " + e.op + ": " + e.err.Error()
}

// Unwrap makes errors.Is match both ErrStoreFailed and the store's error.
func (e *storeError) Unwrap() []error { return []error{ErrStoreFailed, e.err} }
