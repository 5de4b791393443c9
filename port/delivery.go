package port

import "github.com/beckonhq/beckon/kernel"

// Delivery is the outbound side of the runtime: it hands events to
// sessions (adapters/memory.Hub in process; a network adapter for remote
// devices).
//
// Calls: the runtime's deliverer goroutine alone calls Deliver, one call
// at a time, one event for one session per call, and only once the
// operation that caused the event is durable (DLV-3). For each session the
// calls come in the order the session must see the events (DLV-2); a
// Delivery keeps that order.
//
// Blocking: Deliver must not wait for the receiver. While it runs, the
// deliverer and every batch behind it wait, so it queues the event (or
// sends it without waiting for an answer) and returns.
//
// Ownership: ev may be kept after the call. Its Invitees slice is shared
// with the runtime and with other deliveries: read it, never modify it;
// copy it before handing it to code that might.
//
// Errors: a non-nil error means the event was not handed over to that
// session: ErrNoSession if the session is not there (a session that is
// gone is expected to be reported with a Disconnect soon after), ErrClosed
// after the Delivery was closed. The runtime logs it and goes on; it does
// not retry, and the other recipients are not affected.
type Delivery interface {
	Deliver(user, session string, ev kernel.Event) error
}

// Keeper is a Delivery whose sessions outlive their connections (REM-4,
// REM-5), such as adapters/mqtt. The runtime calls Keep instead of
// Deliver, with each event's Seq, from the same goroutine and under the
// same rules; the events of a Resumable session it must keep until the
// session's device has them, even while the session has no connection
// (queue them). Ended says the session ended (clean disconnect, takeover,
// expiry): drop what is kept for it; it comes after the session's last
// event. At start, the runtime hands to Keep the events the store kept
// (Store.Kept), before anything else reaches the Keeper: a restarted server
// holds them for sessions that come back. Acknowledge an event with
// Runtime.Acked once its device has it, so that the store can drop it.
type Keeper interface {
	Delivery
	Keep(e kernel.SessionEvent) error
	Ended(s kernel.SessionRef)
}

// Flusher is a Delivery that may hold its writes back until Flush, which
// the runtime calls on the deliverer's goroutine once it has handed a
// batch's events (and Ended) and answered the batch's callers, and once
// after the kept events at start. Holding back lets a network adapter
// write a connection's events and the reply of its request together.
// Flush must not wait.
type Flusher interface {
	Flush()
}

// SessionRegistry is a Delivery that sessions in the same process register
// with to receive their events; Runtime.Login needs one (the default,
// memory.Hub, is one). Register and unregister are called from callers'
// goroutines (Runtime.Login, Client.Close), concurrently with Deliver.
//
// Register makes handle receive every event delivered to session of user,
// in order and one at a time, never on the goroutine that called Deliver.
// It fails for a nil handle, with ErrSessionTaken for a (user, session)
// pair already registered, and with ErrClosed after Close if the registry
// has one. After unregister, Deliver to the session returns ErrNoSession;
// the events it accepted before are still handled. unregister may be
// called more than once and from inside handle. A registry with a Close
// must not wait in it for a handler: Runtime.Close closes the default one,
// and a handler may call Runtime.Close or block.
type SessionRegistry interface {
	Delivery
	Register(user, session string, handle func(kernel.Event)) (unregister func(), err error)
}

// PushHook receives the offline-push requests of the runtime (SYN-2): a 1:1
// invitation with push info, not online-only, to an invitee who was offline
// when it was made. The runtime's deliverer goroutine calls Push once the
// invitation is durable, after the events of the same batch, at most once
// per request: like Deliver it must not block (hand the request to a queue
// or a goroutine). A non-nil error is logged; the request is not retried.
// req may be kept.
type PushHook interface {
	Push(req kernel.PushRequest) error
}

// PushFunc adapts a function to PushHook.
type PushFunc func(req kernel.PushRequest) error

// Push calls f.
func (f PushFunc) Push(req kernel.PushRequest) error { return f(req) }
