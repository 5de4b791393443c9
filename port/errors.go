package port

import "errors"

// The errors adapters return for the situations every adapter of a port
// shares. An adapter may wrap them with context (its name, a path, the
// session); callers match them with errors.Is.
var (
	// ErrClosed: the store or delivery was closed (or can no longer be
	// used); nothing was done. Open a new one.
	ErrClosed = errors.New("closed: nothing was done; open a new one")

	// ErrNoSession: Deliver to a session that is not registered (never
	// was, or unregistered since); the event was dropped.
	ErrNoSession = errors.New("no such session is registered; the event was dropped")

	// ErrSessionTaken: Register of a (user, session) pair that is already
	// registered. Unregister it first, or use another session ID.
	ErrSessionTaken = errors.New("session is already registered; unregister it first or use another session ID")

	// ErrLocked: the store already serves a runtime: Claim while another
	// claim holds (a second runtime given the same Store), or a file store
	// whose lock another process holds. Close the runtime that uses it
	// first, or give each runtime its own store.
	ErrLocked = errors.New("store is in use")

	// ErrBadIndex: Append of records that do not continue the log (a gap,
	// a repeat or a step back), or SaveSnapshot at an index outside the
	// log. Nothing was written.
	ErrBadIndex = errors.New("index does not continue the log; nothing was written")
)
