package bolt

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// panicError is a panic recovered by guarded. It wraps ErrCorrupt.
type panicError struct{ value any }

func (e *panicError) Error() string {
	return fmt.Sprintf("%v: bbolt failed reading it: %v", ErrCorrupt, e.value)
}

func (e *panicError) Unwrap() error { return ErrCorrupt }

// panicked reports whether err came from a recovered panic.
func panicked(err error) bool {
	var pe *panicError
	return errors.As(err, &pe)
}

// guarded runs fn and turns a panic into a *panicError (wrapping
// ErrCorrupt). bbolt panics when a page it reads is not what it expects,
// and reading a mapped page past the end of a shortened file faults;
// SetPanicOnFault makes that fault a panic of this goroutine, so it is
// recovered here too instead of killing the process.
func guarded(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = &panicError{r}
		}
	}()
	return fn()
}
