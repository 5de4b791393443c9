// Package kernel is beckon's invitation lifecycle as a pure, deterministic
// state machine: inputs and clock readings go in, a Step comes out as data
// (what to make durable, what to hand to whom, and the answer). It has no
// goroutines, does no I/O, never reads the clock and uses no global
// randomness (a test enforces this), so the same inputs at the same times
// give the same Steps, and a log of inputs replays exactly.
//
// # Driving the kernel
//
// Create it with New(cfg), or Restore(cfg, snapshot) and re-apply each
// logged Record after the snapshot at its time (Apply(rec.At, rec.Input),
// dropping the Step: it was handed over before the stop). Then own it from
// one goroutine and drive it:
//
//	for {
//		now, in := next() // an input, or Input{Op: OpTick} at NextDeadline()
//		st := k.Apply(now, in)
//		if st.Log {
//			index++
//			rec := st.Record // st is the kernel's: copy what you keep
//			rec.Index = index
//			// durable, in one write if it can, with the closed calls and
//			// the events of resumable sessions
//			store.Append(rec, st.History, st.Closed, st.Events)
//		}
//		for _, e := range st.Events {
//			deliver(e) // e.User, e.Session, e.Seq, e.Event
//		}
//		for _, p := range st.Pushes {
//			pushHook(p)
//		}
//		for _, s := range st.Ended {
//			forget(s) // what delivery still keeps for the session
//		}
//		answer(st.Result)
//	}
//
// The ordering rules, stated once (Step's fields say the same):
//
//   - Apply first lets every timeout due at or before now take effect,
//     then ends every session away whose expiry has passed, then applies
//     the input. A time earlier than the latest seen is read
//     as that time (the kernel's clock never goes back); Record.At is the
//     time the input took effect.
//   - Record and History are durable before anything in Events or Pushes
//     reaches anyone (DLV-3); a driver that batches several steps into one
//     write keeps this per batch.
//   - Events go out in order; then Pushes; then the Result is answered. A
//     batching driver may hand over all events of a batch before its
//     pushes (they go to another destination).
//   - Apply returns the kernel's own Step, whose slices point into buffers
//     of the kernel: the next call reuses them all; copy what you keep.
//
// To compact the log, take Snapshot() after a call and drop the records
// before it. Restore(cfg, snap) and re-applying the records after it, at
// their times, gives the same state and Steps as never stopping (DET-1).
// Records need no ID source: each carries the invite ID taken.
//
// # Semantics the rules leave open (decided here)
//
//   - Checks run in this order and the first failure is the answer:
//     request ID memory (a known (user, request ID) returns the first
//     result if the call is the same, IDM-1, and is 6017 if it is another,
//     IDM-2); then the form of each field in the order
//     User, Session, RequestID, InviteID, ProposedInviteID, Group, Invitees,
//     Timeout, Push, OnlineUserOnly, Data (6017 for a malformed field or one
//     the Op does not use; 8001 for Data or Push above its limit; Push is
//     checked for a desc, then not online-only, then its size, then UTF-8;
//     Data for its size, then UTF-8); then state:
//     invite: group unknown 10010, inviter not a member 10007, invitee not a
//     member 6017, inviter at MaxOpenPerInviter 6017, invite ID in use 8012;
//     cancel/accept/reject/modify: unknown or closed invitation 8010, then
//     role (see the rules), modify of online-only 8011 after the participant
//     check. The lifecycle table (lifecycle.go, docs/lifecycle.md) decides
//     all of the latter.
//   - Only successful operations are remembered for IDM-1; a failure may be
//     retried with the same request ID. Request IDs are per user, kept for
//     Config.RequestIDWindow and at most Config.MaxRequestIDs of them (the
//     oldest go first). A call is the same (IDM-1) when its Op and every
//     argument are: all fields but User, Session (a retry may come from
//     another device), RequestID and ProposedInviteID; each remembered
//     request keeps a 64-bit fingerprint of them, not the call (LIM-2). An
//     invite's chosen InviteID is compared with the ID it took instead (a
//     logged Record carries the ID taken): a retry that leaves it empty is
//     the same call, whatever the first chose.
//   - Push info counts its four fields together against
//     Config.MaxPushBytes (default 4 KiB, an APNs payload), and each must be
//     valid UTF-8. Push info on an online-only invite is 6017: it could
//     never be used (INV-7).
//   - History is read by a conversation's own users (HIS-4, CanRead): the
//     two users of a 1:1 conversation (anyone else 6017) and the current
//     members of a group (10007; an unknown group 10010). The kernel keeps
//     no history; a driver asks CanRead before it reads its store.
//   - Errors quote the offending value, except data and push info (which
//     may be large or private), which they describe: "Data (8193 bytes)",
//     "Push (given)".
//   - Recipients of one operation are ordered: the inviter first, then the
//     invitees in invite order; each user's sessions in connection order.
//     Only online users receive events; nothing is queued for offline users
//     except SYN-1 re-delivery of a pending invitation and SYN-2 push.
//   - Timeouts due at one Apply/Tick fire in deadline order, ties in
//     creation order. Each fires: the inviter's event, then each timed-out
//     invitee's, then one history message.
//   - Within a Step's Events and History, the timeouts' come first, then
//     the operation's.
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
//   - Sessions (REM-4): Connect and Resume carry the session's expiry in
//     Timeout (at most MaxSessionExpirySeconds). Suspend (the connection
//     is lost) leaves the session away until Resume or until its expiry
//     has passed, when it ends by time alone (a Tick, listed in
//     Step.Ended); without expiry, Suspend ends it at once. A session away
//     receives events and counts as online for ONL-1, and gets no SYN-1
//     re-delivery when it resumes; it does not count for push (SYN-2).
//     Connect of a session away ends it and starts a new one. Each
//     session's events are numbered from 1 (SessionEvent.Seq) for as long
//     as it lasts; a snapshot keeps the numbers.
//   - SetGroup creates or replaces a group; JoinGroup and LeaveGroup of an
//     unknown group are 10010; leaving a group one is not in changes nothing.
//     Membership changes never touch invitations already made.
//   - The open-invitation limit counts invitations whose inviter is the user
//     and that are still open.
//   - An invite without a chosen ID takes Input.ProposedInviteID unless an
//     open invitation has it; else it draws from Config.IDs, by default a
//     counter ("i1", "i2", ...).
package kernel
