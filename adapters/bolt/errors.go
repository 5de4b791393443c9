package bolt

import (
	"errors"
	"fmt"

	"github.com/beckonhq/beckon/port"
)

// Sentinel errors. Every error this package returns names the store's path
// and the problem in its text, and wraps one of these, one of the port's
// (port.ErrClosed after Close, or after a panic while writing left the
// store unusable; port.ErrBadIndex) or an I/O error of the operating
// system, so callers can match with errors.Is.
var (
	// ErrLocked (port.ErrLocked itself): another process, or another Open
	// in this process, holds the store's file lock, and it was not released
	// within the lock timeout (WithLockTimeout); or Claim of a Store that
	// already serves a runtime.
	ErrLocked = port.ErrLocked

	// ErrCorrupt: the file is damaged, truncated, or does not hold what a
	// beckon store holds where it should. Nothing was changed. Errors about
	// a damaged log record also wrap kernel.ErrCorrupt.
	ErrCorrupt = errors.New("store is damaged")

	// ErrNotStore: the file is not a beckon store: it is empty, it is not a
	// bbolt database at all, or it is a bbolt database without beckon's
	// schema. It is never initialised in place: remove or move it to start
	// a fresh store.
	ErrNotStore = errors.New("not a beckon store")

	// ErrNewerSchema: the store was written by a newer version of this
	// package (a higher schema version) and this build refuses to touch it.
	ErrNewerSchema = errors.New("store was written by a newer version")

	// ErrBadOption: Open was given an option with a value it does not
	// accept (the error names the option). Nothing was opened or created.
	ErrBadOption = errors.New("invalid option")
)

// storeError formats an error about the store at path: "bolt store PATH:
// OP: ERR".
func storeError(path, op string, err error) error {
	return fmt.Errorf("bolt store %s: %s: %w", path, op, err)
}

// corruptf returns an error wrapping ErrCorrupt with a formatted message.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// clip shortens a key or name read from a damaged file to what an error
// message can carry: a damaged page can claim a key of a gigabyte.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
