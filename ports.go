package beckon

import (
	"context"
	"log/slog"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// The ports, defined in package port (which states each one's contract)
// and aliased here so that users of the runtime need not import it.
type (
	// Store is the durable side of a Runtime (port.Store).
	Store = port.Store
	// Batch is what one Store.Append makes durable (port.Batch).
	Batch = port.Batch
	// HistoryMessage is one stored signaling message (port.HistoryMessage).
	HistoryMessage = port.HistoryMessage
	// CallRecord is one user's record of a closed call (port.CallRecord).
	CallRecord = port.CallRecord
	// RecordCursor is a place in a user's call records (port.RecordCursor).
	RecordCursor = port.RecordCursor
	// Delivery hands events to sessions (port.Delivery).
	Delivery = port.Delivery
	// SessionRegistry is a Delivery that in-process sessions register with;
	// Login needs one (port.SessionRegistry).
	SessionRegistry = port.SessionRegistry
	// PushHook receives the offline-push requests (port.PushHook).
	PushHook = port.PushHook
	// PushFunc adapts a function to PushHook (port.PushFunc).
	PushFunc = port.PushFunc
)

// LogPush returns the default PushHook: it logs each request at Info level
// with logger (slog.Default() if nil) and sends nothing. It logs who and
// which invitation, and the sizes of the push info's fields, never their
// contents (a call's title and text are the users' business).
func LogPush(logger *slog.Logger) PushHook {
	return PushFunc(func(req kernel.PushRequest) error {
		l := logger
		if l == nil {
			l = slog.Default()
		}
		l.LogAttrs(context.Background(), slog.LevelInfo, "beckon: offline push",
			slog.String("to", req.To), slog.String("inviteID", req.InviteID),
			slog.String("inviter", req.Inviter), slog.Int("titleBytes", len(req.Info.Title)),
			slog.Int("descBytes", len(req.Info.Desc)), slog.Int("extBytes", len(req.Info.Ext)),
			slog.Int("soundBytes", len(req.Info.Sound)))
		return nil
	})
}
