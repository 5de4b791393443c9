package conformance

// Rule is one rule of the catalogue (RULES.md at the repository's root), by
// its stable ID.
type Rule struct {
	ID       string
	Sentence string // RULES.md's text without its markdown and *decided* markers
}

// Rules is the catalogue the suite checks, in RULES.md's order, which is the
// order Run runs it. Every ID has at least one example check (Run fails
// otherwise). The rules of RULES.md whose issue is still open are not here
// yet; rules_coverage_test.go lists them with their issue and keeps the IDs,
// order and sentences equal to RULES.md's.
var Rules = []Rule{
	{"INV-1", "Invite(inviter, invitee, data, onlineUserOnly, pushInfo, timeout) creates an open invitation with exactly one invitee and returns its invite ID (at most 127 bytes)."},
	{"INV-2", "InviteInGroup(inviter, group, invitees, data, onlineUserOnly, timeout): invitees non-empty, no duplicates, no empty IDs, inviter not among them, every invitee already a member of the group (else 6017); unknown group 10010; inviter not a member 10007. Group invites carry no push info."},
	{"INV-3", "timeout is whole seconds, 0 means no timeout detection; negative or above the configured maximum is 6017. The deadline is fixed at creation (modify does not move it)."},
	{"INV-4", "Push info, when given, needs a non-empty desc (6017); data above the size limit is 8001; more invitees than the configured maximum is 6017."},
	{"INV-5", "Each invitee that is online receives ReceiveNewInvitation(inviteID, inviter, groupID, inviteeList, data). The inviter does not."},
	{"INV-6", "A caller-supplied invite ID that is in use is 8012 (unless IDM-1 applies)."},
	{"INV-7", "Push info fields (title, desc, ext, sound) must be valid UTF-8 (else 6017) and together at most the configured push limit, default 4 KiB, the size of an APNs payload (else 8001). Push info on an online-only invite is 6017 (it could never be used)."},
	{"ONL-1", "With onlineUserOnly, invitees offline at invite time never receive it, not even later."},
	{"ONL-2", "With onlineUserOnly, no history message is written for the invite or any operation or timeout that follows it."},
	{"ONL-3", "An online-only invitation cannot be modified (8011)."},
	{"CAN-1", "Only the inviter may cancel: an invitee gets 8011, anyone else 8010."},
	{"CAN-2", "Cancel of a closed invitation (every invitee accepted, rejected or timed out) is 8010."},
	{"CAN-3", "Cancel turns every pending invitee into cancelled and closes the invitation; every participant receives InvitationCancelled(inviteID, inviter, data)."},
	{"ACC-1", "Only an invitee may accept; anyone else (the inviter too) gets 8010."},
	{"ACC-2", "Only a pending invitee may accept: after its own accept, reject or timeout, or after cancel, 8010."},
	{"ACC-3", "Accept makes that invitee accepted; every participant receives InviteeAccepted(inviteID, invitee, data)."},
	{"REJ-1", "Only an invitee may reject; anyone else (the inviter too) gets 8010."},
	{"REJ-2", "Only a pending invitee may reject: after its own accept, reject or timeout, or after cancel, 8010."},
	{"REJ-3", "Reject makes that invitee rejected; every participant receives InviteeRejected(inviteID, invitee, data)."},
	{"END-1", "When the last pending invitee leaves pending the invitation closes; later cancel, accept, reject and modify get 8010."},
	{"TMO-1", "With timeout T > 0, every invitee still pending at creation + T becomes timed_out, exactly once."},
	{"TMO-2", "The inviter receives InvitationTimeout(inviteID, [every invitee that timed out at that deadline]); each timed-out invitee receives InvitationTimeout(inviteID, [itself])."},
	{"TMO-3", "With timeout 0 nothing ever times out and no timeout event is ever emitted."},
	{"TMO-4", "Timeouts are kept across a restart of a durable implementation: a deadline that passed while it was down fires once, on recovery; none fires twice."},
	{"MOD-1", "Only data changes; everything else, the deadline included, stays."},
	{"MOD-2", "Only a participant may modify; anyone else gets 8010. Only while open, else 8010."},
	{"MOD-3", "Every participant receives InvitationModified(inviteID, data); later deliveries of the invitation (SYN-1) carry the new data."},
	{"DLV-1", "Events go to users, and a user receives each event on every connected session of theirs, the session that acted included (so other devices stop ringing). Non-participants receive nothing."},
	{"DLV-2", "For one recipient, the events of one invitation arrive in the order they happened, and nothing arrives for an invitation after the event that closed it."},
	{"DLV-3", "An operation's success is reported to the caller only after its effects are durable (for a durable implementation) and its events are handed to delivery."},
	{"SYN-1", "When a session of an invitee connects while an invitation that is not online-only is still pending for that invitee, that session receives ReceiveNewInvitation for it (current data). Never for one that is closed or no longer pending for them."},
	{"SYN-2", "For a 1:1 invitation with push info and not online-only, an invitee offline at invite time gets one offline-push request (title, desc, ext, ...) handed to the push hook."},
	{"HIS-1", "Unless online-only, each invite, cancel, accept, reject, timeout and modify appends one signaling message to the conversation: the 1:1 conversation of inviter and invitee, or the group."},
	{"HIS-2", "Its payload is the SDK's signaling envelope, a JSON object with businessID 1, inviteID, groupID, inviter, inviteeList, data, timeout, actionType (1 invite, 2 cancel, 3 accept, 4 reject, 5 timeout, 6 modify) and onlineUserOnly; for accept, reject and timeout inviteeList holds only the invitee(s) concerned."},
	{"HIS-3", "GetSignalingInfo(message) returns the signaling info of a signaling message, and a distinct \"not a signaling message\" error for anything else (other JSON, wrong businessID, malformed or truncated input, huge input) without panicking. Other SDKs write JSON numbers in other forms (1.0, 1e0): any number equal to 1 is businessID 1, and numeric fields are read by value."},
	{"HIS-4", "Only a conversation's own users read its history: the two users of a 1:1 conversation, the current members of a group (a non-member gets 10007, an unknown group 10010)."},
	{"IDM-1", "An operation repeated with the same caller-chosen request ID by the same user returns the first result and emits nothing new (safe retries over unreliable links)."},
	{"IDM-2", "A request ID that the same user already used, within the window, for a different operation or different arguments is 6017 (\"request ID reused for another call\"); nothing is applied."},
	{"DET-1", "The same operations at the same times give the same results and events. Restoring a snapshot taken after any prefix and applying the rest gives what the uninterrupted run gave."},
	{"LIM-1", "Every limit (user ID length, invitees per invite, data size, open invitations per inviter, timeout maximum) is configurable, has a documented default, and is enforced with the codes above."},
	{"LIM-2", "Closed invitations leave memory (bounded state); what must be remembered for IDM-1 is kept for a bounded window only."},
	{"REM-4", "A session exists from the acceptance of its connection until a clean disconnect, or until a lost connection is not resumed within the session expiry (configurable, default 120 s). A new connection with the same session ID replaces the old one: there is one session, never two."},
	{"REM-5", "A session that loses its connection and resumes within its expiry receives every event it would have received meanwhile, in order, each exactly once; a crash and restart of the server within that expiry loses none either (events of timeouts fired at recovery included, TMO-4)."},
	{"REM-6", "A session that comes back after its expiry is a new session (SYN-1 applies to it)."},
	{"QRY-1", "A user can list the open invitations they take part in, as inviter or as a pending invitee (never one that ONL-1 hides from them), each with inviter, group, invitees and their states, current data and deadline. Anyone else's are invisible."},
	{"REC-1", "A user has call records: one per closed invitation they took part in (not online-only, ONL-2), with invite ID, inviter, group, invitees with their final states, creation and close times, and the user's outcome. For an invitee: accepted, rejected, missed (timed out) or cancelled. For the inviter: cancelled if it was cancelled, else answered if anyone accepted, else declined if everyone rejected, else unanswered."},
	{"REC-2", "Call records are listed newest first (by close time, ties by invite ID), paged with a cursor, survive a restart like history, and show only the user's own."},
}
