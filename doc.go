// Package beckon is call-invitation signaling: the part of a chat or
// calling product that rings someone, lets them accept or reject, lets the
// caller cancel or change the offer, times out, and tells every device of
// every participant what happened. Its behaviour is Tencent IM's signaling
// API (invite, invite in group, cancel, accept, reject, modify, get
// signaling info and six callbacks), pinned down rule by rule in RULES.md
// at the repository's root and checked by the conformance suite.
//
// # Use
//
// A Runtime holds the invitations; each device logs in with a Listener for
// the callbacks and gets a Client, the SDK's API:
//
//	rt, err := beckon.New() // memory store, in-process hub, system clock
//	if err != nil {
//		return err
//	}
//	defer rt.Close()
//
//	bob, err := rt.Login(ctx, "bob", "phone", beckon.ListenerFuncs{
//		ReceiveNewInvitation: func(inviteID, inviter, groupID string, invitees []string, data string) {
//			fmt.Println(inviter, "is calling:", data) // ring
//		},
//	})
//	if err != nil {
//		return err // 6017: a malformed user or session ID, or a session already logged in
//	}
//	alice, err := rt.Login(ctx, "alice", "phone", beckon.ListenerFuncs{}) // no callbacks
//	if err != nil {
//		return err
//	}
//
//	id, err := alice.Invite(ctx, "bob", "video call", beckon.TimeoutSeconds(30))
//	if err != nil {
//		return fmt.Errorf("invite: %w (code %d)", err, beckon.Code(err))
//	}
//	switch err := bob.Accept(ctx, id, "on my way"); {
//	case errors.Is(err, beckon.ErrInvalidInviteID):
//		// 8010: cancelled, timed out, or answered on another of bob's devices
//	case err != nil:
//		return err
//	}
//
// Rejected operations return errors that match ErrInvalidParameters (6017),
// ErrBodySizeLimit (8001), ErrInvalidInviteID (8010), ErrNoPermission
// (8011), ErrAlreadyExists (8012), ErrNotGroupMember (10007) or
// ErrGroupNotFound (10010) and say which field was wrong; the runtime's own
// are ErrClosed (6013), ErrNotLoggedIn (6014) and ErrStoreFailed (6022).
// Code gives the number. A device stops ringing when it hears
// InviteeAccepted or InviteeRejected for its own user (from any of the
// user's devices), InvitationCancelled or InvitationTimeout (DLV-1).
//
// # Architecture
//
//	kernel  <-  port  <-  adapters  <-  beckon (the runtime)  <-  cmd
//
// Each layer imports only those to its left:
//
//   - kernel: the whole invitation lifecycle as a pure, deterministic
//     state machine. Inputs go in with the time as an argument; results,
//     events, history messages and push requests come out as data. No
//     goroutines, I/O, clock or randomness: a log of inputs replays
//     exactly. Its package doc says how to drive it.
//   - port: the ports (Store, Delivery and SessionRegistry, PushHook),
//     their shared errors, and a test suite per port that every adapter
//     runs (port/storetest, port/deliverytest).
//   - adapters/memory (in-memory Store and in-process Hub, the defaults)
//     and adapters/bolt (the durable Store).
//   - beckon: the runtime and the Client; the ports are aliased here so
//     that programs need not import port (see the options).
//   - cmd/beckon: the demo.
//
// Beside them, conformance/ is RULES.md as an importable test suite (it
// imports none of the above) and fuzz/ holds the fuzz targets.
//
// The runtime is a pipeline of three goroutines. Callers queue operations;
// the loop, which alone owns the kernel, applies a batch of them (and the
// timeouts that fell due); the committer makes the batch's records and
// history durable with one Store.Append (group commit); the deliverer then
// hands the events to the Delivery and the push requests to the PushHook,
// and only then answers the batch's callers (DLV-3), then tells a Delivery
// that holds its writes back that the batch is handed over
// (port.Flusher). The three stages work
// on consecutive batches at once. A Store failure stops the runtime: its
// memory may be ahead of the disk, and a restart recovers from the store.
package beckon
