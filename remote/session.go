package remote

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/beckonhq/beckon"
)

// DefaultSessionExpiry is Options.SessionExpiry's default: as long as the
// server keeps a session by default (adapters/mqtt.DefaultSessionExpiry).
const DefaultSessionExpiry = 120 * time.Second

// SessionListener is a beckon.Listener that also hears when the server
// started this device's session afresh after a lost connection, because
// it had expired or could not be resumed (REM-6): events of the old
// session the device had not got are gone. The invitations still pending
// for the user are re-delivered right after (OnReceiveNewInvitation,
// SYN-1): stop ringing any other, and look the rest up with
// OpenInvitations and Records. It is called in order with the other
// callbacks, under the same rules.
type SessionListener interface {
	beckon.Listener
	OnSessionRestarted()
}

// restarted tells the listener, if it is a SessionListener, that the
// session started afresh; a panic is recovered and logged.
func (c *Client) restarted() {
	sl, ok := c.listener.(SessionListener)
	if !ok {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("beckon remote: OnSessionRestarted panicked", slog.String("client", c.cid),
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
		}
	}()
	sl.OnSessionRestarted()
}
