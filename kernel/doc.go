// Package kernel is beckon's invitation lifecycle as a pure, deterministic
// state machine: inputs and clock readings go in, a result and outputs come
// out as data. It has no goroutines, does no I/O, never reads the clock and
// uses no global randomness (a test enforces this), so the same inputs at the
// same times give the same outputs, and a log of inputs replays exactly.
//
// # Driving the kernel
//
//  1. Create it with New(cfg), or Restore(cfg, snapshot).
//  2. For each input, call Apply(now, in). First every timeout due at or
//     before now takes effect, then the input. Times earlier than the latest
//     time seen are read as that time (the kernel's clock never goes back).
//  3. If Result.Changed, make Result.ToLog(input) durable (the input with
//     Input.InviteID set to Result.InviteID, or a Tick) at Now(), not at
//     the now passed in (it may have been behind the kernel's clock),
//     together with its OutHistory outputs, before anything else.
//  4. Then hand the outputs over, in order: events to sessions, history to
//     conversations, push requests to the push hook. Then answer the caller.
//     The output slice is the kernel's: it is valid until the next call.
//  5. Call Tick(now) when NextDeadline() is due; treat it as step 3 and 4
//     with the input Input{Op: OpTick} (Tick is Apply of OpTick).
//  6. To compact the log, take Snapshot() after a call and drop the inputs
//     before it. Restore(cfg, snap) and re-applying the inputs after it, at
//     their times, gives the same state and outputs as never stopping (DET-1).
//
// # Semantics the rules leave open (decided here)
//
//   - Checks run in this order and the first failure is the answer:
//     request ID memory (IDM-1; a known (user, request ID) returns the first
//     result, whatever the input); then the form of each field in the order
//     User, Session, RequestID, InviteID, Group, Invitees, Timeout, Push,
//     OnlineUserOnly, Data (6017 for a malformed field or one the Op does
//     not use; 8001 for Data above the limit); then state:
//     invite: group unknown 10010, inviter not a member 10007, invitee not a
//     member 6017, inviter at MaxOpenPerInviter 6017, invite ID in use 8012;
//     cancel/accept/reject/modify: unknown or closed invitation 8010, then
//     role (see the rules), modify of online-only 8011 after the participant
//     check.
//   - Only successful operations are remembered for IDM-1; a failure may be
//     retried with the same request ID. Request IDs are kept for
//     Config.RequestIDWindow and at most Config.MaxRequestIDs of them (the
//     oldest go first).
//   - Recipients of one operation are ordered: the inviter first, then the
//     invitees in invite order; each user's sessions in connection order.
//     Only online users receive events; nothing is queued for offline users
//     except SYN-1 re-delivery of a pending invitation and SYN-2 push.
//   - Timeouts due at one Apply/Tick fire in deadline order, ties in
//     creation order. Each fires: the inviter's event, then each timed-out
//     invitee's, then one history message.
//   - An operation's outputs: its events first, then its history message,
//     then its push request.
//   - An online-only invitation reaches only the invitees online at invite
//     time. An invitee it did not reach never hears of it (ONL-1): no event
//     of it, not even its own timeout; it stays pending all the same (it may
//     answer if it learns the ID elsewhere, and it times out).
//   - Data must be valid UTF-8 (6017): the history envelope is JSON text,
//     and invalid bytes would not survive it (HIS-2).
//   - A timeout's history message has the inviter as sender, empty data,
//     and the time of the Apply or Tick that fired it.
//   - Connect of a session already connected, and Disconnect of one that is
//     not, change nothing. SYN-1 re-delivery goes out in creation order.
//   - SetGroup creates or replaces a group; JoinGroup and LeaveGroup of an
//     unknown group are 10010; leaving a group one is not in changes nothing.
//     Membership changes never touch invitations already made.
//   - The open-invitation limit counts invitations whose inviter is the user
//     and that are still open.
//   - The default invite ID source is a counter ("i1", "i2", ...).
package kernel
