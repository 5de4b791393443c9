package kernel

// Result is the answer to one Apply.
type Result struct {
	// InviteID is the invitation the operation acted on: for a successful
	// invite, the ID it created (chosen by the caller or drawn from
	// Config.IDs); for a retry (IDM-1), the first call's.
	InviteID string
	// Err is nil on success, else an error wrapping one of the Err* classes.
	// A failed operation changed no invitation and emitted no event of its
	// own (timeouts due by then still took effect, see Apply).
	Err error
	// Changed reports that the call changed the kernel's state. The driver
	// must then make the input durable (with Input.InviteID set to
	// Result.InviteID) before it hands any output to anyone.
	Changed bool
	// Duplicate reports that the call was a retry answered from the
	// request-ID memory (IDM-1): it emitted nothing.
	Duplicate bool
}

// ToLog returns what a durable driver persists for the call that gave r
// with input in, and whether it must persist anything:
//   - nothing when the call changed no state;
//   - in, with InviteID set to r.InviteID, when the operation succeeded;
//   - Input{Op: OpTick} when the operation failed or was a retry answered
//     from memory but timeouts due before it fired: replayed, a failed input
//     might not fail the same way (say, an invite that failed because the ID
//     source drew a bad ID), so only its time is logged.
func (r Result) ToLog(in Input) (Input, bool) {
	switch {
	case !r.Changed:
		return Input{}, false
	case r.Err != nil || r.Duplicate:
		return Input{Op: OpTick}, true
	}
	in.InviteID = r.InviteID
	return in, true
}

// OutputKind tells which field of an Output is set.
type OutputKind uint8

// The output kinds.
const (
	OutEvent   OutputKind = iota + 1 // Output.Event, to one session of Output.User
	OutHistory                       // Output.History, to a conversation
	OutPush                          // Output.Push, to the push hook
)

// Output is one thing the driver must do, in the order the kernel returned
// the outputs, and only after the input that caused it is durable:
//
//   - OutEvent: hand Event to session Session of user User. The kernel has
//     already expanded a user's event to each of its connected sessions
//     (DLV-1) in connection order; per recipient, the order of outputs is the
//     order of delivery (DLV-2).
//   - OutHistory: append History.Info to conversation History.Conv (HIS-1).
//     Store it in the same durable write as the input when the store can.
//   - OutPush: hand Push to the offline push hook (SYN-2), at most once.
//
// History and Push point into buffers of the kernel, like the output slice
// itself: read them before the next call, copy what you keep.
type Output struct {
	Kind    OutputKind
	User    string       // OutEvent: the receiving user
	Session string       // OutEvent: the receiving session of User
	Event   Event        // OutEvent
	History *History     // OutHistory
	Push    *PushRequest // OutPush
}

// EventType names the six callbacks of the SDK.
type EventType uint8

// The events, one per SDK callback.
const (
	EventNewInvitation EventType = iota + 1 // TIMSignalingReceiveNewInvitationCallback
	EventCancelled                          // TIMSignalingInvitationCancelledCallback
	EventAccepted                           // TIMSignalingInviteeAcceptedCallback
	EventRejected                           // TIMSignalingInviteeRejectedCallback
	EventTimeout                            // TIMSignalingInvitationTimeoutCallback
	EventModified                           // TIMSignalingInvitationModifiedCallback
)

var eventNames = [...]string{"", "ReceiveNewInvitation", "InvitationCancelled", "InviteeAccepted",
	"InviteeRejected", "InvitationTimeout", "InvitationModified"}

func (t EventType) String() string {
	if int(t) < len(eventNames) && t != 0 {
		return eventNames[t]
	}
	return "EventType(" + itoa(int(t)) + ")"
}

// Event is the argument list of one SDK callback. Which fields are set:
//
//	NewInvitation  InviteID Inviter GroupID Invitees(all) Data
//	Cancelled      InviteID Inviter Data
//	Accepted       InviteID Invitee Data
//	Rejected       InviteID Invitee Data
//	Timeout        InviteID Invitees(timed out: all of them for the inviter, itself for an invitee)
//	Modified       InviteID Data
//
// Invitees may be shared between outputs and with the kernel: read it,
// never modify it. It stays valid after the next call: the kernel never
// changes an invitee list once made.
type Event struct {
	Type     EventType
	InviteID string
	Inviter  string
	Invitee  string
	GroupID  string
	Invitees []string
	Data     string
}

// Conversation names where a history message goes: a group, or the 1:1
// conversation of two users (A < B, so both users name it the same way).
type Conversation struct {
	Group string
	A, B  string
}

// C2C returns the 1:1 conversation of users x and y.
func C2C(x, y string) Conversation {
	if y < x {
		x, y = y, x
	}
	return Conversation{A: x, B: y}
}

// GroupConversation returns the conversation of a group.
func GroupConversation(group string) Conversation { return Conversation{Group: group} }

// String is a stable key: "group:<id>" or "c2c:<a>:<b>" (lengths prefix the
// IDs, so no ID can forge another key): "c2c:<len(a)>:<a><b>".
func (c Conversation) String() string {
	if c.Group != "" {
		return "group:" + c.Group
	}
	return "c2c:" + itoa(len(c.A)) + ":" + c.A + c.B
}

// History is one signaling message for a conversation's history (HIS-1).
type History struct {
	Conv   Conversation
	Sender string // who acted; the inviter for a timeout
	At     int64  // Unix nanoseconds of the kernel time it happened at
	Info   SignalingInfo
}

// PushRequest asks the push hook to notify an offline invitee (SYN-2).
type PushRequest struct {
	To       string
	InviteID string
	Inviter  string
	Data     string
	Info     PushInfo
}
