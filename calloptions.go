package beckon

import "github.com/beckonhq/beckon/kernel"

// CallOption sets an optional parameter of a Client operation. An option
// the operation does not take (a timeout on Accept, say) makes it fail
// with 6017, so that a mistaken call is never half-understood.
type CallOption func(*kernel.Input)

// OnlineUserOnly makes an invitation reach only invitees online now, never
// later, and write no history (ONL-1, ONL-2); it cannot be modified
// (ONL-3). For Invite and InviteInGroup.
func OnlineUserOnly() CallOption { return func(in *kernel.Input) { in.OnlineUserOnly = true } }

// TimeoutSeconds makes the invitees still pending n seconds after the
// invite time out (TMO-1); 0, the default, means never. For Invite and
// InviteInGroup.
func TimeoutSeconds(n int) CallOption { return func(in *kernel.Input) { in.Timeout = n } }

// WithPush attaches offline push info to a 1:1 invite (SYN-2; Desc is
// required). For Invite only.
func WithPush(p PushInfo) CallOption { return func(in *kernel.Input) { in.Push = &p } }

// WithRequestID makes the operation safe to retry: a repeat with the same
// request ID by the same user returns the first result and does nothing
// new (IDM-1). For every signaling operation.
func WithRequestID(id string) CallOption { return func(in *kernel.Input) { in.RequestID = id } }

// WithInviteID chooses the invite ID of a new invitation instead of letting
// the runtime draw one (8012 if an open invitation has it). For Invite and
// InviteInGroup.
func WithInviteID(id string) CallOption { return func(in *kernel.Input) { in.InviteID = id } }
