package kernel

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/looplab/fsm"
)

// This file is the lifecycle of an invitation: everything that decides a
// cancel, accept, reject, modify or timeout. Who may do it, in which
// standing, with which error if not, and which state it moves invitees to
// is declared once, below, as a looplab/fsm machine, and compiled at init
// into the dense table the hot path indexes (a looplab call costs about
// 450 ns and 5 allocations; an index costs nothing). docs/lifecycle.md is
// generated from the declaration.

// State is where one invitee of an invitation stands.
type State uint8

// The invitee states. Pending is the only non-final one.
const (
	Pending State = iota
	Accepted
	Rejected
	TimedOut
	Cancelled

	stateCount = iota
)

var stateNames = [...]string{"pending", "accepted", "rejected", "timed_out", "cancelled"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// noState: the transition moves no invitee (modify), or is not declared.
const noState State = 0xff

// transition is an operation the lifecycle decides: the four a user makes,
// and the timeout the clock makes. They are the fsm's events.
type transition uint8

const (
	tCancel transition = iota
	tAccept
	tReject
	tModify
	tTimeout

	transitionCount = iota
)

var transitionNames = [...]string{"cancel", "accept", "reject", "modify", "timeout"}

// standing is a row of the table: where the caller stands toward the
// invitation it names (for a timeout, where each pending invitee stands).
// They are the fsm's states.
type standing uint8

const (
	sClosed        standing = iota // no open invitation has the ID: unknown or closed
	sInviter                       // the inviter of an open invitation
	sInviterOnline                 // ... of an online-only one
	sOther                         // anyone else
	sOtherOnline
	sPending // an invitee of an open invitation, by its own state
	sAccepted
	sRejected
	sPendingOnline // ... of an online-only one
	sAcceptedOnline
	sRejectedOnline

	standingCount = iota
)

var standingNames = [...]string{"closed or unknown",
	"inviter", "inviter, online-only", "anyone else", "anyone else, online-only",
	"invitee pending", "invitee accepted", "invitee rejected",
	"invitee pending, online-only", "invitee accepted, online-only", "invitee rejected, online-only"}

// standingOf returns where user stands toward inv (nil: no open invitation)
// and, for an invitee, its index in inv.invitees (else -1).
func standingOf(inv *invitation, user string) (standing, int) {
	if inv == nil {
		return sClosed, -1
	}
	var online standing
	if inv.onlineOnly {
		online = 1
	}
	if user == inv.inviter {
		return sInviter + online, -1
	}
	i := inv.inviteeIndex(user)
	if i < 0 {
		return sOther + online, -1
	}
	// Only pending, accepted and rejected invitees stand in an open
	// invitation: cancel and timeout close it.
	return sPending + standing(inv.members[i].state) + 3*online, i
}

// pendingStanding is where the pending invitees of inv stand.
func pendingStanding(inv *invitation) standing {
	if inv.onlineOnly {
		return sPendingOnline
	}
	return sPending
}

// refusal is an error pseudo-state of the declaration: the operation fails
// with class, naming field (User or InviteID), saying msg; a msg about the
// User field names the invitation with its %q.
type refusal struct {
	name  string
	class *Error
	field string
	msg   string
}

func (r *refusal) err(user, inviteID string) error {
	if r.field == "User" {
		return fail(r.class, r.field, user, r.msg, inviteID)
	}
	return fail(r.class, r.field, inviteID, "%s", r.msg)
}

var (
	refuseClosed = &refusal{"8010 closed", ErrInvalidInviteID, "InviteID",
		"no open invitation has this ID (unknown, or already closed)"}
	refuseInviteeCancels = &refusal{"8011 invitee cancels", ErrNoPermission, "User",
		"an invitee cannot cancel invitation %q; only the inviter can"}
	refuseNotParticipant = &refusal{"8010 not a participant", ErrInvalidInviteID, "User",
		"not a participant of invitation %q"}
	refuseNotInvitee = &refusal{"8010 not an invitee", ErrInvalidInviteID, "User",
		"not an invitee of invitation %q"}
	refuseAccepted = &refusal{"8010 already accepted", ErrInvalidInviteID, "User",
		"the invitee already left pending (accepted) in invitation %q"}
	refuseRejected = &refusal{"8010 already rejected", ErrInvalidInviteID, "User",
		"the invitee already left pending (rejected) in invitation %q"}
	refuseOnlineOnly = &refusal{"8011 online-only", ErrNoPermission, "InviteID",
		"an online-only invitation cannot be modified"}

	refusals = []*refusal{refuseClosed, refuseInviteeCancels, refuseNotParticipant, refuseNotInvitee,
		refuseAccepted, refuseRejected, refuseOnlineOnly}
)

// modified is the destination of an allowed modify: the data changes, no
// invitee's state does.
const modified = "modified"

// lifecycleEvents declares the lifecycle: for each operation, from each
// standing, either the state it moves invitees to (the caller for accept
// and reject; every pending invitee for cancel and timeout), modified, or
// a refusal. The checks' order of kernel/doc.go is in the rows: a closed
// invitation refuses before any role is looked at, and modify refuses a
// non-participant before an online-only invitation.
func lifecycleEvents() fsm.Events {
	rows := func(ss ...standing) []string {
		names := make([]string, len(ss))
		for i, s := range ss {
			names[i] = standingNames[s]
		}
		return names
	}
	var (
		closed    = rows(sClosed)
		inviters  = rows(sInviter, sInviterOnline)
		others    = rows(sOther, sOtherOnline)
		pending   = rows(sPending, sPendingOnline)
		accepted  = rows(sAccepted, sAcceptedOnline)
		rejected  = rows(sRejected, sRejectedOnline)
		invitees  = rows(sPending, sAccepted, sRejected, sPendingOnline, sAcceptedOnline, sRejectedOnline)
		nonInvite = rows(sInviter, sInviterOnline, sOther, sOtherOnline)
	)
	cancel, accept, reject := transitionNames[tCancel], transitionNames[tAccept], transitionNames[tReject]
	modify, timeout := transitionNames[tModify], transitionNames[tTimeout]
	return fsm.Events{
		// END-1, CAN-2: a closed or unknown invitation refuses every operation.
		{Name: cancel, Src: closed, Dst: refuseClosed.name},
		{Name: accept, Src: closed, Dst: refuseClosed.name},
		{Name: reject, Src: closed, Dst: refuseClosed.name},
		{Name: modify, Src: closed, Dst: refuseClosed.name},

		// CAN-1, CAN-3: the inviter cancels every pending invitee.
		{Name: cancel, Src: inviters, Dst: stateNames[Cancelled]},
		{Name: cancel, Src: invitees, Dst: refuseInviteeCancels.name},
		{Name: cancel, Src: others, Dst: refuseNotParticipant.name},

		// ACC-1..3, REJ-1..3: a pending invitee answers for itself, once.
		{Name: accept, Src: pending, Dst: stateNames[Accepted]},
		{Name: accept, Src: accepted, Dst: refuseAccepted.name},
		{Name: accept, Src: rejected, Dst: refuseRejected.name},
		{Name: accept, Src: nonInvite, Dst: refuseNotInvitee.name},
		{Name: reject, Src: pending, Dst: stateNames[Rejected]},
		{Name: reject, Src: accepted, Dst: refuseAccepted.name},
		{Name: reject, Src: rejected, Dst: refuseRejected.name},
		{Name: reject, Src: nonInvite, Dst: refuseNotInvitee.name},

		// MOD-1, MOD-2, ONL-3: any participant replaces the data, unless
		// the invitation is online-only.
		{Name: modify, Src: rows(sInviter, sPending, sAccepted, sRejected), Dst: modified},
		{Name: modify, Src: rows(sInviterOnline, sPendingOnline, sAcceptedOnline, sRejectedOnline), Dst: refuseOnlineOnly.name},
		{Name: modify, Src: others, Dst: refuseNotParticipant.name},

		// TMO-1: the clock times out every pending invitee at the deadline.
		{Name: timeout, Src: pending, Dst: stateNames[TimedOut]},
	}
}

// cell is one compiled decision.
type cell struct {
	declared bool     // false: the operation does not apply from this standing
	refusal  *refusal // non-nil: the operation fails
	next     State    // allowed: the state of the invitees it moves; noState for modify
}

// lifecycle is the table compiled once from the declaration:
// lifecycle[standing][transition].
var lifecycle = compileLifecycle()

func compileLifecycle() (table [standingCount][transitionCount]cell) {
	for s := standing(0); s < standingCount; s++ {
		for t := transition(0); t < transitionCount; t++ {
			dst, ok := fire(s, t)
			table[s][t] = cellOf(dst, ok)
		}
	}
	return table
}

// fire runs the declared machine standing at s through t and returns the
// destination, or false if t is not declared from s.
func fire(s standing, t transition) (string, bool) {
	f := fsm.NewFSM(standingNames[s], lifecycleEvents(), nil)
	// Never a cancellable context: looplab/fsm wedges on one.
	if err := f.Event(context.Background(), transitionNames[t]); err != nil {
		if errors.As(err, new(fsm.InvalidEventError)) {
			return "", false
		}
		panic("kernel: lifecycle: " + err.Error())
	}
	return f.Current(), true
}

func cellOf(dst string, declared bool) cell {
	switch {
	case !declared:
		return cell{next: noState}
	case dst == modified:
		return cell{declared: true, next: noState}
	}
	for _, r := range refusals {
		if r.name == dst {
			return cell{declared: true, refusal: r, next: noState}
		}
	}
	for i, n := range stateNames {
		if n == dst {
			return cell{declared: true, next: State(i)}
		}
	}
	panic("kernel: lifecycle declares unknown destination " + dst)
}

// lifecycleTable returns the lifecycle as a Markdown table generated from
// the fsm declaration (docs/lifecycle.md holds it): a row per standing, a
// column per operation, each cell the state it moves invitees to or the
// error it fails with.
func lifecycleTable() string {
	var b strings.Builder
	b.WriteString("| standing |")
	for _, n := range transitionNames {
		b.WriteString(" " + n + " |")
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---|", transitionCount))
	for s := standing(0); s < standingCount; s++ {
		b.WriteString("\n| " + standingNames[s] + " |")
		for t := transition(0); t < transitionCount; t++ {
			dst, ok := fire(s, t)
			switch c := cellOf(dst, ok); {
			case c.refusal != nil:
				dst = "**" + dst + "**"
			case c.next != noState:
				dst = "→ " + dst
			}
			b.WriteString(" " + dst + " |")
		}
	}
	b.WriteString("\n")
	return b.String()
}
