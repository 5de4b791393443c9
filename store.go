package beckon

import (
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// Store is the durable side of a Runtime (the port every storage adapter
// implements; adapters/memory holds the reference implementation). The
// runtime calls it from one goroutine at a time, except History, which may
// be called concurrently with everything else.
//
// Ownership: slices passed in belong to the caller and may be reused after
// the call returns (copy what you keep); slices returned belong to the
// caller.
//
// Errors: any error from Append or SaveSnapshot means the write may not be
// durable; the runtime then fails the operations of that batch and stops
// (it never answers success for an input it could not persist).
type Store interface {
	// Load returns what the runtime restores at start: the latest snapshot
	// (nil if none) with the index it was saved at (0 if none), and every
	// record after it, in Index order without gaps (the first has Index
	// snapshotIndex+1). The index tells the runtime where the log goes on
	// when the store dropped every record the snapshot covers. A store that
	// cannot read its data returns an error, never a partial or empty state.
	Load() (snapshotIndex uint64, snapshot []byte, records []kernel.Record, err error)

	// Append makes a batch durable, atomically: all of it or none. It
	// returns only once the batch would survive a crash (fsync). Records
	// arrive in Index order, continuing the log.
	Append(b Batch) error

	// SaveSnapshot stores a snapshot that covers every record up to and
	// including index; the store may then drop those records.
	SaveSnapshot(index uint64, snapshot []byte) error

	// History lists the messages of a conversation with Seq > after, oldest
	// first, at most limit of them (limit <= 0: all).
	History(conv kernel.Conversation, after uint64, limit int) ([]HistoryMessage, error)

	// Close releases the store. Calls after Close return an error.
	Close() error
}

// Batch is what one Append makes durable: the logged inputs and the
// history messages they produced (HIS-1), so history is never lost between
// an input being durable and its outputs being stored. It is defined in
// package port so that adapters need not import this package.
type Batch = port.Batch

// HistoryMessage is one stored signaling message of a conversation
// (defined in package port, see Batch).
type HistoryMessage = port.HistoryMessage
