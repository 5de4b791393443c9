package beckon

import (
	"context"
	"log/slog"

	"github.com/beckonhq/beckon/kernel"
)

// Delivery is the outbound side of a Runtime: it hands events to sessions
// (adapters/memory.Hub in process; a network adapter for remote devices).
//
// Calls: the runtime calls Deliver from its loop goroutine only, one event
// for one session per call, and only after the operation that caused the
// event is durable (DLV-3). For each session the calls come in the order
// the session must see the events (DLV-2); a Delivery keeps that order.
//
// Blocking: Deliver must not wait for the receiver. The whole runtime waits
// while it runs, so it queues the event (or sends it without waiting for an
// answer) and returns.
//
// Ownership: ev may be kept after the call. Its Invitees slice is shared
// with the runtime and with other deliveries: read it, never modify it;
// copy it before handing it to code that might.
//
// Errors: a non-nil error means the event was not handed over to that
// session (typically the session is gone). The runtime logs it and goes on;
// it does not retry, and the other recipients are not affected. A session
// that is gone is expected to be reported with a Disconnect soon after.
type Delivery interface {
	Deliver(user, session string, ev kernel.Event) error
}

// SessionRegistry is a Delivery that sessions in the same process can
// register with to receive their events; Runtime.Login needs one (the
// default, memory.Hub, is one).
//
// Register makes handle receive every event delivered to session of user,
// in order and one at a time, until unregister is called; handle must not
// be called from the goroutine that called Deliver. Register fails for a
// (user, session) pair already registered. unregister may be called more
// than once and from inside handle.
type SessionRegistry interface {
	Delivery
	Register(user, session string, handle func(kernel.Event)) (unregister func(), err error)
}

// PushHook receives the offline-push requests of the runtime (SYN-2): a 1:1
// invitation with push info, not online-only, to an invitee who was offline
// when it was made. The runtime calls Push from its loop goroutine, after
// the invitation is durable, at most once per request: like Deliver it must
// not block (hand the request to a queue or a goroutine). A non-nil error is
// logged; the request is not retried. req may be kept.
type PushHook interface {
	Push(req kernel.PushRequest) error
}

// PushFunc adapts a function to PushHook.
type PushFunc func(req kernel.PushRequest) error

// Push calls f.
func (f PushFunc) Push(req kernel.PushRequest) error { return f(req) }

// LogPush returns the default PushHook: it logs each request at Info level
// with logger (slog.Default() if nil) and sends nothing.
func LogPush(logger *slog.Logger) PushHook {
	return PushFunc(func(req kernel.PushRequest) error {
		l := logger
		if l == nil {
			l = slog.Default()
		}
		l.LogAttrs(context.Background(), slog.LevelInfo, "beckon: offline push",
			slog.String("to", req.To), slog.String("inviteID", req.InviteID),
			slog.String("inviter", req.Inviter), slog.String("title", req.Info.Title),
			slog.String("desc", req.Info.Desc))
		return nil
	})
}
