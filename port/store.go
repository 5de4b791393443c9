package port

import (
	"time"

	"github.com/beckonhq/beckon/kernel"
)

// Store is the durable side of the runtime: the log of applied inputs, its
// snapshots, and the signaling history.
//
// Calls: New calls Claim, then Load once, then Append (and SaveSnapshot) for what
// recovery logs, on its caller's goroutine before the runtime's goroutines
// start. From then on the committer goroutine alone calls Append and
// SaveSnapshot, one call at a time, a batch's SaveSnapshot after its
// Append. History is called from callers' goroutines (Runtime.History,
// Client.History) at any time, concurrently with everything else. The
// runtime closes only a store it created itself, after its goroutines
// have exited; a store given to it is closed by its owner, after
// Runtime.Close. A store serves one runtime at a time: the runtime holds
// its claim from New to Close, so a second runtime on the same store is
// refused at New (ErrLocked) rather than failing at its first write.
//
// Ownership: slices passed in belong to the caller and may be reused once
// the call returns (copy what you keep); slices returned belong to the
// caller.
//
// Errors: any error from Append means the batch may not be durable; the
// runtime then fails the operations of that batch and stops (it never
// answers success for an input it could not persist). An error from
// SaveSnapshot means the snapshot was not saved and nothing changed (the
// previous snapshot and the records after it are all kept); the runtime
// logs it and tries again at its next snapshot. After Close, every call,
// Close included, returns an error matching ErrClosed.
type Store interface {
	// Claim makes the caller the store's one user until it calls release:
	// a Claim while another claim holds fails with an error matching
	// ErrLocked, and one after Close with ErrClosed. release may be called
	// more than once; the store is free to be claimed again after it.
	Claim() (release func(), err error)

	// Load returns what the runtime restores at start: the latest snapshot
	// (nil if none) with the index it was saved at (0 if none), and every
	// record after it, in Index order without gaps (the first has Index
	// snapshotIndex+1). The index tells the runtime where the log goes on
	// when the store dropped every record the snapshot covers. A store that
	// cannot read its data returns an error, never a partial or empty state.
	Load() (snapshotIndex uint64, snapshot []byte, records []kernel.Record, err error)

	// Append makes a batch durable, atomically: all of it or none. It
	// returns only once the batch would survive a crash (fsync). Records
	// continue the log: the first has the Index after the last appended (1
	// for a new store), the others follow without gaps; else ErrBadIndex
	// and nothing is written. Each history message gets the next Seq of
	// its conversation. A History running meanwhile sees all of the batch
	// or none of it.
	Append(b Batch) error

	// SaveSnapshot stores a snapshot that covers every record up to and
	// including index, replacing the previous one; the store may then drop
	// those records. It is atomic: on an error the store still holds the
	// previous snapshot and every record. index is at least the current
	// snapshot's and at most the last record's; else ErrBadIndex. History
	// is not affected.
	SaveSnapshot(index uint64, snapshot []byte) error

	// History lists the messages of a conversation with Seq > after, oldest
	// first, at most limit of them (limit <= 0: all). A conversation
	// without messages gives none and no error.
	History(conv kernel.Conversation, after uint64, limit int) ([]HistoryMessage, error)

	// Records lists user's call records (REC-1, REC-2) newest first: by
	// close time, ties by invite ID (ascending), then by Index (the later
	// first); those after the cursor after (the zero RecordCursor: from
	// the newest), at most limit of them (limit <= 0: all that are kept).
	// Records outside the store's Retention are never listed. A user
	// without records gets none and no error. It runs at any time,
	// concurrently with everything else, and sees all of a batch or none.
	Records(user string, after RecordCursor, limit int) ([]CallRecord, error)

	// Kept returns the events the store keeps for sessions that outlive
	// a lost connection (Batch.Events, REM-5), by user, then session, each
	// session's in Seq order. The runtime reads it once, at start, after
	// Load, to hand them to the sessions when they resume.
	Kept() ([]kernel.SessionEvent, error)

	// Close releases the store.
	Close() error
}

// Batch is what one Store.Append makes durable: the logged inputs, the
// history messages they produced (HIS-1) and the calls they closed
// (kernel.Step.Closed, their Index set), so history and call records are
// never lost between an input being durable and its outputs being stored.
// Append keeps one call record per participant of each closed call.
//
// The batch also carries what the store keeps of resumable sessions
// (REM-5), applied in this order: Ended drops every event kept for those
// sessions; Acked drops each session's kept events up to and including
// its Seq; then the Resumable ones of Events are kept (Kept) until their
// session acknowledges them (Acked of a later batch) or ends. No event of
// a batch can be acknowledged in the same batch: its events reach no one
// before it is durable. The runtime leaves out of Events those of a
// session that ends later in the same batch, so a session that ends and
// starts anew in one batch keeps only the new one's events.
type Batch struct {
	Records []kernel.Record
	History []kernel.History
	Closed  []kernel.ClosedCall
	Ended   []kernel.SessionRef
	Events  []kernel.SessionEvent
	Acked   []Ack
}

// Ack says that a session's device has every event up to and including
// Seq.
type Ack struct {
	kernel.SessionRef
	Seq uint64
}

// HistoryMessage is one stored signaling message of a conversation.
type HistoryMessage struct {
	Seq     uint64 // per conversation, from 1, in append order
	Sender  string
	At      time.Time
	Payload []byte // the SDK's JSON envelope (kernel.MarshalSignalingInfo)
}
