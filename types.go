package beckon

import "github.com/beckonhq/beckon/kernel"

// The kernel's types and constants that the API of this package uses, so
// that a program using the runtime need not import the kernel.
type (
	// Event is the argument list of one SDK callback; its Type says which
	// callback and which fields are set (see kernel.Event).
	Event = kernel.Event
	// EventType names the callback of an Event.
	EventType = kernel.EventType
	// PushInfo is the offline push info of a 1:1 invite (the SDK's
	// OfflinePushConfig; Desc is required).
	PushInfo = kernel.PushInfo
	// PushRequest is an offline push the runtime hands to its PushHook
	// (SYN-2).
	PushRequest = kernel.PushRequest
	// SignalingInfo is the SDK's signaling envelope of a history message.
	SignalingInfo = kernel.SignalingInfo
	// Action is the actionType of a SignalingInfo: what the message records.
	Action = kernel.Action
	// Conversation names a 1:1 or group conversation (see C2C and
	// GroupConversation).
	Conversation = kernel.Conversation
	// OpenInvitation is one open invitation as a participant sees it
	// (kernel.OpenInvitation, QRY-1).
	OpenInvitation = kernel.OpenInvitation
	// State is an invitee's state (pending, accepted, ...).
	State = kernel.State
	// Outcome is what a closed call was for one participant (REC-1).
	Outcome = kernel.Outcome
)

// The event types, one per SDK callback.
const (
	EventNewInvitation = kernel.EventNewInvitation // OnReceiveNewInvitation
	EventCancelled     = kernel.EventCancelled     // OnInvitationCancelled
	EventAccepted      = kernel.EventAccepted      // OnInviteeAccepted
	EventRejected      = kernel.EventRejected      // OnInviteeRejected
	EventTimeout       = kernel.EventTimeout       // OnInvitationTimeout
	EventModified      = kernel.EventModified      // OnInvitationModified
)

// The action types of signaling messages (HIS-2).
const (
	ActionInvite  = kernel.ActionInvite
	ActionCancel  = kernel.ActionCancel
	ActionAccept  = kernel.ActionAccept
	ActionReject  = kernel.ActionReject
	ActionTimeout = kernel.ActionTimeout
	ActionModify  = kernel.ActionModify
)

// C2C returns the 1:1 conversation of users x and y (either order), for
// Runtime.History.
func C2C(x, y string) Conversation { return kernel.C2C(x, y) }

// GroupConversation returns the conversation of group, for Runtime.History.
func GroupConversation(group string) Conversation { return kernel.GroupConversation(group) }

// GetSignalingInfo parses a signaling message, such as the Payload of a
// HistoryMessage (TIMGetSignalingInfo, HIS-3). Anything else gives an error
// matching ErrNotSignalingMessage (code 6017).
func GetSignalingInfo(msg []byte) (SignalingInfo, error) { return kernel.GetSignalingInfo(msg) }
