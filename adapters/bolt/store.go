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

// Store is a beckon.Store kept in one bbolt file. It is safe for
// concurrent use: writes (Append, SaveSnapshot) are serialised by bbolt,
// reads (Load, History, Check) run beside them on consistent views.
type Store struct {
	mu     sync.RWMutex // Close holds it for writing, every other call for reading
	db     *bbolt.DB
	file   *os.File // the descriptor bbolt uses
	path   string
	closed bool

	bmu    sync.Mutex
	broken error // set when a write panicked: the store refuses further calls

	wrote atomic.Bool // a write transaction committed
}

// Path returns the path the store was opened at.
func (s *Store) Path() string { return s.path }

// usable returns the error a call gets on a closed or broken store.
func (s *Store) usable() error {
	if s.closed {
		return ErrClosed
	}
	s.bmu.Lock()
	defer s.bmu.Unlock()
	if s.broken != nil {
		return fmt.Errorf("%w: an earlier write failed: %w", ErrClosed, s.broken)
	}
	return nil
}

// update runs fn in a write transaction, committed and fsynced on success.
func (s *Store) update(op string, fn func(*bbolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return storeError(s.path, op, err)
	}
	err := guarded(func() error { return s.db.Update(fn) })
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

// Append makes a batch durable in one bbolt transaction: its records under
// their Index in the log, its history messages each under the next Seq of
// its conversation. It returns once the transaction is committed and
// fsynced, or an error and nothing written. The first record must carry
// the Index after the last one ever appended (1 for a new store) and the
// others follow it without gaps; else ErrBadIndex. Concurrent calls are
// safe and are applied one after the other.
func (s *Store) Append(b port.Batch) error {
	recs := b.Records
	if len(recs) == 0 && len(b.History) == 0 {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if err := s.usable(); err != nil {
			return storeError(s.path, "append", err)
		}
		return nil
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].Index != recs[i-1].Index+1 {
			return storeError(s.path, "append", fmt.Errorf("%w: record %d follows record %d in one batch",
				ErrBadIndex, recs[i].Index, recs[i-1].Index))
		}
	}

	// Encode outside the write transaction. buf holds every value, each
	// preceded by room for its checksum; ends[i] is where value i ends.
	buf := make([]byte, 0, 128*(len(recs)+len(b.History)))
	ends := make([]int, 0, len(recs)+len(b.History))
	for _, r := range recs {
		buf = append(buf, 0, 0, 0, 0)
		buf = kernel.AppendRecord(buf, r)
		ends = append(ends, len(buf))
	}
	convs := make([][]byte, len(b.History))
	for i, h := range b.History {
		payload, err := kernel.MarshalSignalingInfo(h.Info)
		if err != nil {
			return storeError(s.path, "append", fmt.Errorf("history message %d: %w", i, err))
		}
		convs[i] = []byte(h.Conv.String())
		buf = append(buf, 0, 0, 0, 0)
		buf = appendHistory(buf, h.Sender, h.At, payload)
		ends = append(ends, len(buf))
	}
	value := func(i int) []byte {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		return buf[start:ends[i]]
	}
	seal := func(v, domain, key []byte) []byte {
		binary.BigEndian.PutUint32(v, checksum(domain, key, v[frameOverhead:]))
		return v
	}

	return s.update("append", func(tx *bbolt.Tx) error {
		if len(recs) > 0 {
			lb := tx.Bucket(bucketLog)
			if last := lb.Sequence(); recs[0].Index != last+1 {
				return fmt.Errorf("%w: record %d does not follow the last record, %d", ErrBadIndex, recs[0].Index, last)
			}
			lb.FillPercent = 1 // keys only grow: fill pages
			for i, r := range recs {
				k := u64key(r.Index)
				if err := lb.Put(k, seal(value(i), bucketLog, k)); err != nil {
					return fmt.Errorf("record %d: %w", r.Index, err)
				}
			}
			if err := lb.SetSequence(recs[len(recs)-1].Index); err != nil {
				return err
			}
		}
		hb := tx.Bucket(bucketHistory)
		buckets := make(map[string]*bbolt.Bucket)
		for i := range b.History {
			cb := buckets[string(convs[i])]
			if cb == nil {
				var err error
				if cb, err = hb.CreateBucketIfNotExists(convs[i]); err != nil {
					return fmt.Errorf("conversation %q: %w", convs[i], err)
				}
				cb.FillPercent = 1
				buckets[string(convs[i])] = cb
			}
			seq, err := cb.NextSequence()
			if err != nil {
				return err
			}
			k := u64key(seq)
			if err := cb.Put(k, seal(value(len(recs)+i), convs[i], k)); err != nil {
				return fmt.Errorf("conversation %q: %w", convs[i], err)
			}
		}
		return nil
	})
}

// SaveSnapshot stores snapshot as covering every record up to and
// including index, replacing the previous snapshot, and deletes those
// records, in one transaction. index must be at least the current
// snapshot's and at most the last appended record's; else ErrBadIndex.
func (s *Store) SaveSnapshot(index uint64, snapshot []byte) error {
	k := u64key(index)
	v := appendFrame(make([]byte, 0, frameOverhead+len(snapshot)), bucketSnapshot, k, snapshot)
	return s.update("save snapshot", func(tx *bbolt.Tx) error {
		sb, lb := tx.Bucket(bucketSnapshot), tx.Bucket(bucketLog)
		if cur := sb.Sequence(); index < cur {
			return fmt.Errorf("%w: snapshot at %d is behind the stored one at %d", ErrBadIndex, index, cur)
		}
		if last := lb.Sequence(); index > last {
			return fmt.Errorf("%w: snapshot at %d is past the last record, %d", ErrBadIndex, index, last)
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
		return deleteKeys(lb, index)
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
// most limit of them (limit <= 0: all). A conversation with no messages
// gives none and no error. Each message is verified; damage gives an error
// wrapping ErrCorrupt.
func (s *Store) History(conv kernel.Conversation, after uint64, limit int) ([]port.HistoryMessage, error) {
	name := []byte(conv.String())
	var out []port.HistoryMessage
	err := s.view("history", func(tx *bbolt.Tx) error {
		hb := tx.Bucket(bucketHistory)
		cb := hb.Bucket(name)
		if cb == nil {
			if hb.Get(name) != nil {
				return corruptf("history holds a value under %q where conversations are buckets", name)
			}
			return nil
		}
		last := cb.Sequence()
		if after >= last {
			return nil
		}
		n := last - after
		if limit > 0 && uint64(limit) < n {
			n = uint64(limit)
		}
		out = make([]port.HistoryMessage, 0, min(n, 1024))
		c := cb.Cursor()
		want := after + 1
		for k, v := c.Seek(u64key(want)); uint64(len(out)) < n; k, v = c.Next() {
			if seq, ok := keyU64(k); !ok || seq != want || v == nil {
				return corruptf("history message %d of %q is missing", want, name)
			}
			m, err := decodeMessage(name, k, v)
			if err != nil {
				return err
			}
			out = append(out, m)
			want++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Close closes the file and releases its lock. If this Store wrote
// anything, Close first commits one empty transaction, so that both bbolt
// meta pages describe the same data: after a clean Close, damage to either
// of them loses nothing. A Store that only read does not write at Close.
// Calls after Close, a second Close included, return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return storeError(s.path, "close", ErrClosed)
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
