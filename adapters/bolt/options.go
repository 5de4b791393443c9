package bolt

import "time"

// DefaultLockTimeout is how long Open waits for the file lock of a store
// that another process (or another Open in this process) holds.
const DefaultLockTimeout = time.Second

// Option changes how Open opens a store.
type Option func(*options)

type options struct {
	lockTimeout time.Duration
	noCheck     bool
}

func buildOptions(opts []Option) options {
	o := options{lockTimeout: DefaultLockTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.lockTimeout <= 0 {
		o.lockTimeout = DefaultLockTimeout
	}
	return o
}

// WithLockTimeout sets how long Open waits for the file lock before it
// gives up with ErrLocked (default DefaultLockTimeout; zero or negative
// means the default: Open never waits forever).
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) { o.lockTimeout = d }
}

// WithoutOpenCheck skips the whole-file check that Open runs by default
// (every page, record, snapshot and history message read and verified,
// then bbolt's own consistency check). Open then only checks the file's
// header pages and the schema, which is fast on a large file; damage is
// in what Load and History read is still found and reported as
// ErrCorrupt, but a damaged page can then hide a whole conversation from
// History (it reads as empty) until Check, which runs the full check on
// demand, or a checking Open finds it. Only use it on files this process
// kind wrote and nothing else touched: bbolt trusts the page structure, and
// a damaged page tree (a page that leads back to itself) makes Load or
// History loop forever, which only the check can rule out.
func WithoutOpenCheck() Option {
	return func(o *options) { o.noCheck = true }
}
