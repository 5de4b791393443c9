package kernel

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// This file is what the kernel tells of an invitation's life as a whole:
// the open invitations a user takes part in (QRY-1) and, for each closed
// one, the call it was (REC-1), from which a store keeps each
// participant's call record.

// MaxListedIncoming is how many incoming invitations OpenInvitations lists
// at most for one user: the newest ones. Outgoing ones are at most
// Config.MaxOpenPerInviter, all listed.
const MaxListedIncoming = 1000

// OpenInvitation is one open invitation as a participant sees it (QRY-1).
type OpenInvitation struct {
	InviteID string
	Inviter  string
	Group    string   // empty for 1:1
	Invitees []string // in invite order; shared with the kernel: never modify it
	States   []State  // each invitee's state, parallel to Invitees
	Data     string   // the current data (after any modify)
	Created  time.Time
	Deadline time.Time // zero for an invitation without timeout (timeout 0)
	// Incoming: the user is a pending invitee; else the user is the inviter.
	Incoming bool
}

// OpenInvitations lists the open invitations user takes part in as the
// inviter (all of them: at most Config.MaxOpenPerInviter) or as a pending
// invitee it reached (never an online-only one the user was offline for,
// ONL-1; at most MaxListedIncoming, the newest), in creation order. It
// only reads: it is a query, not an input (nothing to log). A user with
// none, or unknown, gets none.
func (k *Kernel) OpenInvitations(user string) []OpenInvitation {
	u := k.users[user]
	if u == nil {
		return nil
	}
	invs := slices.Clone(u.made)
	var incoming []*invitation
	incoming = append(append(incoming, u.onlinePending...), u.pending...)
	bySeq := func(a, b *invitation) int { return cmpUint(a.seq, b.seq) }
	slices.SortFunc(incoming, bySeq)
	incoming = incoming[max(0, len(incoming)-MaxListedIncoming):] // the oldest go
	invs = append(invs, incoming...)
	slices.SortFunc(invs, bySeq)

	out := make([]OpenInvitation, len(invs))
	for i, inv := range invs {
		o := OpenInvitation{InviteID: inv.id, Inviter: inv.inviter, Group: inv.group, Invitees: inv.invitees,
			States: inv.states(), Data: inv.data, Created: time.Unix(0, inv.created), Incoming: inv.inviter != user}
		if inv.timeout > 0 {
			o.Deadline = time.Unix(0, inv.created+int64(inv.timeout)*1e9)
		}
		out[i] = o
	}
	return out
}

// states returns a copy of the invitees' states.
func (inv *invitation) states() []State {
	s := make([]State, len(inv.members))
	for i, m := range inv.members {
		s[i] = m.state
	}
	return s
}

// finalStates is states() of an invitation that just closed. A 1:1
// invitation's goes into the invitation itself, which no one changes any
// more, so that closing the common call allocates nothing.
func (inv *invitation) finalStates() []State {
	if len(inv.members) == 1 {
		inv.oneState[0] = inv.members[0].state
		return inv.oneState[:]
	}
	return inv.states()
}

// removeInvitation removes inv from l, keeping the order of the others.
func removeInvitation(l []*invitation, inv *invitation) []*invitation {
	if n := len(l) - 1; n >= 0 && l[n] == inv { // the newest: the common case
		l[n] = nil
		return l[:n]
	}
	if i := slices.Index(l, inv); i >= 0 {
		l = slices.Delete(l, i, i+1) // clears the vacated slot
	}
	return l
}

// unlistOnline removes inv from u.onlinePending, keeping order.
func (u *user) unlistOnline(inv *invitation) {
	if i := slices.Index(u.onlinePending, inv); i >= 0 {
		n := len(u.onlinePending) - 1
		copy(u.onlinePending[i:], u.onlinePending[i+1:])
		u.onlinePending[n] = nil
		u.onlinePending = u.onlinePending[:n]
	}
}

// ClosedCall is an invitation that closed, with its final states: what a
// store makes each participant's call record of (REC-1). Online-only
// invitations leave none (ONL-2).
type ClosedCall struct {
	// Index is the log index of the record whose step closed it: 0 from
	// the kernel, set by the driver as it numbers that record (it tells
	// apart two calls of one invite ID closed at the same time).
	Index    uint64
	InviteID string
	Inviter  string
	Group    string   // empty for 1:1
	Invitees []string // in invite order; shared with the kernel: never modify it
	States   []State  // each invitee's final state, parallel to Invitees
	Created  int64    // Unix nanoseconds
	Closed   int64    // Unix nanoseconds: the kernel time of the step that closed it
}

// Outcome is what a closed call was for one participant (REC-1).
type Outcome uint8

// The outcomes: an invitee's own final state, or the inviter's summary.
const (
	OutcomeAccepted   Outcome = iota + 1 // invitee: it accepted
	OutcomeRejected                      // invitee: it rejected
	OutcomeMissed                        // invitee: it timed out
	OutcomeCancelled                     // either: the inviter cancelled
	OutcomeAnswered                      // inviter: not cancelled, and someone accepted
	OutcomeDeclined                      // inviter: every invitee rejected
	OutcomeUnanswered                    // inviter: the rest (some timed out, none accepted)
)

var outcomeNames = [...]string{"", "accepted", "rejected", "missed", "cancelled", "answered", "declined", "unanswered"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && o != 0 {
		return outcomeNames[o]
	}
	return "Outcome(" + itoa(int(o)) + ")"
}

// Outcome returns what the call was for user (REC-1); ok is false for a
// user who took no part in it. For an invitee: accepted, rejected, missed
// (timed out) or cancelled. For the inviter: cancelled if it was
// cancelled, else answered if anyone accepted, else declined if everyone
// rejected, else unanswered.
func (c *ClosedCall) Outcome(user string) (o Outcome, ok bool) {
	if user == c.Inviter {
		cancelled, accepted, rejected := false, false, 0
		for _, s := range c.States {
			switch s {
			case Cancelled:
				cancelled = true
			case Accepted:
				accepted = true
			case Rejected:
				rejected++
			}
		}
		switch {
		case cancelled:
			return OutcomeCancelled, true
		case accepted:
			return OutcomeAnswered, true
		case rejected == len(c.States):
			return OutcomeDeclined, true
		}
		return OutcomeUnanswered, true
	}
	for i, u := range c.Invitees {
		if u == user && i < len(c.States) {
			switch c.States[i] {
			case Accepted:
				return OutcomeAccepted, true
			case Rejected:
				return OutcomeRejected, true
			case TimedOut:
				return OutcomeMissed, true
			case Cancelled:
				return OutcomeCancelled, true
			}
		}
	}
	return 0, false
}

// Participants iterates over the inviter, then every invitee in invite
// order: the users the call has a record for.
func (c *ClosedCall) Participants(yield func(string) bool) {
	if !yield(c.Inviter) {
		return
	}
	for _, u := range c.Invitees {
		if !yield(u) {
			return
		}
	}
}

// closedVersion is the first byte of an encoded ClosedCall.
const closedVersion = 1

// AppendClosedCall appends the binary encoding of c to dst: version byte
// (1), uvarint Index, varint Created and Closed (Unix ns), the strings
// InviteID, Inviter and Group, uvarint count of invitees, then each
// invitee's string and state byte; a string is a uvarint length and its
// bytes.
func AppendClosedCall(dst []byte, c *ClosedCall) []byte {
	dst = append(dst, closedVersion)
	dst = binary.AppendUvarint(dst, c.Index)
	dst = binary.AppendVarint(dst, c.Created)
	dst = binary.AppendVarint(dst, c.Closed)
	dst = appendString(dst, c.InviteID)
	dst = appendString(dst, c.Inviter)
	dst = appendString(dst, c.Group)
	dst = binary.AppendUvarint(dst, uint64(len(c.Invitees)))
	for i, u := range c.Invitees {
		dst = appendString(dst, u)
		dst = append(dst, byte(c.States[i]))
	}
	return dst
}

// DecodeClosedCall decodes what AppendClosedCall wrote. Malformed,
// truncated or trailing bytes, or a state that is not final, give an error
// wrapping ErrCorrupt; it never panics.
func DecodeClosedCall(b []byte) (ClosedCall, error) {
	d := decoder{b: b}
	var c ClosedCall
	if v := d.byte(); v != closedVersion && d.err == nil {
		return c, fmt.Errorf("%w: closed call version %d, this build reads %d", ErrCorrupt, v, closedVersion)
	}
	c.Index = d.uvarint()
	c.Created, c.Closed = d.varint(), d.varint()
	c.InviteID, c.Inviter, c.Group = d.string(), d.string(), d.string()
	if n := d.count(); n > 0 {
		c.Invitees, c.States = make([]string, n), make([]State, n)
		for i := range c.Invitees {
			c.Invitees[i] = d.string()
			c.States[i] = State(d.byte())
			if s := c.States[i]; d.err == nil && (s == Pending || s >= stateCount) {
				d.err = fmt.Errorf("invitee state %d is not final", s)
			}
		}
	}
	if d.err == nil && (c.InviteID == "" || c.Inviter == "" || len(c.Invitees) == 0) {
		d.err = fmt.Errorf("empty invite ID, inviter or invitees")
	}
	if err := d.finish(); err != nil {
		return ClosedCall{}, fmt.Errorf("closed call: %w", err)
	}
	return c, nil
}

// ClosedCallParticipants calls fn with the inviter, then each invitee, of
// the call that AppendClosedCall encoded as b, without decoding the rest
// (the slices fn gets alias b): for an index that reads every call kept.
// It reports false for an encoding malformed up to its last invitee; one
// that DecodeClosedCall refuses for what comes after may still give true.
func ClosedCallParticipants(b []byte, fn func(user []byte)) bool {
	d := decoder{b: b}
	if d.byte() != closedVersion {
		return false
	}
	d.uvarint() // Index
	d.varint()  // Created
	d.varint()  // Closed
	d.bytes()   // InviteID
	inviter := d.bytes()
	d.bytes() // Group
	n := d.count()
	if d.err != nil || len(inviter) == 0 || n == 0 {
		return false
	}
	fn(inviter)
	for range n {
		u := d.bytes()
		d.byte() // the state
		if d.err != nil {
			return false
		}
		fn(u)
	}
	return true
}

// closed appends inv, which just closed, to the step's closed calls
// unless it is online-only (ONL-2).
func (k *Kernel) closed(inv *invitation) {
	if inv.onlineOnly {
		return
	}
	k.calls = append(k.calls, ClosedCall{InviteID: inv.id, Inviter: inv.inviter, Group: inv.group,
		Invitees: inv.invitees, States: inv.finalStates(), Created: inv.created, Closed: k.now})
}
