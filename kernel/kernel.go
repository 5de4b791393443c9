package kernel

import (
	"time"
)

// Kernel is the whole signaling state of one beckon instance. It is not
// safe for concurrent use: one goroutine owns it (the runtime's loop).
type Kernel struct {
	cfg     Config
	now     int64     // latest time seen, Unix nanoseconds
	nowTime time.Time // now as a time.Time (Record.At), converted once per change
	st      Step      // what Apply returns: the kernel's own, reused by each call
	seq     uint64    // invitations created so far; orders them

	invites   map[string]*invitation         // open invitations by ID
	users     map[string]*user               // users with a session, a pending invitation or an open invitation
	groups    map[string]map[string]struct{} // members per group
	deadlines deadlineHeap
	awayHeap  awayHeap // when away sessions end
	requests  requestMemory

	// The buffers a Step points into, reused by each call.
	history []History
	events  []SessionEvent
	pushes  []PushRequest
	calls   []ClosedCall
	ended   []SessionEnd
}

// user is what the kernel tracks of one user; it exists while any field
// is non-empty (see release).
type user struct {
	sessions []session     // connected sessions, in connection order
	pending  []*invitation // open non-online-only invitations pending for the user, in creation order (SYN-1)
	refs     int           // open invitations the user is a participant of
	// made lists the open invitations the user made, in creation order
	// (its length is what MaxOpenPerInviter bounds); onlinePending the
	// open online-only ones pending for it that reached it (QRY-1).
	made          []*invitation
	onlinePending []*invitation
}

// userOf returns the entry of name, creating it.
func (k *Kernel) userOf(name string) *user {
	u := k.users[name]
	if u == nil {
		u = &user{}
		k.users[name] = u
	}
	return u
}

// release forgets u once nothing is left in it (LIM-2).
func (k *Kernel) release(name string, u *user) {
	if len(u.sessions) == 0 && len(u.pending) == 0 && u.refs == 0 {
		delete(k.users, name)
	}
}

// invitation is one open invitation.
type invitation struct {
	id         string
	inviter    string
	group      string
	data       string
	invitees   []string // in invite order; never modified after creation
	members    []member // parallel to invitees
	inviterU   *user    // the inviter's entry, kept while the invitation is open
	push       *PushInfo
	seq        uint64
	created    int64 // Unix nanoseconds
	timeout    int32 // seconds
	pending    int32 // invitees still pending
	heapIndex  int32 // position in the deadline heap, -1 when absent
	onlineOnly bool
	oneState   [1]State // backing of a closed 1:1 invitation's final states (finalStates)

	one       [1]string // backing of invitees for 1:1 invitations
	oneMember [1]member // backing of members for 1:1 invitations
}

// member is one invitee's state and user entry (kept while the invitation
// is open, so events need no map look-up).
type member struct {
	u     *user
	state State
	// unreached marks an invitee of an online-only invitation who was
	// offline at invite time: it never receives anything of it (ONL-1),
	// though it stays pending and can answer or time out.
	unreached bool
}

// New returns an empty kernel.
func New(cfg Config) *Kernel {
	return &Kernel{
		cfg:      cfg.withDefaults(),
		invites:  make(map[string]*invitation),
		users:    make(map[string]*user),
		groups:   make(map[string]map[string]struct{}),
		requests: newRequestMemory(),
		nowTime:  time.Unix(0, 0),
	}
}

// Apply applies in at time now: first every timeout due at or before now
// (see Tick), then the input. It returns what the driver must do, timeouts'
// effects first: the kernel's own Step, valid until the next call. See the
// package doc for the driving loop.
func (k *Kernel) Apply(now time.Time, in Input) *Step {
	k.history, k.events, k.pushes, k.ended = k.history[:0], k.events[:0], k.pushes[:0], k.ended[:0]
	if len(k.calls) > 0 {
		clear(k.calls) // drop the references to closed invitations' invitees
		k.calls = k.calls[:0]
	}
	t := now.UnixNano()
	if t < k.now {
		t = k.now
	}
	if t != k.now {
		k.now, k.nowTime = t, time.Unix(0, t)
	}
	fired := k.expire(t)
	if len(k.awayHeap) > 0 && k.expireSessions(t) {
		fired = true
	}
	k.requests.expire(t, k.cfg.RequestIDWindow)
	res, changed := k.step(&in) // a Tick is validated too: fields it does not use must be zero
	log := fired
	switch {
	case res.Err == nil && !res.Duplicate && (changed || fired):
		in.InviteID, in.ProposedInviteID = res.InviteID, ""
		log = true
	case fired:
		in = Input{Op: OpTick}
	default:
		in = Input{}
	}
	st := &k.st
	st.Log, st.Result = log, res
	st.Record.At, st.Record.Input = k.nowTime, in
	st.History, st.Closed, st.Events, st.Pushes, st.Ended = k.history, k.calls, k.events, k.pushes, k.ended
	return st
}

// Tick lets time pass to now: every invitation whose deadline is at or
// before now times out, in deadline order (ties in creation order). It is
// Apply(now, Input{Op: OpTick}).
func (k *Kernel) Tick(now time.Time) *Step {
	return k.Apply(now, Input{Op: OpTick})
}

// NextDeadline returns the earliest time at which something may happen
// by the passing of time alone: an invitation's timeout, or the end of a
// session away (REM-4). ok is false when nothing is due ever.
func (k *Kernel) NextDeadline() (deadline time.Time, ok bool) {
	var at int64
	if len(k.deadlines) > 0 {
		at, ok = k.deadlines[0].deadline, true
	}
	if len(k.awayHeap) > 0 && (!ok || k.awayHeap[0].at < at) {
		at, ok = k.awayHeap[0].at, true
	}
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, at), true
}

// Now returns the kernel's time: the latest time it was given.
func (k *Kernel) Now() time.Time { return time.Unix(0, k.now) }

// Open returns the number of open invitations.
func (k *Kernel) Open() int { return len(k.invites) }

// Online reports whether user has at least one connected session.
func (k *Kernel) Online(user string) bool {
	u := k.users[user]
	return u != nil && len(u.sessions) > 0
}

// CanRead reports whether user may read the history of conv (HIS-4): nil
// for one of the two users of a 1:1 conversation or a current member of a
// group; else ErrGroupNotFound (10010) for an unknown group,
// ErrNotGroupMember (10007) for a non-member, and ErrInvalidParameters
// (6017) for a malformed user or a user outside a 1:1 conversation. It
// only reads.
func (k *Kernel) CanRead(user string, conv Conversation) error {
	if err := checkID("User", user, k.cfg.MaxIDBytes); err != nil {
		return err
	}
	if conv.Group == "" {
		if user != conv.A && user != conv.B {
			return fail(ErrInvalidParameters, "User", user, "only the two users of a 1:1 conversation (here %q and %q) read its history", conv.A, conv.B)
		}
		return nil
	}
	members, ok := k.groups[conv.Group]
	if !ok {
		return fail(ErrGroupNotFound, "Group", conv.Group, "the group is unknown: set its members first")
	}
	if _, ok := members[user]; !ok {
		return fail(ErrNotGroupMember, "User", user, "only the current members of group %q read its history", conv.Group)
	}
	return nil
}

// step applies one input at k.now (a tick is only validated); it reports
// whether the input changed the state.
func (k *Kernel) step(in *Input) (Result, bool) {
	var call uint64 // the fingerprint of a signaling call with a request ID
	if in.RequestID != "" && in.Op <= OpModify {
		call = callPrint(in)
		if r := k.requests.lookup(in.User, in.RequestID); r != nil {
			if !r.sameCall(in, call) {
				return Result{InviteID: in.InviteID, Err: fail(ErrInvalidParameters, "RequestID", in.RequestID,
					"request ID reused for another call: this user made another operation, or the same with other arguments, with it less than %v ago (IDM-2); give each new call a new request ID", k.cfg.RequestIDWindow)}, false
			}
			return Result{InviteID: r.inviteID, Duplicate: true}, false
		}
	}
	if err := k.validate(in); err != nil {
		return Result{Err: err, InviteID: in.InviteID}, false
	}
	var res Result
	changed := true
	switch in.Op {
	case OpInvite, OpInviteInGroup:
		res = k.invite(in)
	case OpCancel:
		res = k.cancel(in)
	case OpAccept:
		res = k.answer(in, tAccept)
	case OpReject:
		res = k.answer(in, tReject)
	case OpModify:
		res = k.modify(in)
	case OpConnect:
		changed = k.connect(in)
	case OpDisconnect:
		changed = k.disconnect(in)
	case OpSuspend:
		changed = k.suspend(in)
	case OpResume:
		res.Resumed, changed = k.resume(in)
	case OpSetGroup, OpJoinGroup, OpLeaveGroup:
		res, changed = k.membership(in)
	case OpTick:
		changed = false
	}
	if res.Err != nil {
		return res, false
	}
	if in.RequestID != "" {
		k.requests.remember(in.User, in.RequestID, res.InviteID, call, k.now, k.cfg.MaxRequestIDs)
	}
	return res, changed
}

// emitToParticipants hands ev to the inviter, then every invitee.
func (k *Kernel) emitToParticipants(inv *invitation, ev *Event) {
	k.emitTo(inv.inviter, inv.inviterU, ev)
	for i, name := range inv.invitees {
		if !inv.members[i].unreached {
			k.emitTo(name, inv.members[i].u, ev)
		}
	}
}

// record appends the history message of an action unless online-only.
func (k *Kernel) record(inv *invitation, sender string, action Action, invitees []string, data string) {
	if inv.onlineOnly {
		return
	}
	conv := Conversation{Group: inv.group}
	if inv.group == "" {
		conv = C2C(inv.inviter, inv.invitees[0])
	}
	k.history = append(k.history, History{
		Conv: conv, Sender: sender, At: k.now,
		Info: SignalingInfo{
			BusinessID: BusinessID, InviteID: inv.id, GroupID: inv.group, Inviter: inv.inviter,
			InviteeList: invitees, Data: data, Timeout: int(inv.timeout), ActionType: action,
			OnlineUserOnly: inv.onlineOnly,
		},
	})
}

func (k *Kernel) newInvitationEvent(inv *invitation) Event {
	return Event{Type: EventNewInvitation, InviteID: inv.id, Inviter: inv.inviter, GroupID: inv.group,
		Invitees: inv.invitees, Data: inv.data}
}
