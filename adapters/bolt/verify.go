package bolt

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	bbolt "go.etcd.io/bbolt"
)

// maxCheckErrors bounds how many of bbolt's check findings an error lists.
const maxCheckErrors = 8

// checkSchema checks that tx is a beckon store this build can read and
// returns its schema version: SchemaVersion, or an older one that the
// first write migrates.
func checkSchema(tx *bbolt.Tx) (uint64, error) {
	mb := tx.Bucket(bucketMeta)
	if mb == nil {
		if tx.Bucket(bucketLog) != nil || tx.Bucket(bucketHistory) != nil || tx.Bucket(bucketJournal) != nil {
			return 0, corruptf("beckon's schema bucket %q is missing", bucketMeta)
		}
		var names []string
		_ = tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			if len(names) < 5 {
				names = append(names, fmt.Sprintf("%q", name))
			}
			return nil
		})
		if len(names) == 0 {
			return 0, fmt.Errorf("%w: a bbolt database with no buckets, not made by beckon", ErrNotStore)
		}
		return 0, fmt.Errorf("%w: a bbolt database without beckon's schema (its buckets include %v)", ErrNotStore, names)
	}
	ver, ok := keyU64(mb.Get(keySchema))
	switch {
	case !ok:
		return 0, corruptf("schema version is missing or malformed")
	case ver > SchemaVersion:
		return 0, fmt.Errorf("%w: schema version %d, this build reads up to %d: open it with a newer beckon",
			ErrNewerSchema, ver, SchemaVersion)
	case ver == 0:
		return 0, corruptf("schema version 0")
	}
	for _, name := range [][]byte{bucketLog, bucketSnapshot, bucketHistory} {
		if tx.Bucket(name) == nil {
			return 0, corruptf("bucket %q is missing", name)
		}
	}
	switch hasJournal := tx.Bucket(bucketJournal) != nil; {
	case ver >= 2 && !hasJournal:
		return 0, corruptf("bucket %q is missing", bucketJournal)
	case ver == 1 && hasJournal:
		return 0, corruptf("a store of schema 1 holds a %q bucket, which only schema 2 has", bucketJournal)
	}
	hasCalls, hasRecords, hasCallLog := tx.Bucket(bucketCalls) != nil, tx.Bucket(bucketRecords) != nil, tx.Bucket(bucketCallLog) != nil
	switch {
	case (ver == 3 || ver == 4) && !hasRecords:
		return 0, corruptf("bucket %q is missing", bucketRecords)
	case ver == 3 && !hasCalls:
		return 0, corruptf("bucket %q is missing", bucketCalls)
	case ver >= 5 && !hasCallLog:
		return 0, corruptf("bucket %q is missing", bucketCallLog)
	case ver < 3 && (hasCalls || hasRecords || hasCallLog):
		return 0, corruptf("a store of schema %d holds call records, which only schema 3 and later have", ver)
	case ver > 3 && hasCalls:
		return 0, corruptf("a store of schema %d holds a %q bucket, which only schema 3 has", ver, bucketCalls)
	case ver > 4 && hasRecords:
		return 0, corruptf("a store of schema %d holds a %q bucket, which only schema 3 and 4 have", ver, bucketRecords)
	case ver < 5 && hasCallLog:
		return 0, corruptf("a store of schema %d holds a %q bucket, which only schema 5 has", ver, bucketCallLog)
	}
	switch hasKept := tx.Bucket(bucketKept) != nil; {
	case ver >= 4 && !hasKept:
		return 0, corruptf("bucket %q is missing", bucketKept)
	case ver < 4 && hasKept:
		return 0, corruptf("a store of schema %d holds kept events, which only schema 4 and later have", ver)
	}
	return ver, nil
}

// readSnapshot reads and verifies the snapshot: its index and a copy of its
// bytes, or has false if there is none.
func readSnapshot(tx *bbolt.Tx) (index uint64, snap []byte, has bool, err error) {
	sb := tx.Bucket(bucketSnapshot)
	seq := sb.Sequence()
	c := sb.Cursor()
	k, v := c.First()
	if k == nil {
		if seq != 0 {
			return 0, nil, false, corruptf("the snapshot at index %d is missing", seq)
		}
		return 0, nil, false, nil
	}
	idx, ok := keyU64(k)
	switch {
	case !ok || v == nil:
		return 0, nil, false, corruptf("snapshot bucket holds a malformed entry %x", clip(k))
	case idx != seq:
		return 0, nil, false, corruptf("snapshot stored under index %d, expected %d", idx, seq)
	}
	if k2, _ := c.Next(); k2 != nil {
		return 0, nil, false, corruptf("more than one snapshot")
	}
	p, ok := openFrame(bucketSnapshot, k, v)
	if !ok {
		return 0, nil, false, corruptf("the snapshot at index %d fails its checksum", idx)
	}
	return idx, bytes.Clone(p), true, nil
}

// readLog reads and verifies every record after the snapshot at snapIndex,
// calling fn (if not nil) with each, in order.
func readLog(tx *bbolt.Tx, snapIndex uint64, fn func(kernel.Record)) error {
	lb := tx.Bucket(bucketLog)
	last := lb.Sequence()
	if last < snapIndex {
		return corruptf("the log ends at index %d, before the snapshot at %d", last, snapIndex)
	}
	want := snapIndex + 1
	c := lb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		idx, ok := keyU64(k)
		switch {
		case !ok || v == nil:
			return corruptf("the log holds a malformed entry %x", clip(k))
		case idx <= snapIndex:
			return corruptf("record %d is covered by the snapshot at %d but was not removed", idx, snapIndex)
		case idx != want:
			return corruptf("record %d is missing (the next stored record is %d)", want, idx)
		case idx > last:
			return corruptf("record %d is past the log's last index %d", idx, last)
		}
		p, ok := openFrame(bucketLog, k, v)
		if !ok {
			return corruptf("record %d fails its checksum", idx)
		}
		r, err := kernel.DecodeRecord(p)
		if err != nil {
			return fmt.Errorf("%w: record %d: %w", ErrCorrupt, idx, err)
		}
		if r.Index != idx {
			return corruptf("record stored under index %d says it is %d", idx, r.Index)
		}
		if fn != nil {
			fn(r)
		}
		want++
	}
	if want <= last {
		return corruptf("records %d..%d are missing (the log's last index is %d)", want, last, last)
	}
	return nil
}

// decodeMessage verifies and decodes the history message stored under key
// k of conversation conv.
func decodeMessage(conv, k, v []byte) (port.HistoryMessage, error) {
	seq, _ := keyU64(k)
	p, ok := openFrame(conv, k, v)
	if !ok {
		return port.HistoryMessage{}, corruptf("history message %d of %q fails its checksum", seq, clip(conv))
	}
	sender, at, payload, ok := decodeHistory(p)
	if !ok {
		return port.HistoryMessage{}, corruptf("history message %d of %q is malformed", seq, clip(conv))
	}
	return port.HistoryMessage{Seq: seq, Sender: sender, At: at, Payload: payload}, nil
}

// verifyConversation verifies every message of one conversation: Seq 1 to
// the bucket's sequence, none missing, each intact.
func verifyConversation(conv []byte, cb *bbolt.Bucket) error {
	last := cb.Sequence()
	want := uint64(1)
	c := cb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		seq, ok := keyU64(k)
		switch {
		case !ok || v == nil:
			return corruptf("conversation %q holds a malformed entry %x", clip(conv), clip(k))
		case seq != want:
			return corruptf("history message %d of %q is missing (the next stored one is %d)", want, conv, seq)
		case seq > last:
			return corruptf("history message %d of %q is past its last Seq %d", seq, conv, last)
		}
		if _, err := decodeMessage(conv, k, v); err != nil {
			return err
		}
		want++
	}
	if want <= last {
		return corruptf("history messages %d..%d of %q are missing", want, last, clip(conv))
	}
	return nil
}

// verified is what verifyAll found: the schema version, the journal's
// index and the call index (nil for an older schema).
type verified struct {
	schema  uint64
	journal *journalIndex
	calls   *callIndex
}

// verifyAll reads and verifies everything a store holds, touching every
// page of every bucket; it reads the call index with retention r.
func verifyAll(tx *bbolt.Tx, r port.Retention) (verified, error) {
	ver, err := checkSchema(tx)
	if err != nil {
		return verified{}, err
	}
	known := [][]byte{bucketMeta, bucketLog, bucketSnapshot, bucketHistory, bucketJournal, bucketCallLog, bucketCalls, bucketRecords, bucketKept}
	err = tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
		if !slices.ContainsFunc(known, func(k []byte) bool { return bytes.Equal(k, name) }) {
			return corruptf("unknown bucket %q", clip(name))
		}
		return nil
	})
	if err != nil {
		return verified{}, err
	}
	if err := tx.Bucket(bucketMeta).ForEach(func(k, v []byte) error {
		if v == nil {
			return corruptf("unknown bucket %q inside %q", clip(k), bucketMeta)
		}
		return nil
	}); err != nil {
		return verified{}, err
	}
	snapIndex, _, _, err := readSnapshot(tx)
	if err != nil {
		return verified{}, err
	}
	if err := readLog(tx, snapIndex, nil); err != nil {
		return verified{}, err
	}
	hb := tx.Bucket(bucketHistory)
	if err := hb.ForEach(func(conv, v []byte) error {
		if v != nil {
			return corruptf("history holds a value under %q where conversations are buckets", clip(conv))
		}
		return verifyConversation(conv, hb.Bucket(conv))
	}); err != nil {
		return verified{}, err
	}
	idx, err := readJournal(tx)
	if err != nil {
		return verified{}, err
	}
	if err := verifyKept(tx); err != nil {
		return verified{}, err
	}
	v := verified{schema: ver, journal: idx}
	if ver < SchemaVersion {
		return v, verifyRecords(tx)
	}
	v.calls, err = readCallIndex(tx, r, true)
	return v, err
}

// checkSize compares the file's size with what the transaction's header
// says it holds.
func (s *Store) checkSize(tx *bbolt.Tx) error {
	size, err := fileSize(s.file)
	if err != nil {
		return err
	}
	if size < tx.Size() {
		return corruptf("truncated: the file has %d bytes, its header says %d", size, tx.Size())
	}
	return nil
}

// checkSchema is the check Open runs with WithoutOpenCheck; it returns the
// schema version.
func (s *Store) checkSchema() (ver uint64, err error) {
	err = guarded(func() error {
		return s.db.View(func(tx *bbolt.Tx) error {
			if err := s.checkSize(tx); err != nil {
				return err
			}
			ver, err = checkSchema(tx)
			return err
		})
	})
	return ver, err
}

// checkFile reads the header again and runs checkStructure. No commit may
// run meanwhile (Open runs it before anyone can write; Check under a write
// transaction).
func (s *Store) checkFile() (header, error) {
	size, err := fileSize(s.file)
	if err != nil {
		return header{}, err
	}
	h, err := readHeader(s.file, size)
	if err != nil {
		return h, err
	}
	return h, checkStructure(s.file, h)
}

// verify runs verifyAll and then bbolt's own consistency check (freelist
// against reachable pages, page references, key order). It must follow
// checkFile: bbolt's check runs on a goroutine of its own, where a
// malformed page could not be recovered from.
func (s *Store) verify() (v verified, err error) {
	err = guarded(func() error {
		return s.db.View(func(tx *bbolt.Tx) error {
			if err := s.checkSize(tx); err != nil {
				return err
			}
			if v, err = verifyAll(tx, s.retention); err != nil {
				return err
			}
			var errs []error
			n := 0
			for err := range tx.Check() {
				if n++; n <= maxCheckErrors {
					errs = append(errs, err)
				}
			}
			if n > 0 {
				return fmt.Errorf("%w: bbolt's check found %d problems: %w", ErrCorrupt, n, errors.Join(errs...))
			}
			return nil
		})
	})
	return v, err
}

// errRollback ends the transaction Check reads the header in.
var errRollback = errors.New("rollback")

// Check reads and verifies the whole store, as Open does by default: the
// two bbolt meta pages (one that is unusable is reported), the page tree
// and freelist, the schema, every log record (checksum, encoding, Index
// continuity), the snapshot, every history message, every closed call
// (each calls entry of calllog well framed and decodable: one that no call
// record needs any more is garbage that a later fold deletes, not damage),
// then bbolt's own consistency check. It returns nil if all is well, else
// an error wrapping ErrCorrupt that says what is wrong. It can run while
// the store is in use; writers wait while the pages are read (time
// proportional to the file's size).
func (s *Store) Check() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return storeError(s.path, "check", port.ErrClosed)
	}
	var errs []error
	err := guarded(func() error {
		return s.db.Update(func(*bbolt.Tx) error { // no commit can run meanwhile
			h, err := s.checkFile()
			if err != nil {
				return err
			}
			if note := h.note(); note != "" {
				return corruptf("%s", note)
			}
			return errRollback
		})
	})
	if err != errRollback {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if _, err := s.verify(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return storeError(s.path, "check", errors.Join(errs...))
	}
	return nil
}
