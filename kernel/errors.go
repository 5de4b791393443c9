package kernel

import (
	"errors"
	"fmt"
)

// Error is a class of failure with the SDK's numeric code. The exported
// Err* values are the only instances; match them with errors.Is and read
// the number with Code.
type Error struct {
	code int
	name string
}

// Code is the SDK's error number, e.g. 8010.
func (e *Error) Code() int { return e.code }

func (e *Error) Error() string { return fmt.Sprintf("%s (%d)", e.name, e.code) }

// The error classes. Every error the kernel returns wraps exactly one of
// them, so errors.Is(err, ErrInvalidInviteID) and Code(err) work on it.
var (
	// ErrInvalidParameters (6017): malformed input: empty, duplicate or
	// oversized IDs, the inviter among the invitees, a negative or too large
	// timeout, push info without desc, not UTF-8 or on an online-only
	// invite, an invitee of a group invite who is not in the group, too
	// many invitees or open invitations, a request ID reused for another
	// call (IDM-2).
	ErrInvalidParameters = &Error{6017, "invalid parameters"}
	// ErrBodySizeLimit (8001): data larger than Config.MaxDataBytes, or
	// push info larger than Config.MaxPushBytes.
	ErrBodySizeLimit = &Error{8001, "body size limit exceeded"}
	// ErrInvalidInviteID (8010): unknown or closed invitation, already
	// handled by this invitee, or the caller may not see it.
	ErrInvalidInviteID = &Error{8010, "invalid invite ID"}
	// ErrNoPermission (8011): a participant doing what its role forbids
	// (an invitee cancelling, modifying an online-only invitation).
	ErrNoPermission = &Error{8011, "no permission"}
	// ErrAlreadyExists (8012): a caller-chosen invite ID already in use.
	ErrAlreadyExists = &Error{8012, "invite ID already exists"}
	// ErrGroupNotFound (10010): a group the kernel was never told about.
	ErrGroupNotFound = &Error{10010, "group not found"}
	// ErrNotGroupMember (10007): a group invite by a user outside the group.
	ErrNotGroupMember = &Error{10007, "not a group member"}
	// ErrNotSignalingMessage (6017, distinct from ErrInvalidParameters):
	// GetSignalingInfo was given something that is not a signaling message.
	ErrNotSignalingMessage = &Error{6017, "not a signaling message"}
)

// Code returns the SDK error number carried by err, 0 for nil, and -1 for
// an error that does not come from this package.
func Code(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.code
	}
	var oe *OpError
	if errors.As(err, &oe) {
		return oe.Class.code
	}
	return -1
}

// OpError is the error of one failed operation: its class, the field that
// was wrong and the offending value, and what to do about it.
type OpError struct {
	Class *Error // one of the Err* values
	Field string // the input field at fault, e.g. "InviteID", "Invitees[2]"
	// Value is the offending value, shortened to 64 bytes. Data and push
	// info are not echoed (they may be large or private): Value then says
	// what was given instead, such as "8193 bytes" or "given".
	Value string
	Msg   string // what was wrong, in words

	described bool // Value describes the value instead of quoting it
}

// Error reads `beckon: <class> (<code>): <Field> "<Value>": <Msg>`, or
// `<Field> (<description>)` for a value that is not echoed, so that an
// empty quoted value always means the field was empty.
func (e *OpError) Error() string {
	switch {
	case e.Field == "":
		return fmt.Sprintf("beckon: %s (%d): %s", e.Class.name, e.Class.code, e.Msg)
	case e.described:
		return fmt.Sprintf("beckon: %s (%d): %s (%s): %s", e.Class.name, e.Class.code, e.Field, e.Value, e.Msg)
	}
	return fmt.Sprintf("beckon: %s (%d): %s %q: %s", e.Class.name, e.Class.code, e.Field, e.Value, e.Msg)
}

// Unwrap makes errors.Is(err, ErrX) work.
func (e *OpError) Unwrap() error { return e.Class }

func fail(class *Error, field, value, format string, args ...any) error {
	if len(value) > 64 {
		value = value[:64] + "..."
	}
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &OpError{Class: class, Field: field, Value: value, Msg: msg}
}

// failGiven is fail for a field whose value is not echoed: given says what
// was given instead (its size, or "given").
func failGiven(class *Error, field, given, format string, args ...any) error {
	err := fail(class, field, "", format, args...).(*OpError)
	err.Value, err.described = given, true
	return err
}
