package beckon

import (
	"strconv"

	"github.com/beckonhq/beckon/kernel"
)

// CallOption sets one optional parameter of a Client operation. Only the
// functions below make one, so an option cannot change who acts: that is
// always the Client's user and session. A nil option, or one the operation
// does not take (a timeout on Accept, say), makes the call fail with 6017
// (ErrInvalidParameters), so that a mistaken call is never half-understood.
type CallOption interface{ optionName() string }

// The options, one type each; applyOptions reads them with one type switch,
// which keeps them off the heap (a func option would take a pointer to
// memory the compiler must then allocate).
type (
	onlineUserOnly struct{}
	timeoutSeconds int
	withPush       PushInfo
	withRequestID  string
	withInviteID   string
)

func (onlineUserOnly) optionName() string { return "OnlineUserOnly" }
func (timeoutSeconds) optionName() string { return "TimeoutSeconds" }
func (withPush) optionName() string       { return "WithPush" }
func (withRequestID) optionName() string  { return "WithRequestID" }
func (withInviteID) optionName() string   { return "WithInviteID" }

// OnlineUserOnly makes an invitation reach only invitees online now, never
// later, and write no history (ONL-1, ONL-2); it cannot be modified
// (ONL-3). For Invite and InviteInGroup.
func OnlineUserOnly() CallOption { return onlineUserOnly{} }

// TimeoutSeconds makes the invitees still pending n seconds after the
// invite time out (TMO-1); 0, the default, means never. For Invite and
// InviteInGroup.
func TimeoutSeconds(n int) CallOption { return timeoutSeconds(n) }

// WithPush attaches offline push info to a 1:1 invite (SYN-2; Desc is
// required). Its fields must be valid UTF-8 and together at most the
// kernel's MaxPushBytes (default 4 KiB; else ErrBodySizeLimit), and it
// cannot go with OnlineUserOnly, which never pushes (INV-7). For Invite
// only.
func WithPush(p PushInfo) CallOption { return withPush(p) }

// WithRequestID makes the operation safe to retry: a repeat of the same
// call (the same operation with the same arguments) with the same request
// ID by the same user returns the first result and does nothing new
// (IDM-1). Reusing the request ID, within the kernel's RequestIDWindow
// (default 10 minutes), for another operation or other arguments fails
// with ErrInvalidParameters (6017, "request ID reused for another call")
// and applies nothing (IDM-2): give every new call a new request ID.
// Request IDs are per user: another user's equal ID is another request.
// The acting session is not an argument, so a retry may come from another
// device; an invite that chose no WithInviteID retries one that did. For
// every signaling operation.
func WithRequestID(id string) CallOption { return withRequestID(id) }

// WithInviteID chooses the invite ID of a new invitation instead of letting
// the runtime draw one (8012 if an open invitation has it). For Invite and
// InviteInGroup.
func WithInviteID(id string) CallOption { return withInviteID(id) }

// ApplyCallOptions sets opts on in, whose Op is the operation called, or
// returns the 6017 error of an option the operation does not take. It is
// for a client of another process (package remote), which sends what the
// options set as the request's arguments, so that both clients take the
// same options with the same refusals.
func ApplyCallOptions(in *kernel.Input, opts []CallOption) error { return applyOptions(in, opts) }

// applyOptions sets opts on in, whose Op is the operation called. It is
// the one place that decides which operation takes which option.
func applyOptions(in *kernel.Input, opts []CallOption) error {
	invite := in.Op == kernel.OpInvite || in.Op == kernel.OpInviteInGroup
	for i, o := range opts {
		taken := invite
		switch o := o.(type) {
		case onlineUserOnly:
			in.OnlineUserOnly = true
		case timeoutSeconds:
			in.Timeout = int(o)
		case withPush:
			taken = in.Op == kernel.OpInvite
			p := PushInfo(o)
			in.Push = &p
		case withRequestID:
			taken = true
			in.RequestID = string(o)
		case withInviteID:
			in.InviteID = string(o)
		default: // nil: the only other value of the sealed interface
			return optionError(i, "nil", "a nil CallOption; make options with OnlineUserOnly, TimeoutSeconds, WithPush, WithRequestID or WithInviteID")
		}
		if !taken {
			return optionError(i, o.optionName(), in.Op.String()+" does not take this option; the doc of the Client method lists the options it takes")
		}
	}
	return nil
}

// optionError is the 6017 error of option i of a call.
func optionError(i int, value, msg string) error {
	return &kernel.OpError{Class: kernel.ErrInvalidParameters, Field: "opts[" + strconv.Itoa(i) + "]", Value: value, Msg: msg}
}
