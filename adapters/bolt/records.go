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

// Call records (REC-1, REC-2) take the way of history: Append writes a
// batch's closed calls as one entry of the journal (in the page the
// batch's messages dirty anyway), and a fold files each into the per-user
// buckets of "records", one entry per participant under its
// port.RecordCursor key, so that a user's newest records are the first
// keys of its bucket. Records reads a user's filed records from its bucket
// (a seek, then one key per record) and scans the journal for the rest.
// A store of schema 3 kept the calls not filed yet in a bucket "calls" of
// their own: it is read as it is, and its first write files them (migrate).

// WithRecordRetention sets how many call records the store keeps per user
// and for how long (port.Retention; zero fields mean port's defaults,
// DefaultRecordsPerUser and DefaultRecordMaxAge). Retention applies as a
// fold files records into their users' buckets, and to what Records lists.
func WithRecordRetention(r port.Retention) Option {
	return func(o *options) { o.retention = r.WithDefaults() }
}

// appendCalls appends the payload of the journal entry of a batch's
// closed calls: a zero byte (where a message's entry has its
// conversation's name length, never zero), then each call as its close
// time (varint Unix ns: what a reader needs of every call, without
// decoding it), a uvarint length and its kernel.AppendClosedCall bytes.
func appendCalls(dst []byte, calls []kernel.ClosedCall) []byte {
	dst = append(dst, 0)
	var one []byte
	for i := range calls {
		one = kernel.AppendClosedCall(one[:0], &calls[i])
		dst = binary.AppendVarint(dst, calls[i].Closed)
		dst = binary.AppendUvarint(dst, uint64(len(one)))
		dst = append(dst, one...)
	}
	return dst
}

// unfiled is what unfiledCalls read: the close time of the newest call,
// and the calls it was asked to decode.
type unfiled struct {
	calls  []kernel.ClosedCall
	raw    [][]byte // calls[i]'s encoding, aliasing the journal's pages (only in the transaction that read it)
	newest int64    // if has
	has    bool
}

func (u *unfiled) saw(closed int64) {
	if !u.has || closed > u.newest {
		u.newest, u.has = closed, true
	}
}

// decodeCalls reads the calls of the journal entry under key k (its
// payload after the zero byte) into u, decoding those whose encoding
// decode is nil or true for.
func decodeCalls(u *unfiled, k, p []byte, decode func(call []byte) bool) error {
	key, _ := keyU64(k)
	if len(p) == 0 {
		return badJournal(k)
	}
	for len(p) > 0 {
		closed, n := binary.Varint(p)
		if n <= 0 {
			return badJournal(k)
		}
		p = p[n:]
		l, n := binary.Uvarint(p)
		if n <= 0 || l == 0 || l > uint64(len(p)-n) {
			return badJournal(k)
		}
		b := p[n : n+int(l)]
		p = p[n+int(l):]
		u.saw(closed)
		if decode != nil && !decode(b) {
			continue
		}
		c, err := kernel.DecodeClosedCall(b)
		switch {
		case err != nil:
			return fmt.Errorf("%w: closed call in journal entry %d: %w", ErrCorrupt, key, err)
		case c.Closed != closed:
			return corruptf("closed call %q in journal entry %d closed at %d, listed at %d", clip([]byte(c.InviteID)), key, c.Closed, closed)
		}
		u.calls = append(u.calls, c)
		u.raw = append(u.raw, b)
	}
	return nil
}

// unfiledCalls reads the closed calls not filed into records yet: those of
// a schema 3 store's bucket "calls", then the journal's, in journal order.
// It decodes and checks every call of the bucket, and of the journal those
// whose encoding decode is nil or true for; of the others it reads the
// close time only. It reads only the journal's call entries (a message's
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

// fileCalls files calls (the journal's, as fold takes them out of it, or a
// schema 3 store's bucket "calls") into the records of their participants
// and applies retention to each user it touched, in tx. raw, if not nil,
// holds each call's kernel.AppendClosedCall encoding (the journal's bytes:
// filed as they are, not encoded again). A call is filed once (fold and
// migrate take it out of where it was in the same transaction), so a
// record's key is new to its user's bucket, whose sequence counts it.
func fileCalls(tx *bbolt.Tx, calls []kernel.ClosedCall, raw [][]byte, r port.Retention) error {
	if len(calls) == 0 {
		return nil
	}
	rb := tx.Bucket(bucketRecords)
	u := unfiled{calls: calls}
	for _, c := range calls {
		u.saw(c.Closed)
	}
	newest, _, err := newestOf(tx, u)
	if err != nil {
		return err
	}
	touched := map[string]*bbolt.Bucket{}
	// Keys and values go into large chunks, not one allocation each: bbolt
	// holds them until the commit, and the journal's pages that raw
	// aliases are freed before it.
	var slab, payload []byte
	for i := range calls {
		call := &calls[i]
		if raw != nil {
			payload = raw[i]
		} else {
			payload = kernel.AppendClosedCall(payload[:0], call)
		}
		slab = roomIn(slab, 17+len(call.InviteID))
		at := len(slab)
		slab = cursorOf(call).AppendKey(slab)
		key := slab[at:len(slab):len(slab)]
		for u := range call.Participants {
			ub := touched[u]
			if ub == nil {
				if ub, err = rb.CreateBucketIfNotExists([]byte(u)); err != nil {
					return fmt.Errorf("%w: records of %q: %w", ErrCorrupt, clip([]byte(u)), err)
				}
				ub.FillPercent = 1 // pages full where the fold inserts: a third fewer pages written
				touched[u] = ub
			}
			slab = roomIn(slab, frameOverhead+len(payload))
			at := len(slab)
			slab = appendFrame(slab, []byte(u), key, payload)
			if err := ub.Put(key, slab[at:len(slab):len(slab)]); err != nil {
				return err
			}
			if err := ub.SetSequence(ub.Sequence() + 1); err != nil { // its sequence counts its records
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
	return rb.Put(newestKey, u64key(uint64(newest)))
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
// (a seek, then one key per record) and the calls not filed yet (it scans
// the journal: at most about the journal limit of entries). A user with
// more than MaxPerUser records filed and not is listed its MaxPerUser
// newest: the rest go at the next fold.
func (s *Store) Records(user string, after port.RecordCursor, limit int) ([]port.CallRecord, error) {
	var out []port.CallRecord
	err := s.view("records", func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketRecords) == nil { // a store of schema 1 or 2: no records yet
			return nil
		}
		name := []byte(user)
		u, err := unfiledCalls(tx, func(call []byte) bool { return bytes.Contains(call, name) })
		if err != nil {
			return err
		}
		newest, _, err := newestOf(tx, u)
		if err != nil {
			return err
		}
		cutoff := s.retention.Cutoff(newest)
		fresh := freshRecords(u.calls, user)
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
