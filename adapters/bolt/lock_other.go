//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package bolt

import (
	"os"
	"time"
)

// lockFile leaves locking to bbolt on this platform (its timeout gives
// ErrLocked); the header is then not read before bbolt maps the file.
func lockFile(*os.File, time.Duration) (bool, error) { return false, nil }

// unlockFile does nothing where bbolt does the locking.
func unlockFile(*os.File) {}
