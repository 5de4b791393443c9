package bolt

import (
	"slices"

	"github.com/beckonhq/beckon/port"
	bbolt "go.etcd.io/bbolt"
)

// WithRecordRetention sets how many call records the store keeps per user
// and for how long (port.Retention; zero fields mean port's defaults,
// DefaultRecordsPerUser and DefaultRecordMaxAge). Retention applies to
// what Records lists at once; a calls entry is deleted from the file once
// none of its calls is within retention for any of its participants (see
// doc.go, "Call records").
func WithRecordRetention(r port.Retention) Option {
	return func(o *options) { o.retention = r.WithDefaults() }
}

// Records lists user's call records after the cursor, newest first, at
// most limit (<= 0: all kept): see port.Store. It takes the user's refs
// after the cursor from the call index (a binary search), then reads the
// calls entries they point into, checking each entry's frame, and decodes
// the calls. A store of schema 3 or 4 that this session has not written
// to yet is read as it is (oldRecords). While a write commits, Records
// waits for it before it begins (at most one commit).
func (s *Store) Records(user string, after port.RecordCursor, limit int) ([]port.CallRecord, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return nil, storeError(s.path, "records", err)
	}
	var out []port.CallRecord
	err := guarded(func() error {
		if err := s.loadIndex(true); err != nil {
			return err
		}
		tx, w, err := s.beginRecords(user, after, limit)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		if w == nil {
			out, err = oldRecords(tx, user, after, limit, s.retention)
		} else {
			out, err = w.read(tx, user, after, limit)
		}
		return err
	})
	if err != nil {
		return nil, storeError(s.path, "records", err)
	}
	return out, nil
}

// beginRecords begins a read transaction and copies from the call index,
// as of that transaction, what Records needs of user's refs; w is nil for
// a store of an older schema (no call index).
func (s *Store) beginRecords(user string, after port.RecordCursor, limit int) (*bbolt.Tx, *recordsWindow, error) {
	s.imu.RLock()
	defer s.imu.RUnlock()
	tx, err := s.db.Begin(false)
	if err != nil || s.schema < SchemaVersion {
		return tx, nil, err
	}
	return tx, s.calls.window(user, after, limit, s.retention), nil
}

// recordsWindow is a copy of the refs of one user that a Records call may
// list, oldest first, with where each call lies.
type recordsWindow struct {
	refs []windowRef
	// With more than MaxPerUser refs, the oldest kept are closed at edge,
	// and of those closed at edge only the quota first in listing order
	// are within retention.
	edge  int64
	quota int
	cut   bool
}

type windowRef struct {
	closed  int64
	key     uint64
	off     uint32
	journal bool
}

// window copies user's refs that Records(user, after, limit) may list: those
// within retention r (see recordsWindow), not newer than the cursor, and
// of them the limit newest past the cursor's close time, with every ref
// closed at the same time as the oldest of those (only their calls tell
// their order).
func (x *callIndex) window(user string, after port.RecordCursor, limit int, r port.Retention) *recordsWindow {
	w := &recordsWindow{}
	u := x.users[user]
	if u == nil {
		return w
	}
	refs := u.refs
	n := len(refs)
	lo := lowerClosed(refs, r.Cutoff(x.newest))
	if n > r.MaxPerUser {
		w.edge, w.cut = refs[n-r.MaxPerUser].closed, true
		w.quota = r.MaxPerUser - (n - upperClosed(refs, w.edge))
		lo = max(lo, lowerClosed(refs, w.edge))
	}
	hi, past := n, n // refs[past:hi] are closed when the cursor is
	if !after.IsZero() {
		hi, past = upperClosed(refs, after.Closed), lowerClosed(refs, after.Closed)
	}
	start := lo
	if limit > 0 && past-limit > lo {
		start = past - limit
		for start > lo && refs[start-1].closed == refs[start].closed {
			start--
		}
	}
	if start >= hi {
		return w
	}
	w.refs = make([]windowRef, hi-start)
	for i, ref := range refs[start:hi] {
		e := x.entries[ref.entry]
		w.refs[i] = windowRef{closed: ref.closed, key: e.key, off: ref.off, journal: e.journal}
	}
	return w
}

// read reads and decodes the records of w's refs in tx, newest first, past
// the cursor, at most limit (<= 0: all).
func (w *recordsWindow) read(tx *bbolt.Tx, user string, after port.RecordCursor, limit int) ([]port.CallRecord, error) {
	if len(w.refs) == 0 {
		return nil, nil
	}
	var rd entryReader
	rd.init(tx)
	out := make([]port.CallRecord, 0, min(len(w.refs), 1024))
	var group []port.CallRecord
	for i := len(w.refs); i > 0 && (limit <= 0 || len(out) < limit); {
		closed := w.refs[i-1].closed
		j := i - 1
		for j > 0 && w.refs[j-1].closed == closed {
			j--
		}
		group = group[:0]
		for _, ref := range w.refs[j:i] {
			r, err := rd.record(user, ref)
			if err != nil {
				return nil, err
			}
			group = append(group, r)
		}
		i = j
		if len(group) > 1 {
			slices.SortFunc(group, func(a, b port.CallRecord) int { return a.Cursor().Compare(b.Cursor()) })
		}
		if w.cut && closed == w.edge {
			group = group[:min(len(group), max(w.quota, 0))]
		}
		for _, r := range group {
			if !after.IsZero() && r.Cursor().Compare(after) <= 0 {
				continue
			}
			if limit > 0 && len(out) == limit {
				break
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// entryReader reads calls out of calls entries in one transaction,
// checking each entry's frame once.
type entryReader struct {
	cl, jb *bbolt.Bucket
	key    uint64 // of the entry last read
	v      []byte // its value, checked
}

func (rd *entryReader) init(tx *bbolt.Tx) {
	rd.cl, rd.jb = tx.Bucket(bucketCallLog), tx.Bucket(bucketJournal)
}

// record decodes the call ref points at into user's record.
func (rd *entryReader) record(user string, ref windowRef) (port.CallRecord, error) {
	domain, b := bucketCallLog, rd.cl
	if ref.journal {
		domain, b = bucketJournal, rd.jb
	}
	k := u64key(ref.key)
	if rd.v == nil || rd.key != ref.key {
		v := b.Get(k)
		if v == nil {
			return port.CallRecord{}, corruptf("%s entry %d, which records of %q point into, is missing", domain, ref.key, clip([]byte(user)))
		}
		if p, ok := openFrame(domain, k, v); !ok || len(p) < 2 || p[0] != 0 {
			return port.CallRecord{}, badCallEntry(domain, k)
		}
		rd.key, rd.v = ref.key, v
	}
	var closed int64
	var call []byte
	n := 0
	if int(ref.off) < len(rd.v) {
		closed, call, n = nextCall(rd.v[ref.off:])
	}
	if n == 0 || closed != ref.closed {
		return port.CallRecord{}, corruptf("%s entry %d holds no call closed at %d at offset %d, where records of %q point",
			domain, ref.key, ref.closed, ref.off, clip([]byte(user)))
	}
	c, err := decodeCall(domain, k, closed, call)
	if err != nil {
		return port.CallRecord{}, err
	}
	o, ok := c.Outcome(user)
	if !ok {
		return port.CallRecord{}, corruptf("call %q in %s entry %d is listed among the records of %q, who took no part in it",
			clip([]byte(c.InviteID)), domain, ref.key, clip([]byte(user)))
	}
	return port.CallRecord{User: user, Outcome: o, Call: c}, nil
}
