// Package bolt is beckon's durable Store: the runtime's log of applied
// inputs, its snapshots and the signaling history, kept in one bbolt file.
//
//	s, err := bolt.Open("beckon.db") // created if nothing is there
//	if err != nil { ... }            // in use, damaged, not a store: the error says which
//	defer s.Close()
//	rt, err := beckon.New(beckon.WithStore(s))
//
// # Durability
//
// Append writes a batch's records and history messages in one bbolt
// transaction and returns once it is committed: bbolt writes the pages,
// fdatasyncs, writes the meta page, fdatasyncs again (NoSync and
// NoGrowSync are never set). The runtime calls Append once per batch of
// queued operations, so one commit covers many operations (group commit);
// concurrent Append calls are safe and commit one after the other. A batch
// is all there or absent after a crash. SaveSnapshot stores a snapshot and
// deletes the records it covers in one transaction.
//
// Records must continue the log: the first Index after the last ever
// appended (1 for a new store), without gaps (ErrBadIndex otherwise).
// Load returns the snapshot, its index and the records after it.
//
// # Layout
//
// Buckets "beckon" (the schema version), "log" (uint64 big-endian Index ->
// kernel.AppendRecord bytes), "snapshot" (one entry, under its index) and
// "history" (one bucket per kernel.Conversation.String(), uint64
// big-endian Seq -> sender, time and kernel.MarshalSignalingInfo payload).
// Every value carries a CRC-32C of its bucket, key and bytes, since bbolt
// keeps no checksums of its data pages. A file of a higher schema version
// is refused (ErrNewerSchema).
//
// # Damage and foreign files
//
// Nothing is ever initialised in place: Open creates a store only where no
// file exists (built under a temporary name, then linked into place), and
// refuses an empty file, a file that is not a bbolt database, or a bbolt
// database without beckon's schema (ErrNotStore). Before bbolt maps a file,
// Open reads its two meta pages and freelist itself, with bounds checks, so
// a truncated or damaged header is an error (ErrCorrupt) and not a fault.
// Then, unless WithoutOpenCheck is given, it checks the whole file as Check
// does: its own walk of every page (bbolt trusts its pages; a damaged one
// can make it fault, loop or allocate without bound), every record,
// snapshot and history message, then bbolt's consistency check. Panics and
// memory faults inside bbolt are recovered into ErrCorrupt errors in Open,
// Load, History and Append. One damaged meta page is survivable: bbolt
// uses the other, and Close (after a session that wrote) commits an empty
// transaction so that both describe the same data; Check reports the
// damaged one. A session that only reads never writes to the file.
//
// A store held by another process, or by another Open in this process
// (bbolt's flock belongs to the open file), gives ErrLocked after the lock
// timeout (DefaultLockTimeout, WithLockTimeout): Open never hangs.
//
// # Settings
//
// The freelist is written at every commit (NoFreelistSync false): it is one
// more page inside the same fsync, and it spares Open a scan of the whole
// file that bbolt would run on a goroutine of its own, where a damaged
// page could crash the process. The freelist is bbolt's hash map type,
// which stays fast when the file has many free pages.
package bolt
