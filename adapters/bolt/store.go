package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	bbolt "go.etcd.io/bbolt"
)

// Store is a port.Store kept in one bbolt file. It is safe for
// concurrent use: writes (Append, SaveSnapshot) are serialised, reads
// (Load, History, Check) run beside them on consistent views.
type Store struct {
	mu     sync.RWMutex // Close holds it for writing, every other call for reading
	db     *bbolt.DB
	file   *os.File // the descriptor bbolt uses
	path   string
	closed bool

	bmu    sync.Mutex
	broken error // set when a write panicked: the store refuses further calls

	wrote   atomic.Bool // a write transaction committed
	claimed atomic.Bool // a runtime holds it (see Claim)

	journalLimit int // fold when an Append leaves this many messages in the journal
	retention    port.Retention

	// wmu serialises writes (bbolt would too) and the building of idx, so
	// that a write reads idx and the file in the same state.
	wmu    sync.Mutex
	schema uint64 // the file's schema version (under wmu)
	// imu makes a commit and the update of the indexes one step for reads:
	// a write holds it for writing from its commit until the indexes are
	// updated, a History or Records for reading while it begins its
	// transaction and copies what it needs of an index. The indexes and
	// schema are set and changed under wmu and imu.
	imu   sync.RWMutex
	idx   *journalIndex // nil until built: at a checked Open, else on first use
	calls *callIndex    // likewise; nil while the file is of an older schema
}

// Path returns the path the store was opened at.
func (s *Store) Path() string { return s.path }

// usable returns the error a call gets on a closed or broken store.
func (s *Store) usable() error {
	if s.closed {
		return port.ErrClosed
	}
	s.bmu.Lock()
	defer s.bmu.Unlock()
	if s.broken != nil {
		return fmt.Errorf("an earlier write failed: %w: %w", s.broken, port.ErrClosed)
	}
	return nil
}

// update runs fn in a write transaction, committed and fsynced on success;
// fn records in p what it changed in the journal, and the index follows
// once the transaction has committed.
func (s *Store) update(op string, fn func(tx *bbolt.Tx, p *pending) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return storeError(s.path, op, err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := guarded(func() error { return s.commit(fn) })
	if err != nil {
		if panicked(err) {
			s.bmu.Lock()
			s.broken = err
			s.bmu.Unlock()
		}
		return storeError(s.path, op, err)
	}
	s.wrote.Store(true)
	return nil
}

// commit runs one write transaction for update (under wmu): it builds the
// journal index if it is not built yet, migrates a store of an older
// schema and builds the call index if there is none (from the
// transaction: published with its commit), runs fn, commits, and applies
// fn's changes to the indexes.
func (s *Store) commit(fn func(tx *bbolt.Tx, p *pending) error) error {
	tx, err := s.db.Begin(true)
	if err != nil {
		return err
	}
	defer func() {
		if tx.DB() != nil { // not committed, or fn or Commit panicked
			_ = tx.Rollback()
		}
	}()
	if s.idx == nil {
		if err := s.buildIndex(tx); err != nil {
			return err
		}
	}
	calls := s.calls
	if s.schema < SchemaVersion {
		if err := migrate(tx); err != nil {
			return fmt.Errorf("migrating from schema %d: %w", s.schema, err)
		}
		calls = nil
	}
	if calls == nil {
		if calls, err = readCallIndex(tx, s.retention, false); err != nil {
			return err
		}
	}
	p := pending{calls: calls}
	if err := fn(tx, &p); err != nil {
		return err
	}
	s.imu.Lock()
	defer s.imu.Unlock()
	if err := tx.Commit(); err != nil {
		return err
	}
	s.schema = SchemaVersion
	s.idx.apply(&p)
	calls.apply(&p, s.retention)
	s.calls = calls
	return nil
}

// buildIndex reads the journal index from tx and publishes it (under
// wmu).
func (s *Store) buildIndex(tx *bbolt.Tx) error {
	idx, err := readJournal(tx)
	if err != nil {
		return err
	}
	s.imu.Lock()
	defer s.imu.Unlock()
	s.idx = idx
	return nil
}

// loadIndex builds the journal index if it is not built yet, and with
// calls the call index too (if the file is of SchemaVersion: an older one
// has none until a write migrates it).
func (s *Store) loadIndex(calls bool) error {
	s.imu.RLock()
	built := s.idx != nil && (!calls || s.calls != nil || s.schema < SchemaVersion)
	s.imu.RUnlock()
	if built {
		return nil
	}
	s.wmu.Lock() // no write commits meanwhile
	defer s.wmu.Unlock()
	return s.db.View(func(tx *bbolt.Tx) error {
		if s.idx == nil {
			if err := s.buildIndex(tx); err != nil {
				return err
			}
		}
		if !calls || s.calls != nil || s.schema < SchemaVersion {
			return nil
		}
		x, err := readCallIndex(tx, s.retention, false)
		if err != nil {
			return err
		}
		s.imu.Lock()
		defer s.imu.Unlock()
		s.calls = x
		return nil
	})
}

// beginRead begins a read transaction and copies conversation name's part
// of the journal index as of that transaction.
func (s *Store) beginRead(name []byte) (*bbolt.Tx, convJournal, error) {
	s.imu.RLock()
	defer s.imu.RUnlock()
	tx, err := s.db.Begin(false)
	if err != nil {
		return nil, convJournal{}, err
	}
	var cj convJournal
	if c := s.idx.convs[string(name)]; c != nil {
		cj = *c
	}
	return tx, cj, nil
}

// view runs fn in a read transaction.
func (s *Store) view(op string, fn func(*bbolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return storeError(s.path, op, err)
	}
	if err := guarded(func() error { return s.db.View(fn) }); err != nil {
		return storeError(s.path, op, err)
	}
	return nil
}

// journalMsg is where one encoded journal entry lies in Append's buffer:
// buf[start:end] is the journal value, buf[seqAt:seqAt+8] its Seq and
// buf[seqAt+8:end] the folded value (checksum, then the message).
type journalMsg struct {
	conv              []byte
	start, seqAt, end int
}

// Append makes a batch durable in one bbolt transaction: its records under
// their Index in the log, its history messages in the journal, each with
// the next Seq of its conversation, and its closed calls in a calls entry
// of the journal after them (more than one if they take more than
// maxCallEntry bytes). It returns once the transaction is committed and
// fsynced, or an error and nothing written. The first record must carry
// the Index after the last one ever appended (1 for a new store) and the
// others follow it without gaps; else port.ErrBadIndex.
// Concurrent calls are safe and are applied one after the other.
//
// If the journal then holds at least the journal limit of messages
// (WithJournalLimit), the same transaction folds it into the
// per-conversation history and calllog (see fold), which makes that
// commit longer.
func (s *Store) Append(b port.Batch) error {
	recs := b.Records
	if len(recs) == 0 && len(b.History) == 0 && len(b.Closed) == 0 && len(b.Ended) == 0 && len(b.Acked) == 0 && !anyResumable(b.Events) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if err := s.usable(); err != nil {
			return storeError(s.path, "append", err)
		}
		return nil
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].Index != recs[i-1].Index+1 {
			return storeError(s.path, "append", fmt.Errorf("record %d follows record %d in one batch: %w",
				recs[i].Index, recs[i-1].Index, port.ErrBadIndex))
		}
	}

	// Encode outside the write transaction. buf holds every value, each
	// preceded by room for its checksum; ends[i] is where record i ends,
	// msgs[i] where history message i lies, with room for its Seq and the
	// checksum of its folded value.
	buf := make([]byte, 0, 128*len(recs)+192*len(b.History))
	ends := make([]int, 0, len(recs))
	for _, r := range recs {
		buf = append(buf, 0, 0, 0, 0)
		buf = kernel.AppendRecord(buf, r)
		ends = append(ends, len(buf))
	}
	msgs := make([]journalMsg, len(b.History))
	for i, h := range b.History {
		payload, err := kernel.MarshalSignalingInfo(h.Info)
		if err != nil {
			return storeError(s.path, "append", fmt.Errorf("history message %d: %w", i, err))
		}
		name := h.Conv.String()
		if len(name) == 0 || len(name) > bbolt.MaxKeySize {
			return storeError(s.path, "append", fmt.Errorf("history message %d: conversation name of %d bytes (1..%d)",
				i, len(name), bbolt.MaxKeySize))
		}
		m := journalMsg{conv: []byte(name), start: len(buf)}
		buf = append(buf, 0, 0, 0, 0)
		buf = binary.AppendUvarint(buf, uint64(len(name)))
		buf = append(buf, name...)
		m.seqAt = len(buf)
		buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
		buf = appendHistory(buf, h.Sender, h.At, payload)
		m.end = len(buf)
		msgs[i] = m
	}
	var calls entryBuilder // the calls entries of the batch's closed calls
	calls.addCalls(b.Closed)
	record := func(i int) []byte {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		return buf[start:ends[i]]
	}

	return s.update("append", func(tx *bbolt.Tx, p *pending) error {
		if len(recs) > 0 {
			lb := tx.Bucket(bucketLog)
			if last := lb.Sequence(); recs[0].Index != last+1 {
				return fmt.Errorf("record %d does not follow the last record, %d: %w", recs[0].Index, last, port.ErrBadIndex)
			}
			lb.FillPercent = 1 // keys only grow: fill pages
			for i, r := range recs {
				k := u64key(r.Index)
				v := record(i)
				sealFrame(v, bucketLog, k)
				if err := lb.Put(k, v); err != nil {
					return fmt.Errorf("record %d: %w", r.Index, err)
				}
			}
			if err := lb.SetSequence(recs[len(recs)-1].Index); err != nil {
				return err
			}
		}
		if err := putKept(tx, &b); err != nil {
			return err
		}
		if len(msgs) == 0 && len(b.Closed) == 0 {
			return nil
		}
		hb, jb := tx.Bucket(bucketHistory), tx.Bucket(bucketJournal)
		jb.FillPercent = 1 // keys only grow: fill pages
		// next is the next Seq of each conversation in this batch.
		next := make(map[string]uint64, len(msgs))
		key := jb.Sequence()
		p.adds = make([]journalAdd, 0, len(msgs))
		for _, m := range msgs {
			seq, ok := next[string(m.conv)]
			if !ok {
				if cj := s.idx.convs[string(m.conv)]; cj != nil {
					seq = cj.next()
				} else {
					folded, err := foldedSeq(hb, m.conv)
					if err != nil {
						return err
					}
					seq = folded + 1
				}
			}
			next[string(m.conv)] = seq + 1
			key++
			seqKey := buf[m.seqAt : m.seqAt+8]
			binary.BigEndian.PutUint64(seqKey, seq)
			sealFrame(buf[m.seqAt+8:m.end], m.conv, seqKey)
			k, v := u64key(key), buf[m.start:m.end]
			sealFrame(v, bucketJournal, k)
			if err := jb.Put(k, v); err != nil {
				return fmt.Errorf("history message of conversation %q: %w", m.conv, err)
			}
			p.adds = append(p.adds, journalAdd{conv: string(m.conv), seq: seq, key: key})
		}
		for _, span := range calls.spans {
			key++
			k, v := u64key(key), calls.value(span)
			sealFrame(v, bucketJournal, k)
			if err := jb.Put(k, v); err != nil {
				return fmt.Errorf("closed calls: %w", err)
			}
			p.newCalls = append(p.newCalls, callAdd{key: key, calls: b.Closed[span.first : span.first+span.n],
				offs: calls.offs[span.first : span.first+span.n]})
		}
		if err := jb.SetSequence(key); err != nil {
			return err
		}
		if s.idx.n+len(p.adds) >= s.journalLimit {
			if _, err := fold(tx, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// SaveSnapshot stores snapshot as covering every record up to and
// including index, replacing the previous snapshot, and deletes those
// records, in one transaction. index must be at least the current
// snapshot's and at most the last appended record's; else
// port.ErrBadIndex.
// The same transaction folds the journal into the per-conversation
// history (see fold): the runtime saves a snapshot every so many records,
// so this is where the journal is usually emptied.
func (s *Store) SaveSnapshot(index uint64, snapshot []byte) error {
	k := u64key(index)
	v := appendFrame(make([]byte, 0, frameOverhead+len(snapshot)), bucketSnapshot, k, snapshot)
	return s.update("save snapshot", func(tx *bbolt.Tx, p *pending) error {
		sb, lb := tx.Bucket(bucketSnapshot), tx.Bucket(bucketLog)
		if cur := sb.Sequence(); index < cur {
			return fmt.Errorf("snapshot at %d is behind the stored one at %d: %w", index, cur, port.ErrBadIndex)
		}
		if last := lb.Sequence(); index > last {
			return fmt.Errorf("snapshot at %d is past the last record, %d: %w", index, last, port.ErrBadIndex)
		}
		if err := deleteKeys(sb, ^uint64(0)); err != nil {
			return err
		}
		if err := sb.Put(k, v); err != nil {
			return err
		}
		if err := sb.SetSequence(index); err != nil {
			return err
		}
		if err := deleteKeys(lb, index); err != nil {
			return err
		}
		_, err := fold(tx, p)
		return err
	})
}

// deleteKeys deletes every entry of b whose key is at most max.
func deleteKeys(b *bbolt.Bucket, max uint64) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if n, ok := keyU64(k); ok && n > max {
			break
		}
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Load returns the snapshot (nil and index 0 if none) and every record
// after it, in Index order. Each is verified (checksum, encoding, Index
// continuity up to the last appended record); any damage gives an error
// wrapping ErrCorrupt that names the record, never a partial result.
func (s *Store) Load() (snapshotIndex uint64, snapshot []byte, records []kernel.Record, err error) {
	err = s.view("load", func(tx *bbolt.Tx) error {
		index, snap, _, err := readSnapshot(tx)
		if err != nil {
			return err
		}
		if n := tx.Bucket(bucketLog).Sequence() - index; n < 1<<20 {
			records = make([]kernel.Record, 0, n)
		}
		snapshotIndex, snapshot = index, snap
		return readLog(tx, index, func(r kernel.Record) { records = append(records, r) })
	})
	if err != nil {
		return 0, nil, nil, err
	}
	return snapshotIndex, snapshot, records, nil
}

// History lists the messages of conv with Seq > after, oldest first, at
// most limit of them (limit <= 0: all), wherever they are stored: folded
// into the conversation's bucket, still in the journal, or partly both. A
// conversation with no messages gives none and no error. Each message is
// verified; damage gives an error wrapping ErrCorrupt. While a write
// commits, History waits for it before it begins (at most one commit).
func (s *Store) History(conv kernel.Conversation, after uint64, limit int) ([]port.HistoryMessage, error) {
	name := []byte(conv.String())
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return nil, storeError(s.path, "history", err)
	}
	var out []port.HistoryMessage
	err := guarded(func() error {
		if err := s.loadIndex(false); err != nil {
			return err
		}
		tx, cj, err := s.beginRead(name)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		out, err = readHistory(tx, name, cj, after, limit)
		return err
	})
	if err != nil {
		return nil, storeError(s.path, "history", err)
	}
	return out, nil
}

// readHistory reads History's messages of conversation name in tx, where
// cj is the conversation's part of the journal index as of tx.
func readHistory(tx *bbolt.Tx, name []byte, cj convJournal, after uint64, limit int) ([]port.HistoryMessage, error) {
	hb := tx.Bucket(bucketHistory)
	folded, err := foldedSeq(hb, name)
	if err != nil {
		return nil, err
	}
	if len(cj.keys) > 0 && cj.first != folded+1 {
		return nil, corruptf("the journal continues %q at message %d, but its folded history ends at %d", name, cj.first, folded)
	}
	last := folded + uint64(len(cj.keys))
	if after >= last {
		return nil, nil
	}
	n := last - after
	if limit > 0 && uint64(limit) < n {
		n = uint64(limit)
	}
	out := make([]port.HistoryMessage, 0, min(n, 1024))
	want := after + 1
	if want <= folded {
		c := hb.Bucket(name).Cursor()
		for k, v := c.Seek(u64key(want)); uint64(len(out)) < n && want <= folded; k, v = c.Next() {
			if seq, ok := keyU64(k); !ok || seq != want || v == nil {
				return nil, corruptf("history message %d of %q is missing", want, name)
			}
			m, err := decodeMessage(name, k, v)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
			want++
		}
	}
	if uint64(len(out)) == n {
		return out, nil
	}
	jb := tx.Bucket(bucketJournal)
	if jb == nil {
		return nil, corruptf("bucket %q is missing", bucketJournal)
	}
	for uint64(len(out)) < n {
		key := cj.keys[want-cj.first]
		k := u64key(key)
		v := jb.Get(k)
		if v == nil {
			return nil, corruptf("journal entry %d, message %d of %q, is missing", key, want, name)
		}
		e, err := openJournal(k, v)
		switch {
		case err != nil:
			return nil, err
		case !bytes.Equal(e.conv, name) || e.seq != want:
			return nil, corruptf("journal entry %d holds message %d of %q where message %d of %q belongs",
				key, e.seq, clip(e.conv), want, name)
		}
		m, err := decodeMessage(name, u64key(want), e.value)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
		want++
	}
	return out, nil
}

// Close closes the file and releases its lock. If this Store wrote
// anything, Close first commits one empty transaction, so that both bbolt
// meta pages describe the same data: after a clean Close, damage to either
// of them loses nothing. A Store that only read does not write at Close.
// Calls after Close, a second Close included, return port.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return storeError(s.path, "close", port.ErrClosed)
	}
	s.closed = true
	var err error
	if s.wrote.Load() && s.usableLocked() {
		err = guarded(func() error { return s.db.Update(func(*bbolt.Tx) error { return nil }) })
	}
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return storeError(s.path, "close", err)
	}
	return nil
}

// usableLocked reports whether no write has panicked.
func (s *Store) usableLocked() bool {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	return s.broken == nil
}
