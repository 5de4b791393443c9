package beckon

import (
	"errors"

	"github.com/beckonhq/beckon/kernel"
)

// Error is a failure of the runtime itself (as opposed to a rejected
// operation, which is a kernel error) with the SDK's numeric code. The
// exported Err* values of this package are its only instances: match them
// with errors.Is and read the number with Code.
type Error struct {
	code int
	msg  string
}

// Code is the SDK's error number.
func (e *Error) Code() int { return e.code }

// Error returns the message, which says what to do about it.
func (e *Error) Error() string { return e.msg }

// The runtime's errors. Operations rejected by the rules return the
// kernel's errors (kernel.ErrInvalidInviteID and the others), unchanged.
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
// Error or of a kernel error, 0 for nil, and -1 for anything else (a
// context's error, for instance).
func Code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.code
	}
	return kernel.Code(err)
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
