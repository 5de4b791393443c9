//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package bolt

import (
	"os"
	"syscall"
	"time"
)

// lockPoll is how often a held lock is tried again.
const lockPoll = 10 * time.Millisecond

// lockFile takes bbolt's exclusive flock(2) on f before bbolt does, so that
// the header is read only once no other writer can change it. bbolt's own
// flock on the same descriptor then succeeds at once. It reports whether it
// locked (false: this platform leaves locking to bbolt), and ErrLocked when
// the lock stayed held for timeout. flock locks belong to the open file
// description, so a second Open of the same path in this process waits too.
func lockFile(f *os.File, timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case err != syscall.EWOULDBLOCK && err != syscall.EINTR:
			return false, err
		case time.Now().After(deadline):
			return false, ErrLocked
		}
		time.Sleep(lockPoll)
	}
}

// unlockFile releases the flock on f. Closing f alone does not when bbolt
// still maps the file (after a panic inside bbolt.Open): the mapping keeps
// the open file description, and with it the lock, alive.
func unlockFile(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
