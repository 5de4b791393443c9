package bolt

import (
	"errors"
	"fmt"
	"time"

	"github.com/beckonhq/beckon/port"
)

// DefaultLockTimeout is how long Open waits for the file lock of a store
// that another process (or another Open in this process) holds.
const DefaultLockTimeout = time.Second

// DefaultJournalLimit is how many history messages the journal holds
// before an Append folds it (WithJournalLimit). The runtime saves a
// snapshot every beckon.DefaultSnapshotEvery (10,000) records, and
// SaveSnapshot folds too, so with the runtime's defaults the journal is
// usually folded there, and the limit only bounds it when history grows
// faster than the log or snapshots are rare.
const DefaultJournalLimit = 16384

// MaxJournalLimit is the highest journal limit WithJournalLimit accepts. It
// bounds the journal index's memory (see WithJournalLimit) and the length
// of the commit that folds.
const MaxJournalLimit = 1 << 20

// Option changes how Open opens a store.
type Option func(*options)

type options struct {
	lockTimeout  time.Duration
	noCheck      bool
	journalLimit int
	retention    port.Retention
	errs         []error // invalid options
}

// buildOptions applies opts; an invalid one gives an error wrapping
// ErrBadOption that names it.
func buildOptions(opts []Option) (options, error) {
	o := options{lockTimeout: DefaultLockTimeout, journalLimit: DefaultJournalLimit, retention: port.Retention{}.WithDefaults()}
	for i, opt := range opts {
		if opt == nil {
			o.errs = append(o.errs, fmt.Errorf("%w: option %d is nil", ErrBadOption, i))
			continue
		}
		opt(&o)
	}
	if o.lockTimeout <= 0 {
		o.lockTimeout = DefaultLockTimeout
	}
	return o, errors.Join(o.errs...)
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
// demand, or a checking Open finds it. The journal's index, which a
// checked Open builds, is then built by the first History, Records or
// write, which reads (and verifies) the journal; damage there makes every
// History, Records and write fail with ErrCorrupt. The call index likewise
// by the first Records or write, which reads every calls entry (checking
// its frame); damage there makes every Records and write fail. Only use it on files this process
// kind wrote and nothing else touched: bbolt trusts the page structure, and
// a damaged page tree (a page that leads back to itself) makes Load or
// History loop forever, which only the check can rule out.
func WithoutOpenCheck() Option {
	return func(o *options) { o.noCheck = true }
}

// WithJournalLimit sets how many history messages the journal may hold: an
// Append that leaves at least n messages in it folds the journal into the
// per-conversation history in the same transaction (SaveSnapshot always
// folds). n must be 1..MaxJournalLimit (default DefaultJournalLimit);
// anything else makes Open fail with ErrBadOption. A fold rewrites the
// last page of every conversation it touches, so a smaller n makes folds
// shorter but more frequent (n = 1 folds at every Append: the cost of one
// bucket per conversation per commit that the journal exists to avoid); a
// larger one makes the commit that folds longer and the journal index
// bigger (about 8 bytes per message in the journal, and 150 bytes plus the
// name per conversation with messages there).
func WithJournalLimit(n int) Option {
	return func(o *options) {
		if n < 1 || n > MaxJournalLimit {
			o.errs = append(o.errs, fmt.Errorf("%w: WithJournalLimit(%d): the journal limit must be 1..%d messages",
				ErrBadOption, n, MaxJournalLimit))
			return
		}
		o.journalLimit = n
	}
}
