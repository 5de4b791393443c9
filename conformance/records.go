package conformance

import "reflect"

// OpenInvitation is one open invitation as a participant lists it (QRY-1).
type OpenInvitation struct {
	InviteID string
	Inviter  string
	Group    string
	Invitees []string
	States   []string // each invitee's: "pending", "accepted" or "rejected"
	Data     string   // the current data
	Timeout  int      // seconds from creation to the deadline; 0: none
	Incoming bool     // the user is a pending invitee, not the inviter
}

// OpenLister is the capability of listing a user's open invitations
// (QRY-1): those the user made and those pending for it, in creation
// order.
type OpenLister interface {
	ListOpen(user string) []OpenInvitation
}

// CallRecord is one user's record of a closed call (REC-1).
type CallRecord struct {
	InviteID string
	Inviter  string
	Group    string
	Invitees []string
	States   []string // each invitee's final state: "accepted", "rejected", "timed_out" or "cancelled"
	// Outcome for an invitee: "accepted", "rejected", "missed" or
	// "cancelled"; for the inviter: "cancelled", "answered", "declined" or
	// "unanswered".
	Outcome string
}

// RecordLister is the capability of listing a user's call records
// (REC-1, REC-2): every record kept, newest first (by close time, ties by
// invite ID), as durable as history. Those beyond the retention its
// Limits state (RecordsPerUser, RecordMaxAge) may be missing.
type RecordLister interface {
	Records(user string) []CallRecord
}

// keptRecords tells whether got is a user's records want (newest first)
// as a retention may keep them: the first kept at least, and only oldest
// ones missing.
func keptRecords(got, want []CallRecord, kept int) bool {
	return len(got) >= kept && len(got) <= len(want) && (len(got) == 0 || reflect.DeepEqual(got, want[:len(got)]))
}
