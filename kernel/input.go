package kernel

// Op names the kind of an Input. The set is closed: these are all the
// things that can happen to a kernel.
type Op uint8

// The operations. Invite..Modify are the SDK's signaling operations, acted
// by Input.User; Connect/Disconnect report presence; SetGroup, JoinGroup
// and LeaveGroup report group membership; Tick only lets time pass.
const (
	OpInvite        Op = iota + 1 // 1:1 invite of Input.Invitees[0]
	OpInviteInGroup               // invite Input.Invitees of Input.Group
	OpCancel                      // inviter cancels Input.InviteID
	OpAccept                      // invitee accepts Input.InviteID
	OpReject                      // invitee rejects Input.InviteID
	OpModify                      // participant replaces the data of Input.InviteID
	OpConnect                     // session Input.Session of Input.User comes online
	OpDisconnect                  // session Input.Session of Input.User goes offline
	OpSetGroup                    // group Input.Group now has exactly Input.Invitees as members
	OpJoinGroup                   // Input.User joins Input.Group
	OpLeaveGroup                  // Input.User leaves Input.Group
	OpTick                        // nothing but the passing of time
	OpSuspend                     // session Input.Session of Input.User lost its connection (REM-4)
	OpResume                      // session Input.Session of Input.User is back on a connection (REM-5)

	opCount = iota + 1 // one past the last Op
)

var opNames = [...]string{"", "Invite", "InviteInGroup", "Cancel", "Accept", "Reject", "Modify",
	"Connect", "Disconnect", "SetGroup", "JoinGroup", "LeaveGroup", "Tick", "Suspend", "Resume"}

func (o Op) String() string {
	if int(o) < len(opNames) && o != 0 {
		return opNames[o]
	}
	return "Op(" + itoa(int(o)) + ")"
}

// Input is one thing that happens. Which fields matter depends on Op:
//
//	Op            User      Session  InviteID          ProposedInviteID  Group   Invitees          Data  OnlineUserOnly Timeout Push
//	Invite        inviter   -        optional, chosen  optional          -       exactly one       yes   yes            yes     optional
//	InviteInGroup inviter   -        optional, chosen  optional          group   1..MaxInvitees    yes   yes            yes     - (must be nil)
//	Cancel        inviter   -        required          -                 -       -                 yes   -              -       -
//	Accept        invitee   -        required          -                 -       -                 yes   -              -       -
//	Reject        invitee   -        required          -                 -       -                 yes   -              -       -
//	Modify        any participant -  required          -                 -       -                 yes   -              -       -
//	Connect       user      session  -                 -                 -       -                 -     -              expiry  -
//	Disconnect    user      session  -                 -                 -       -                 -     -              -       -
//	Suspend       user      session  -                 -                 -       -                 -     -              -       -
//	Resume        user      session  -                 -                 -       -                 -     -              expiry  -
//	SetGroup      -         -        -                 -                 group   members (may be empty)
//	JoinGroup     user      -        -                 -                 group   -
//	LeaveGroup    user      -        -                 -                 group   -
//	Tick          -
//
// A session's expiry (Connect, Resume: Timeout, whole seconds) is how long
// it outlives a lost connection (REM-4): Suspend reports the loss, and the
// session stays, away, until Resume or until the expiry has passed; with
// expiry 0, Suspend ends it as Disconnect does. Resume of a session that
// ended (or never was) connects it anew, as Connect (REM-6), and says so
// in Result.Resumed. Connect of a session away ends it and starts a new
// one (its device came back without resuming it); of a connected one, it
// changes nothing. Disconnect ends a session at once (a clean disconnect,
// or a takeover that does not resume).
// Session is optional on the signaling operations (it names the acting
// device; events still go to every device, DLV-1). RequestID, optional on
// the signaling operations, makes a retry by the same user safe (IDM-1);
// reusing it within the window for another call is 6017 (IDM-2).
// ProposedInviteID is the driver's proposal for the ID of an invite whose
// caller chose none (InviteID empty; with InviteID set it is 6017): the
// kernel takes it unless an open invitation has it, and then draws from
// Config.IDs, so a driver can draw unguessable IDs off its kernel's
// goroutine. The logged Record carries the ID taken as InviteID, so replay
// needs no proposal and no ID source.
// Fields an Op does not use must be zero: a non-zero one is
// ErrInvalidParameters, so that a mistaken call is never half-understood.
type Input struct {
	Op               Op
	User             string
	Session          string
	RequestID        string
	InviteID         string
	ProposedInviteID string
	Group            string
	Invitees         []string
	Data             string
	OnlineUserOnly   bool
	Timeout          int // whole seconds; 0 = never times out
	Push             *PushInfo
}

// PushInfo is the offline push request of a 1:1 invitation (the SDK's
// OfflinePushConfig). Desc is required; the rest is passed through. The
// four fields are valid UTF-8 and together at most Config.MaxPushBytes
// (INV-7).
type PushInfo struct {
	Title string
	Desc  string
	Ext   string
	Sound string
}

// Invite returns the input of a 1:1 invite by inviter of invitee.
func Invite(inviter, invitee, data string, timeout int) Input {
	return Input{Op: OpInvite, User: inviter, Invitees: []string{invitee}, Data: data, Timeout: timeout}
}

// InviteInGroup returns the input of a group invite.
func InviteInGroup(inviter, group string, invitees []string, data string, timeout int) Input {
	return Input{Op: OpInviteInGroup, User: inviter, Group: group, Invitees: invitees, Data: data, Timeout: timeout}
}

// Cancel returns the input of user cancelling inviteID.
func Cancel(user, inviteID, data string) Input {
	return Input{Op: OpCancel, User: user, InviteID: inviteID, Data: data}
}

// Accept returns the input of user accepting inviteID.
func Accept(user, inviteID, data string) Input {
	return Input{Op: OpAccept, User: user, InviteID: inviteID, Data: data}
}

// Reject returns the input of user rejecting inviteID.
func Reject(user, inviteID, data string) Input {
	return Input{Op: OpReject, User: user, InviteID: inviteID, Data: data}
}

// Modify returns the input of user replacing the data of inviteID.
func Modify(user, inviteID, data string) Input {
	return Input{Op: OpModify, User: user, InviteID: inviteID, Data: data}
}

// Connect returns the input of a session of user coming online.
func Connect(user, session string) Input { return Input{Op: OpConnect, User: user, Session: session} }

// Suspend returns the input of a session of user losing its connection.
func Suspend(user, session string) Input { return Input{Op: OpSuspend, User: user, Session: session} }

// Resume returns the input of a session of user back on a connection, to
// outlive a lost connection by expiry seconds from then on.
func Resume(user, session string, expiry int) Input {
	return Input{Op: OpResume, User: user, Session: session, Timeout: expiry}
}

// Disconnect returns the input of a session of user going offline.
func Disconnect(user, session string) Input {
	return Input{Op: OpDisconnect, User: user, Session: session}
}

// SetGroup returns the input that makes members the whole membership of group.
func SetGroup(group string, members []string) Input {
	return Input{Op: OpSetGroup, Group: group, Invitees: members}
}

// JoinGroup returns the input of user joining group.
func JoinGroup(group, user string) Input { return Input{Op: OpJoinGroup, User: user, Group: group} }

// LeaveGroup returns the input of user leaving group.
func LeaveGroup(group, user string) Input { return Input{Op: OpLeaveGroup, User: user, Group: group} }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
