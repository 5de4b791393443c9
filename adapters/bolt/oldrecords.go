package bolt

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	bbolt "go.etcd.io/bbolt"
)

// The call records of a store of schema 3 or 4, which a session that only
// reads leaves as they are: schema 4 filed each call at a fold into the
// per-user buckets of "records", one entry per participant under its
// port.RecordCursor key, so that a user's newest records are the first
// keys of its bucket; the calls not filed yet were in the journal (schema
// 4) or in a bucket "calls" (schema 3). The first write of a session
// migrates them into calllog (migrateRecords).

// unfiled is what unfiledCalls read: the close time of the newest call,
// and the calls it was asked to decode.
type unfiled struct {
	calls  []kernel.ClosedCall
	newest int64 // if has
	has    bool
}

func (u *unfiled) saw(closed int64) {
	if !u.has || closed > u.newest {
		u.newest, u.has = closed, true
	}
}

// decodeCalls reads the calls of the journal entry under key k (its
// payload after the zero byte) into u, decoding those whose encoding
// decode is true for.
func decodeCalls(u *unfiled, k, p []byte, decode func(call []byte) bool) error {
	return scanCalls(bucketJournal, k, p, func(_ uint32, closed int64, b []byte) error {
		u.saw(closed)
		if !decode(b) {
			return nil
		}
		c, err := decodeCall(bucketJournal, k, closed, b)
		if err != nil {
			return err
		}
		u.calls = append(u.calls, c)
		return nil
	})
}

// unfiledCalls reads the closed calls not filed into records yet: those of
// a schema 3 store's bucket "calls", then the journal's, in journal order.
// It decodes and checks every call of the bucket, and of the journal those
// whose encoding decode is true for; of the others it reads the close time
// only. It reads only the journal's call entries (a message's
// entry is skipped by its first byte).
func unfiledCalls(tx *bbolt.Tx, decode func(call []byte) bool) (unfiled, error) {
	var u unfiled
	calls, err := schema3Calls(tx)
	if err != nil {
		return u, err
	}
	for _, c := range calls {
		u.saw(c.Closed)
	}
	u.calls = calls
	c := tx.Bucket(bucketJournal).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(v) <= frameOverhead || v[frameOverhead] != 0 {
			continue // a message
		}
		e, err := openJournal(k, v)
		if err != nil {
			return u, err
		}
		if err := decodeCalls(&u, k, e.calls, decode); err != nil {
			return u, err
		}
	}
	return u, nil
}

// schema3Calls returns the calls of a schema 3 store's bucket "calls"
// (none if it has none).
func schema3Calls(tx *bbolt.Tx) ([]kernel.ClosedCall, error) {
	cb := tx.Bucket(bucketCalls)
	if cb == nil {
		return nil, nil
	}
	var calls []kernel.ClosedCall
	c := cb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		call, err := openCall(bucketCalls, k, v)
		if err != nil {
			return nil, err
		}
		calls = append(calls, call)
	}
	return calls, nil
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
// newest call filed (int64 big-endian, as uint64); user buckets are the
// rest.
var newestKey = []byte("\x00newest")

// newestOf returns the close time of the newest call the store holds:
// the newest filed, or of u.
func newestOf(tx *bbolt.Tx, u unfiled) (int64, bool, error) {
	if v := tx.Bucket(bucketRecords).Get(newestKey); v != nil {
		n, ok := keyU64(v)
		if !ok {
			return 0, false, corruptf("the newest close time in %q is malformed", bucketRecords)
		}
		u.saw(int64(n))
	}
	return u.newest, u.has, nil
}

// oldRecords lists user's call records in a store of schema 3 or 4 as
// Records does, with retention r. It reads the user's bucket (a seek, then
// one key per record) and the calls not filed yet (it scans the journal:
// at most about the journal limit of entries). A user with more than
// MaxPerUser records filed and not is listed its MaxPerUser newest.
func oldRecords(tx *bbolt.Tx, user string, after port.RecordCursor, limit int, r port.Retention) ([]port.CallRecord, error) {
	if tx.Bucket(bucketRecords) == nil { // a store of schema 1 or 2: no records yet
		return nil, nil
	}
	var out []port.CallRecord
	err := func() error {
		name := []byte(user)
		u, err := unfiledCalls(tx, func(call []byte) bool { return bytes.Contains(call, name) })
		if err != nil {
			return err
		}
		newest, _, err := newestOf(tx, u)
		if err != nil {
			return err
		}
		cutoff := r.Cutoff(newest)
		fresh := freshRecords(u.calls, user)
		folded := uint64(0)
		if ub := tx.Bucket(bucketRecords).Bucket([]byte(user)); ub != nil {
			folded = ub.Sequence()
		}
		if folded+uint64(len(fresh)) > uint64(r.MaxPerUser) {
			all, err := mergeRecords(tx, user, fresh, port.RecordCursor{}, r.MaxPerUser, cutoff)
			if err != nil {
				return err
			}
			if len(all) == r.MaxPerUser {
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
	}()
	if err != nil {
		return nil, err
	}
	return out, nil
}

// freshRecords returns user's records among the unfiled calls, in
// listing order.
func freshRecords(unfiled []kernel.ClosedCall, user string) []port.CallRecord {
	var fresh []port.CallRecord
	for _, call := range unfiled {
		if o, ok := call.Outcome(user); ok {
			fresh = append(fresh, port.CallRecord{User: user, Outcome: o, Call: call})
		}
	}
	slices.SortFunc(fresh, func(a, b port.CallRecord) int { return a.Cursor().Compare(b.Cursor()) })
	return fresh
}

// mergeRecords merges user's filed records with fresh, after the cursor,
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
// (The journal's calls are checked with the journal, by readJournal.)
func verifyRecords(tx *bbolt.Tx) error {
	cb, rb := tx.Bucket(bucketCalls), tx.Bucket(bucketRecords)
	if rb == nil {
		return nil // schema 1 or 2 (checkSchema checked which buckets each has)
	}
	if cb != nil { // schema 3
		if err := cb.ForEach(func(k, v []byte) error {
			if v == nil {
				return corruptf("a bucket %q inside %q", clip(k), bucketCalls)
			}
			_, err := openCall(bucketCalls, k, v)
			return err
		}); err != nil {
			return err
		}
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

// migrateRecords moves the call records of a schema 3 or 4 store into
// calllog, in tx (the first write's): each call once, although filed under
// each participant (it is taken from the bucket of the first participant
// that holds it), and the calls of a schema 3 store's bucket "calls"; as
// calls entries under keys taken from the journal's sequence. Then
// "records" and "calls" go. A schema 4 store's calls not filed yet are in
// the journal already, as calls entries that the next fold moves. The
// transaction holds all the entries until it commits: its memory grows
// with the records kept.
func migrateRecords(tx *bbolt.Tx) error {
	rb := tx.Bucket(bucketRecords)
	if rb == nil {
		return nil // schema 1 or 2: no records
	}
	var b entryBuilder
	if cb := tx.Bucket(bucketCalls); cb != nil {
		c := cb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			call, err := openCall(bucketCalls, k, v)
			if err != nil {
				return err
			}
			b.add(call.Closed, v[frameOverhead:])
		}
	}
	err := rb.ForEach(func(user, v []byte) error {
		if v != nil {
			if bytes.Equal(user, newestKey) {
				return nil
			}
			return corruptf("records holds a value under %q where users are buckets", clip(user))
		}
		c := rb.Bucket(user).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			call, err := openCall(user, k, v)
			if err != nil {
				return err
			}
			for name := range call.Participants {
				if name == string(user) {
					b.add(call.Closed, v[frameOverhead:])
					break
				}
				if ob := rb.Bucket([]byte(name)); ob != nil && ob.Get(k) != nil {
					break // taken from name's bucket
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	cl, jb := tx.Bucket(bucketCallLog), tx.Bucket(bucketJournal)
	cl.FillPercent = 1 // keys only grow: fill pages
	key := jb.Sequence()
	for _, s := range b.spans {
		key++
		k, v := u64key(key), b.value(s)
		sealFrame(v, bucketCallLog, k)
		if err := cl.Put(k, v); err != nil {
			return err
		}
	}
	if err := jb.SetSequence(key); err != nil {
		return err
	}
	if tx.Bucket(bucketCalls) != nil {
		if err := tx.DeleteBucket(bucketCalls); err != nil {
			return err
		}
	}
	return tx.DeleteBucket(bucketRecords)
}
