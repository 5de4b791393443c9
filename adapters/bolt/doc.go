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
// appended (1 for a new store), without gaps (port.ErrBadIndex otherwise).
// Load returns the snapshot, its index and the records after it.
//
// # History: journal and fold
//
// A history message gets its Seq (1, 2, ... in its conversation) when it
// is appended, and goes into the journal: one bucket for all
// conversations, under a key that grows with every message, so a commit
// dirties the journal's last page however many conversations its batch
// touches (with a bucket per conversation, as in schema 1, every
// conversation a commit touched cost a page of its own, about 35 us). A
// fold moves every journal message into its conversation's bucket (and
// every calls entry into calllog, see Call records) and empties the
// journal, in one transaction: a crash leaves all of it or
// none, and nothing is lost or doubled. SaveSnapshot folds, in its own
// transaction (the runtime saves a snapshot every 10,000 records by
// default), and so does an Append that leaves the journal holding the
// journal limit of messages or more (DefaultJournalLimit,
// WithJournalLimit), in the Append's transaction. A fold makes its commit
// longer: it rewrites the last page of each conversation it touches and
// writes the folded messages again, about 3 us per message when
// conversations have many messages each and up to about 15 us when each
// has a page of its own (BenchmarkFold, 16,384 messages: about 50 ms in 64
// conversations, about 250 ms in 8,192, on a 2-core machine whose fsync
// of 4 KiB takes about 210 us). The runtime's snapshot every 10,000
// records thus delays its next commit by about 30 to 150 ms; the commits
// in between save far more (BENCHMARKS.md).
//
// History reads a conversation's folded messages, then its journal
// messages, which an in-memory index of the journal (built at Open, or at
// first use with WithoutOpenCheck) finds without a scan. The index costs
// about 8 bytes per journal message and 150 bytes plus the name per
// conversation with messages in the journal: at most about 3 MiB with the
// default limit. A History that begins while a write commits waits
// for that commit (it then sees the index and the file in one state).
//
// # Call records
//
// Append writes a batch's closed calls into the journal as one calls
// entry, in the page its messages dirty anyway (calls that take more than
// 8 KiB go into several entries), so a call's records are durable in the
// commit of the input that closed it. A fold moves each calls entry whole,
// as it is, into the bucket "calllog" under the key it had in the journal:
// one Put per entry (16 calls under BenchmarkDurable's load), at the end of
// the bucket. Nothing is filed per user: an in-memory call index holds,
// for each user, their records by close time, each a 16-byte ref to the
// entry and the offset of its call. Records takes the refs after its
// cursor (a binary search; records closed at the same nanosecond are
// ordered by decoding their calls), reads the entries they lie in, in one
// read transaction, checking each entry's frame once, and decodes the
// calls: 1,000 records of one user among 1M stored in about 1.6 ms
// (BenchmarkRecords). A Records that begins while a write commits waits
// for that commit.
//
// Retention (WithRecordRetention, port.Retention) is applied to the index
// after each commit: a user given new records keeps the MaxPerUser newest
// and none closed more than MaxAge before the newest call; every user is
// trimmed to that age at a fold once the cutoff has moved on by MaxAge/64
// since the last time. Records never lists a record outside retention. A
// calls entry none of whose calls any user keeps any more is deleted by
// the next fold (up to 4,096 per fold). Storage: an entry stays while any
// one of its calls is within retention for any of its participants. When
// calls age out with their batch (the usual case) entries go whole; in the
// worst case every kept record holds a whole entry of its own, about 2.7
// KiB with the runtime's batches of 16 calls (at most 8 KiB and one call)
// where the record itself takes about 170 bytes. A store reopened with a
// larger retention lists again the records it had dropped for a user but
// still held for another participant.
//
// The call index costs 16 bytes per record kept (up to twice that while a
// user's slice grows), about 80 bytes plus the name per user with records,
// and 16 bytes per entry: 33 bytes per record for 1M records of 100,000
// users (BenchmarkOpenRecords, index-B/record). Open builds it (or, with
// WithoutOpenCheck, the first Records or write does) by reading every
// kept call's participants, not the rest of the call, so its time grows
// with the records kept: about 240 ms for 1M records without the check,
// about 520 ms with it (which decodes every call too), on a 2-core machine
// (BenchmarkOpenRecords).
//
// # Layout
//
// Buckets "beckon" (the schema version, 5), "log" (uint64 big-endian Index
// -> kernel.AppendRecord bytes), "snapshot" (one entry, under its index),
// "history" (the folded messages: one bucket per
// kernel.Conversation.String(), uint64 big-endian Seq -> sender, time and
// kernel.MarshalSignalingInfo payload), "journal" (the messages and calls
// entries not folded yet: uint64 big-endian journal key -> conversation
// name, Seq and the message's value in its conversation's bucket, byte for
// byte; or a batch's closed calls, each as its close time and
// kernel.AppendClosedCall bytes), "calllog" (the folded calls entries,
// under their journal keys) and "kept" (the events kept for resumable
// sessions); layout.go has the details. A conversation's journal messages
// continue its folded ones without a gap or an overlap. Every value
// carries a CRC-32C of its bucket, key and bytes, since bbolt keeps no
// checksums of its data pages; a journal entry's CRC covers the folded
// value it carries, which has its own. A file of a higher schema version
// is refused (ErrNewerSchema). A file of schema 1 (no journal: every
// message in history), 2 (no call records), 3 (the calls not filed yet in
// a bucket "calls") or 4 (each folded call filed under each participant in
// a bucket per user) is read as it is, and the first write of a session
// migrates it in that write's transaction (adding the missing buckets,
// moving every call filed, once, and those of "calls" into calllog
// entries under keys taken from the journal's sequence, and dropping
// "records" and "calls"); a session that only reads leaves it as it was,
// readable by older builds. That transaction holds every migrated call:
// its memory and length grow with the records kept.
//
// # Damage and foreign files
//
// Nothing is ever initialised in place: Open creates a store only where no
// file exists (built under a temporary name, "<name>.creating-NNNN", then
// linked into place; the temporary files of a create killed midway are
// removed by the next Open of the path, under a lock of the directory that
// every create holds, so never one of a create in progress), and
// refuses an empty file, a file that is not a bbolt database, or a bbolt
// database without beckon's schema (ErrNotStore). Before bbolt maps a file,
// Open reads its two meta pages and freelist itself, with bounds checks, so
// a truncated or damaged header is an error (ErrCorrupt) and not a fault.
// Then, unless WithoutOpenCheck is given, it checks the whole file as Check
// does: its own walk of every page (bbolt trusts its pages; a damaged one
// can make it fault, loop or allocate without bound), every record,
// snapshot and history message (a journal message that repeats a folded
// one or leaves a gap is damage too), then bbolt's consistency check.
// Panics and memory faults inside bbolt are recovered into ErrCorrupt
// errors in Open, Load, History and Append. One damaged meta page is
// survivable: bbolt uses the other, and Close (after a session that wrote)
// commits an empty transaction so that both describe the same data; Check
// reports the damaged one. A session that only reads never writes to the file.
//
// A store held by another process, or by another Open in this process
// (bbolt's flock belongs to the open file), gives ErrLocked after the lock
// timeout (DefaultLockTimeout, WithLockTimeout): Open never hangs. A Store
// serves one runtime at a time (Claim): beckon.New refuses one that
// another runtime uses, with ErrLocked. ErrLocked is port.ErrLocked.
//
// # Settings
//
// The freelist is written at every commit (NoFreelistSync false): it is one
// more page inside the same fsync, and it spares Open a scan of the whole
// file that bbolt would run on a goroutine of its own, where a damaged
// page could crash the process. The freelist is bbolt's hash map type,
// which stays fast when the file has many free pages.
package bolt
