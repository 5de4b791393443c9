package kernel

// Step is what one Apply or Tick asks of its driver. Its fields are
// obligations, to be met in the order they are listed. Apply returns the
// kernel's own Step, and its slices point into buffers of the kernel: the
// next call reuses them all, so read them before it and copy what you keep
// (handing out the kernel's Step instead of a copy of its ~350 bytes saves
// about 5% of an Apply).
type Step struct {
	// Log reports that the call changed the state: Record must be made
	// durable. False: the call changed nothing, and there is nothing to log.
	Log bool
	// Record, when Log, is the input to make durable: the call's input
	// with InviteID set to the result's and no ProposedInviteID, or a Tick
	// when the call failed or was a retry (IDM-1) but let timeouts fire
	// (replayed, a failed input might not fail the same way). At is
	// Kernel.Now(); Index is 0: the driver numbers its log. Persist it and
	// History together, in one durable write when the store can, before
	// anything in Events or Pushes reaches anyone (DLV-3). When not Log,
	// Record holds nothing to persist.
	Record Record
	// History is the signaling messages to append to their conversations
	// (HIS-1), in order.
	History []History
	// Closed lists the invitations this step closed, with their final
	// states and close time, in the order they closed (timeouts first):
	// what a store keeps each participant's call record of (REC-1).
	// Online-only invitations are not listed (ONL-2). Persist them with
	// Record and History, in the same durable write, so that no closed
	// invitation is ever without its records, nor an open one with them.
	// Each one's Index is 0: the driver sets it to its Record's.
	Closed []ClosedCall
	// Events go out once Record and History are durable, each to its one
	// session; in this order, which per recipient is the order of delivery
	// (DLV-1, DLV-2).
	Events []SessionEvent
	// Pushes go to the offline push hook after this step's Events, each at
	// most once (SYN-2).
	Pushes []PushRequest
	// Ended lists the sessions this step ended (Disconnect, Suspend without
	// expiry, the expiry of a session away, Connect or Resume that starts a
	// session anew), in order, each with its place among Events: the
	// driver drops what it still keeps for the session once it has handed
	// over the events before the end, and before those after it.
	Ended []SessionEnd
	// Result is the answer for the caller: hand it back last.
	Result
}

// SessionEvent is an event for one session of a user: the kernel has
// already expanded a user's event to each of its connected sessions, in
// connection order (DLV-1).
type SessionEvent struct {
	User    string
	Session string
	// Seq numbers the session's events from 1, one by one, for as long as
	// the session lasts (across lost connections, REM-5).
	Seq uint64
	// Resumable: the session outlives a lost connection (its expiry is
	// not 0), so the event must be kept, durably with the step's Record,
	// until the session's device has it (REM-5).
	Resumable bool
	Event     Event
}

// Result is the answer to one Apply.
type Result struct {
	// InviteID is the invitation the operation acted on: for a successful
	// invite, the ID it created (chosen by the caller, proposed by the
	// driver, or drawn from Config.IDs); for a retry (IDM-1), the first
	// call's.
	InviteID string
	// Err is nil on success, else an error wrapping one of the Err* classes.
	// A failed operation changed no invitation and emitted no event of its
	// own (timeouts due by then still took effect, see Apply).
	Err error
	// Resumed reports, for Resume, that the session was still there; false:
	// it started anew (REM-6).
	Resumed bool
	// Duplicate reports that the call was a retry answered from the
	// request-ID memory (IDM-1): it emitted nothing.
	Duplicate bool
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
// Invitees may be shared between events and with the kernel: read it,
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
