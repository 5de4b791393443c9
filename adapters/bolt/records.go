package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	bbolt "go.etcd.io/bbolt"
)

// Call records (REC-1, REC-2) take the way of history: Append writes each
// closed call once, under the next key of bucket "calls" (one page dirtied
// per commit however many users it touches), and a fold moves each into
// the per-user buckets of "records", one entry per participant under its
// port.RecordCursor key, so that a user's newest records are the first
// keys of its bucket. Every call in "calls" closed in a batch that also
// wrote a history message (the closing one), so "calls" never holds more
// than the journal: at most the journal limit. Records reads a user's
// folded records from its bucket (a seek, then one key per record) and
// scans "calls" for the rest.

// WithRecordRetention sets how many call records the store keeps per user
// and for how long (port.Retention; zero fields mean port's defaults,
// DefaultRecordsPerUser and DefaultRecordMaxAge). Retention applies as a
// fold moves records into their users' buckets, and to what Records lists.
func WithRecordRetention(r port.Retention) Option {
	return func(o *options) { o.retention = r.WithDefaults() }
}

// putCalls appends the batch's closed calls to bucket "calls".
func putCalls(tx *bbolt.Tx, calls []kernel.ClosedCall) error {
	if len(calls) == 0 {
		return nil
	}
	cb := tx.Bucket(bucketCalls)
	cb.FillPercent = 1 // keys only grow: fill pages
	key := cb.Sequence()
	for i := range calls {
		key++
		k := u64key(key)
		v := appendFrame(nil, bucketCalls, k, kernel.AppendClosedCall(nil, &calls[i]))
		if err := cb.Put(k, v); err != nil {
			return fmt.Errorf("closed call %q: %w", calls[i].InviteID, err)
		}
	}
	return cb.SetSequence(key)
}

// openCall checks and decodes a value of "calls", or a user's record.
func openCall(domain, k, v []byte) (kernel.ClosedCall, error) {
	p, ok := openFrame(domain, k, v)
	if !ok {
		return kernel.ClosedCall{}, corruptf("closed call under %x in %q: checksum mismatch", clip(k), clip(domain))
	}
	c, err := kernel.DecodeClosedCall(p)
	if err != nil {
		return kernel.ClosedCall{}, fmt.Errorf("closed call under %x in %q: %w", clip(k), clip(domain), err)
	}
	return c, nil
}

func cursorOf(c *kernel.ClosedCall) port.RecordCursor {
	return port.RecordCursor{Closed: c.Closed, InviteID: c.InviteID, Index: c.Index}
}

// newestKey is the key in bucket "records" of the close time of the
// newest call folded (int64 big-endian, as uint64); user buckets are the
// rest.
var newestKey = []byte("\x00newest")

// newestOf returns the close time of the newest call the store holds.
func newestOf(tx *bbolt.Tx) (int64, bool, error) {
	newest, has := int64(0), false
	if v := tx.Bucket(bucketRecords).Get(newestKey); v != nil {
		n, ok := keyU64(v)
		if !ok {
			return 0, false, corruptf("the newest close time in %q is malformed", bucketRecords)
		}
		newest, has = int64(n), true
	}
	c := tx.Bucket(bucketCalls).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		call, err := openCall(bucketCalls, k, v)
		if err != nil {
			return 0, false, err
		}
		if !has || call.Closed > newest {
			newest, has = call.Closed, true
		}
	}
	return newest, has, nil
}

// foldCalls moves every call of "calls" into the records of its
// participants, applies retention to each user it touched, and empties
// "calls", in tx.
func foldCalls(tx *bbolt.Tx, r port.Retention) error {
	cb, rb := tx.Bucket(bucketCalls), tx.Bucket(bucketRecords)
	if cb.Stats().KeyN == 0 {
		return nil
	}
	newest, has, err := newestOf(tx)
	if err != nil || !has {
		return err
	}
	touched := map[string]*bbolt.Bucket{}
	c := cb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		call, err := openCall(bucketCalls, k, v)
		if err != nil {
			return err
		}
		key := cursorOf(&call).AppendKey(nil)
		p, _ := openFrame(bucketCalls, k, v)
		for u := range call.Participants {
			ub := touched[u]
			if ub == nil {
				if ub, err = rb.CreateBucketIfNotExists([]byte(u)); err != nil {
					return fmt.Errorf("%w: records of %q: %w", ErrCorrupt, clip([]byte(u)), err)
				}
				touched[u] = ub
			}
			if ub.Get(key) == nil {
				if err := ub.SetSequence(ub.Sequence() + 1); err != nil { // its sequence counts its records
					return err
				}
			}
			if err := ub.Put(key, appendFrame(nil, []byte(u), key, p)); err != nil {
				return err
			}
		}
	}
	cutoff := r.Cutoff(newest)
	for _, ub := range touched {
		if err := trim(ub, r.MaxPerUser, cutoff); err != nil {
			return err
		}
	}
	if err := rb.Put(newestKey, u64key(uint64(newest))); err != nil {
		return err
	}
	seq := cb.Sequence()
	if err := tx.DeleteBucket(bucketCalls); err != nil {
		return err
	}
	nb, err := tx.CreateBucket(bucketCalls)
	if err != nil {
		return err
	}
	return nb.SetSequence(seq)
}

// trim deletes a user's oldest records (its last keys) beyond max and
// those that closed before cutoff.
func trim(ub *bbolt.Bucket, max int, cutoff int64) error {
	n := ub.Sequence()
	c := ub.Cursor()
	for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
		if n <= uint64(max) && closedOfKey(k) >= cutoff {
			break
		}
		if err := c.Delete(); err != nil {
			return err
		}
		n--
	}
	return ub.SetSequence(n)
}

// closedOfKey reads the close time out of a record key.
func closedOfKey(k []byte) int64 {
	if len(k) < 8 {
		return 0
	}
	return int64(^binary.BigEndian.Uint64(k) ^ 1<<63)
}

// Records lists user's call records after the cursor, newest first, at
// most limit (<= 0: all kept): see port.Store. It reads the user's bucket
// (a seek, then one key per record) and scans the calls not folded yet (at
// most about the journal limit). A user with more than MaxPerUser records
// folded and not is listed its MaxPerUser newest: the rest go at the next
// fold.
func (s *Store) Records(user string, after port.RecordCursor, limit int) ([]port.CallRecord, error) {
	var out []port.CallRecord
	err := s.view("records", func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketCalls) == nil { // a store of an older schema: no records yet
			return nil
		}
		newest, _, err := newestOf(tx)
		if err != nil {
			return err
		}
		cutoff := s.retention.Cutoff(newest)
		fresh := freshRecords(tx, user)
		folded := uint64(0)
		if ub := tx.Bucket(bucketRecords).Bucket([]byte(user)); ub != nil {
			folded = ub.Sequence()
		}
		if folded+uint64(len(fresh)) > uint64(s.retention.MaxPerUser) {
			all, err := mergeRecords(tx, user, fresh, port.RecordCursor{}, s.retention.MaxPerUser, cutoff)
			if err != nil {
				return err
			}
			if len(all) == s.retention.MaxPerUser {
				last := all[len(all)-1].Cursor()
				kept := fresh[:0:0]
				for _, r := range fresh {
					if r.Cursor().Compare(last) <= 0 {
						kept = append(kept, r)
					}
				}
				out, err = mergeRecords(tx, user, kept, after, limit, cutoff)
				for i, r := range out {
					if r.Cursor().Compare(last) > 0 {
						out = out[:i]
						break
					}
				}
				return err
			}
		}
		out, err = mergeRecords(tx, user, fresh, after, limit, cutoff)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// freshRecords returns user's records among the calls not folded yet, in
// listing order (their frames were checked by newestOf).
func freshRecords(tx *bbolt.Tx, user string) []port.CallRecord {
	var fresh []port.CallRecord
	c := tx.Bucket(bucketCalls).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		call, _ := openCall(bucketCalls, k, v)
		if o, ok := call.Outcome(user); ok {
			fresh = append(fresh, port.CallRecord{User: user, Outcome: o, Call: call})
		}
	}
	slices.SortFunc(fresh, func(a, b port.CallRecord) int { return a.Cursor().Compare(b.Cursor()) })
	return fresh
}

// mergeRecords merges user's folded records with fresh, after the cursor,
// at most limit (<= 0: all), none closed before cutoff.
func mergeRecords(tx *bbolt.Tx, user string, fresh []port.CallRecord, after port.RecordCursor, limit int, cutoff int64) ([]port.CallRecord, error) {
	var out []port.CallRecord
	for len(fresh) > 0 && !after.IsZero() && fresh[0].Cursor().Compare(after) <= 0 {
		fresh = fresh[1:]
	}
	var ucur *bbolt.Cursor
	var k, v []byte
	if ub := tx.Bucket(bucketRecords).Bucket([]byte(user)); ub != nil {
		ucur = ub.Cursor()
		if after.IsZero() {
			k, v = ucur.First()
		} else {
			ak := after.AppendKey(nil)
			if k, v = ucur.Seek(ak); k != nil && bytes.Equal(k, ak) {
				k, v = ucur.Next()
			}
		}
	}
	for limit <= 0 || len(out) < limit {
		var next port.CallRecord
		switch {
		case k != nil && (len(fresh) == 0 || bytes.Compare(k, fresh[0].Cursor().AppendKey(nil)) < 0):
			call, err := openCall([]byte(user), k, v)
			if err != nil {
				return nil, err
			}
			o, ok := call.Outcome(user)
			if !ok || !bytes.Equal(k, cursorOf(&call).AppendKey(nil)) {
				return nil, corruptf("a record of %q under %x is not theirs or not under its key", clip([]byte(user)), clip(k))
			}
			next = port.CallRecord{User: user, Outcome: o, Call: call}
			k, v = ucur.Next()
		case len(fresh) > 0:
			next, fresh = fresh[0], fresh[1:]
		default:
			return out, nil
		}
		if next.Call.Closed < cutoff {
			return out, nil
		}
		out = append(out, next)
	}
	return out, nil
}

// verifyRecords checks every closed call and call record of tx.
func verifyRecords(tx *bbolt.Tx) error {
	cb, rb := tx.Bucket(bucketCalls), tx.Bucket(bucketRecords)
	if cb == nil && rb == nil {
		return nil // schema 1 or 2
	}
	if cb == nil || rb == nil {
		return corruptf("bucket %q or %q is missing", bucketCalls, bucketRecords)
	}
	if err := cb.ForEach(func(k, v []byte) error {
		if v == nil {
			return corruptf("a bucket %q inside %q", clip(k), bucketCalls)
		}
		_, err := openCall(bucketCalls, k, v)
		return err
	}); err != nil {
		return err
	}
	return rb.ForEach(func(user, v []byte) error {
		if v != nil {
			if bytes.Equal(user, newestKey) && len(v) == 8 {
				return nil
			}
			return corruptf("records holds a value under %q where users are buckets", clip(user))
		}
		ub := rb.Bucket(user)
		n := uint64(0)
		err := ub.ForEach(func(k, v []byte) error {
			call, err := openCall(user, k, v)
			if err != nil {
				return err
			}
			if _, ok := call.Outcome(string(user)); !ok || !bytes.Equal(k, cursorOf(&call).AppendKey(nil)) {
				return corruptf("a record of %q under %x is not theirs or not under its key", clip(user), clip(k))
			}
			n++
			return nil
		})
		if err == nil && n != ub.Sequence() {
			err = corruptf("%q has %d records, its count says %d", clip(user), n, ub.Sequence())
		}
		return err
	})
}
