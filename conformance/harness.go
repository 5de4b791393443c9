package conformance

import (
	"fmt"
	"strings"
	"time"
)

// SDK error codes (RULES.md, "Error codes"). A harness reports them as plain ints; 0 is success.
const (
	CodeOK                = 0
	CodeInvalidParameters = 6017
	CodeBodySizeLimit     = 8001
	CodeInvalidInviteID   = 8010
	CodeNoPermission      = 8011
	CodeAlreadyExists     = 8012
	CodeGroupNotFound     = 10010
	CodeNotGroupMember    = 10007
)

// MaxInviteIDBytes is the longest invite ID (fixed by the SDK's 128-byte buffer).
const MaxInviteIDBytes = 127

// TB is the part of *testing.T that the suite and a harness constructor use.
// *testing.T and *rapid.T both satisfy it, so one constructor serves Run and
// RunProperties.
type TB interface {
	Helper()
	Name() string
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Cleanup(func())
}

// Limits are the configured limits of the implementation under test (LIM-1).
// The suite tests each one at its boundary, so small values make it faster
// and make the property test hit them more often. RequestIDWindow and
// MaxRequestIDs may be zero when unknown: the checks that need them are
// then skipped.
type Limits struct {
	MaxIDBytes        int           // user, session, group and request IDs
	MaxInvitees       int           // invitees of one group invite
	MaxDataBytes      int           // data of any operation
	MaxPushBytes      int           // push info's title, desc, ext and sound together (INV-7); 0 when unknown
	MaxOpenPerInviter int           // open invitations of one inviter
	MaxTimeoutSeconds int           // largest accepted timeout
	RequestIDWindow   time.Duration // how long a request ID is remembered (IDM-1)
	MaxRequestIDs     int           // how many request IDs are remembered at most
	// The call records a RecordLister keeps at least (REC-1): each user's
	// newest RecordsPerUser that closed within RecordMaxAge; it may drop
	// older ones (its retention). Zero: it keeps every one.
	RecordsPerUser int
	RecordMaxAge   time.Duration
}

// Caller is who acts: a user, optionally the acting session (device), and
// optionally a request ID that makes a retry safe (IDM-1).
type Caller struct {
	User      string
	Session   string
	RequestID string
}

// PushInfo is the offline push info of a 1:1 invite. Desc is required.
// A group invite carries none (INV-2): one that does is 6017.
type PushInfo struct {
	Title string
	Desc  string
	Ext   string
	Sound string
}

// InviteArgs are the arguments of a 1:1 invite.
type InviteArgs struct {
	InviteID       string // optional: a caller-chosen invite ID; empty lets the implementation choose
	Invitee        string
	Data           string
	OnlineUserOnly bool
	Push           *PushInfo // optional
	Timeout        int       // whole seconds, 0 = never times out
}

// GroupInviteArgs are the arguments of an invite in a group.
type GroupInviteArgs struct {
	InviteID       string // optional, as in InviteArgs
	Group          string
	Invitees       []string
	Data           string
	OnlineUserOnly bool
	Timeout        int
	// Push is push info, which group invites do not carry (INV-2): the
	// suite sets it to check that such an invite is refused with 6017, so a
	// harness must pass it on as it would any other argument.
	Push *PushInfo
}

// EventType names the SDK's six signaling callbacks.
type EventType int

// The events.
const (
	EventNewInvitation EventType = iota + 1 // ReceiveNewInvitation(inviteID, inviter, groupID, inviteeList, data)
	EventCancelled                          // InvitationCancelled(inviteID, inviter, data)
	EventAccepted                           // InviteeAccepted(inviteID, invitee, data)
	EventRejected                           // InviteeRejected(inviteID, invitee, data)
	EventTimeout                            // InvitationTimeout(inviteID, inviteeList)
	EventModified                           // InvitationModified(inviteID, data)
)

var eventNames = [...]string{"", "NewInvitation", "Cancelled", "Accepted", "Rejected", "Timeout", "Modified"}

func (e EventType) String() string {
	if e > 0 && int(e) < len(eventNames) {
		return eventNames[e]
	}
	return fmt.Sprintf("EventType(%d)", int(e))
}

// Event is the argument list of one callback. Only the fields of its type's
// callback are compared (see EventType); the others are ignored.
type Event struct {
	Type     EventType
	InviteID string
	Inviter  string   // NewInvitation, Cancelled
	Invitee  string   // Accepted, Rejected
	GroupID  string   // NewInvitation
	Invitees []string // NewInvitation (all invitees), Timeout (the timed-out ones)
	Data     string   // all but Timeout
}

// Normalize returns e with the fields its callback does not carry cleared
// and a nil Invitees made empty where the callback carries a list.
func (e Event) Normalize() Event {
	n := Event{Type: e.Type, InviteID: e.InviteID}
	switch e.Type {
	case EventNewInvitation:
		n.Inviter, n.GroupID, n.Invitees, n.Data = e.Inviter, e.GroupID, e.Invitees, e.Data
	case EventCancelled:
		n.Inviter, n.Data = e.Inviter, e.Data
	case EventAccepted, EventRejected:
		n.Invitee, n.Data = e.Invitee, e.Data
	case EventTimeout:
		n.Invitees = e.Invitees
	case EventModified:
		n.Data = e.Data
	default:
		return e
	}
	if (e.Type == EventNewInvitation || e.Type == EventTimeout) && n.Invitees == nil {
		n.Invitees = []string{}
	}
	return n
}

func (e Event) String() string {
	n := e.Normalize()
	switch n.Type {
	case EventNewInvitation:
		return fmt.Sprintf("NewInvitation(%s, inviter=%s, group=%q, invitees=%s, data=%s)", n.InviteID, n.Inviter, n.GroupID, listString(n.Invitees), short(n.Data))
	case EventCancelled:
		return fmt.Sprintf("Cancelled(%s, inviter=%s, data=%s)", n.InviteID, n.Inviter, short(n.Data))
	case EventAccepted:
		return fmt.Sprintf("Accepted(%s, invitee=%s, data=%s)", n.InviteID, n.Invitee, short(n.Data))
	case EventRejected:
		return fmt.Sprintf("Rejected(%s, invitee=%s, data=%s)", n.InviteID, n.Invitee, short(n.Data))
	case EventTimeout:
		return fmt.Sprintf("Timeout(%s, invitees=%s)", n.InviteID, listString(n.Invitees))
	case EventModified:
		return fmt.Sprintf("Modified(%s, data=%s)", n.InviteID, short(n.Data))
	}
	return fmt.Sprintf("%#v", e)
}

// Conversation names where history goes: a group, or the 1:1 conversation
// of two users. Build it with C2C or GroupConv so that both users of a 1:1
// conversation name it the same way (A < B).
type Conversation struct {
	Group string
	A, B  string
}

// C2C is the 1:1 conversation of x and y (in either order).
func C2C(x, y string) Conversation {
	if y < x {
		x, y = y, x
	}
	return Conversation{A: x, B: y}
}

// GroupConv is the conversation of a group.
func GroupConv(group string) Conversation { return Conversation{Group: group} }

func (c Conversation) String() string {
	if c.Group != "" {
		return "group:" + c.Group
	}
	return "c2c:" + c.A + "," + c.B
}

// Action is the envelope's actionType (HIS-2).
const (
	ActionInvite  = 1
	ActionCancel  = 2
	ActionAccept  = 3
	ActionReject  = 4
	ActionTimeout = 5
	ActionModify  = 6
)

// Envelope is the SDK's signaling envelope, the JSON payload of a history
// message (HIS-2).
type Envelope struct {
	BusinessID     int      `json:"businessID"`
	InviteID       string   `json:"inviteID"`
	GroupID        string   `json:"groupID"`
	Inviter        string   `json:"inviter"`
	InviteeList    []string `json:"inviteeList"`
	Data           string   `json:"data"`
	Timeout        int      `json:"timeout"`
	ActionType     int      `json:"actionType"`
	OnlineUserOnly bool     `json:"onlineUserOnly"`
}

func (e Envelope) String() string {
	return fmt.Sprintf("{biz=%d action=%d id=%s group=%q inviter=%s invitees=%s data=%s timeout=%d onlineOnly=%v}",
		e.BusinessID, e.ActionType, e.InviteID, e.GroupID, e.Inviter, listString(e.InviteeList), short(e.Data), e.Timeout, e.OnlineUserOnly)
}

// PushRequest is what the implementation hands its offline push hook (SYN-2).
type PushRequest struct {
	To       string // the offline invitee
	InviteID string
	Inviter  string
	Data     string // the invitation's data
	Info     PushInfo
}

func (p PushRequest) String() string {
	return fmt.Sprintf("Push(to=%s, %s, inviter=%s, data=%s, title=%q desc=%q ext=%q sound=%q)",
		p.To, p.InviteID, p.Inviter, short(p.Data), p.Info.Title, p.Info.Desc, p.Info.Ext, p.Info.Sound)
}

// Harness is the implementation under test, seen from its clients: each
// method acts as, or observes, one user's session. A harness is made fresh
// for every check (see Run) and is used from one goroutine.
//
// Time is virtual: it starts wherever the harness likes and moves only by
// Advance (and Restart). Every operation happens at the current time, after
// every timeout due at or before it took effect.
//
// Every method must return only after the effects of the call are visible:
// the events it caused are readable with TakeEvents, its history with
// History, its push requests with TakePushes (DLV-3).
type Harness interface {
	// Limits reports the configured limits (LIM-1).
	Limits() Limits

	// Invite, InviteInGroup: the caller invites; the result is the invite ID
	// (on success; anything on failure) and an error code (0 = success).
	Invite(c Caller, a InviteArgs) (inviteID string, code int)
	InviteInGroup(c Caller, a GroupInviteArgs) (inviteID string, code int)
	// Cancel, Accept, Reject, Modify act on an invitation; data is the
	// operation's data. They return an error code.
	Cancel(c Caller, inviteID, data string) int
	Accept(c Caller, inviteID, data string) int
	Reject(c Caller, inviteID, data string) int
	Modify(c Caller, inviteID, data string) int

	// Connect brings a session of a user online (a new connection if it was
	// not connected); Disconnect takes it offline. Sessions are named per
	// user. They return an error code (0, or 6017 for a malformed ID).
	Connect(user, session string) int
	Disconnect(user, session string) int
	// SetGroup makes members the whole membership of group (creating it).
	// JoinGroup and LeaveGroup of an unknown group return 10010.
	SetGroup(group string, members []string) int
	JoinGroup(group, user string) int
	LeaveGroup(group, user string) int

	// Advance moves virtual time forward by d (d >= 0). It returns after every
	// timeout due by the new time took effect.
	Advance(d time.Duration)

	// TakeEvents returns, in order of delivery, the events delivered to the
	// session since the last TakeEvents of it (also those delivered before
	// it disconnected), and forgets them.
	TakeEvents(user, session string) []Event
	// History returns every history message of the conversation so far, in
	// order, as the raw payload (the JSON signaling envelope).
	History(conv Conversation) [][]byte
	// TakePushes returns the push requests handed to the push hook since the
	// last TakePushes, in order, and forgets them.
	TakePushes() []PushRequest
	// ParseSignalingInfo is the implementation's GetSignalingInfo (HIS-3):
	// ok is false for anything that is not a signaling message. It must not
	// panic.
	ParseSignalingInfo(msg []byte) (info Envelope, ok bool)
}

// Restarter is the capability of a durable implementation (DLV-3, TMO-4,
// DET-1): Restart stops the implementation as if it crashed right after the
// last call returned, lets downtime pass on the virtual clock while it is
// down, and recovers it from its durable state. Client sessions stay as they
// were: sessions connected before are connected after, in the same order,
// without that counting as a new connection (no SYN-1 re-delivery), and
// events already delivered stay readable. Timeouts that fell due while it was
// down take effect during recovery, before Restart returns.
type Restarter interface {
	Restart(downtime time.Duration)
}

// SessionResumer is the capability of an implementation whose sessions
// outlive a lost connection for an expiry (REM-4..REM-6), such as devices
// connected over a network. The suite drops and reconnects only sessions
// it connected with ConnectFor, never calls Connect or Disconnect on a
// dropped one, nor Reconnect on a connected one, and asks for expiries of
// whole seconds, at most an hour.
//
//   - ConnectFor is Connect with the session's expiry (0: none): a new
//     connection of a session that is not connected, or whose connection
//     is lost, which it replaces (REM-4: one session, never two); nothing
//     for a session connected already. It returns an error code.
//   - Drop loses the session's connection, as a network does (not a clean
//     disconnect), and returns once the implementation took note. Events
//     delivered before it are readable with TakeEvents; those after it are
//     the session's only once it resumes.
//   - Reconnect is the session's device back on a new connection, asking to
//     resume the session with the expiry of its last ConnectFor: resumed
//     tells whether the implementation resumed it (REM-5: TakeEvents then
//     returns every event it had meanwhile) or started a new session
//     (REM-6: SYN-1 applies). code is an error code.
//
// With a Restarter, a session dropped before Restart stays dropped (its
// device comes back with Reconnect), one connected stays connected.
type SessionResumer interface {
	ConnectFor(user, session string, expiry time.Duration) int
	Drop(user, session string)
	Reconnect(user, session string) (resumed bool, code int)
}

// InvitationCounter is the capability of reporting how many invitations the
// implementation holds in memory as open (LIM-2).
type InvitationCounter interface {
	OpenInvitations() int
}

// HistoryReader is the capability of reading history as a user (HIS-4):
// ReadHistory returns what History returns for conv, with code 0, when
// user may read it, and else nil with the error code (10007 for a
// non-member of a group, 10010 for an unknown group).
type HistoryReader interface {
	ReadHistory(user string, conv Conversation) (history [][]byte, code int)
}

// OutputKind tells which field of an Output is set.
type OutputKind int

// The output kinds.
const (
	OutEvent OutputKind = iota + 1
	OutHistory
	OutPush
)

// Output is one thing an implementation handed out, for OutputLog.
type Output struct {
	Kind    OutputKind
	User    string // OutEvent: receiving user
	Session string // OutEvent: receiving session
	Event   Event
	Conv    Conversation // OutHistory
	Payload []byte       // OutHistory: the JSON envelope
	Push    PushRequest  // OutPush
}

func (o Output) String() string {
	switch o.Kind {
	case OutEvent:
		return fmt.Sprintf("event %s/%s %s", o.User, o.Session, o.Event)
	case OutHistory:
		env, err := decodeEnvelope(o.Payload)
		if err != nil {
			return fmt.Sprintf("history %s <undecodable: %v>", o.Conv, err)
		}
		return fmt.Sprintf("history %s %s", o.Conv, env)
	case OutPush:
		return "push " + o.Push.String()
	}
	return fmt.Sprintf("output(%d)", int(o.Kind))
}

// OutputLog is the capability of an implementation whose outputs have one
// defined global order (such as beckon's kernel): TakeOutputs returns every
// output since the last call, in the order handed out, and forgets them. It
// is independent of TakeEvents, TakePushes and History (each sees
// everything). The property test then also compares that order with the
// reference model's (kernel/doc.go: per operation, with the timeouts it
// lets fire, its events, then its history, then its pushes; timeouts first,
// in deadline order, ties in creation order; recipients inviter first, then
// invitees in invite order, sessions in connection order).
type OutputLog interface {
	TakeOutputs() []Output
}

func listString(l []string) string { return "[" + strings.Join(l, ",") + "]" }

func short(s string) string {
	if len(s) > 24 {
		return fmt.Sprintf("%q...(%d bytes)", s[:16], len(s))
	}
	return fmt.Sprintf("%q", s)
}
