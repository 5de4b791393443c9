package bolt

import (
	"encoding/binary"
	"fmt"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	bbolt "go.etcd.io/bbolt"
)

// Call records (REC-1, REC-2) take the way of history: Append writes a
// batch's closed calls as one calls entry of the journal (in the page the
// batch's messages dirty anyway), and a fold moves each calls entry, whole,
// into "calllog" under the key it had in the journal: one Put per entry,
// at the end of the bucket. Nothing is filed per user: the call index
// (callIndex) finds each user's records, and Records reads only the
// entries they lie in.

// maxCallEntry bounds the payload of one calls entry: the calls of a batch
// that take more go into several entries (a call that takes more alone
// has one of its own). Records checks the frame of each entry it reads
// from, so this bounds the bytes it checks per record; a batch of the
// runtime's (16 calls of about 170 bytes under BenchmarkDurable's load)
// fits in one.
const maxCallEntry = 8 << 10

// callEntryHead is where a calls entry's first call begins in its value:
// after the checksum and the zero byte.
const callEntryHead = frameOverhead + 1

// entryBuilder builds calls entries: values with room for their checksum,
// one after the other in buf (a value, once closed, is never written to
// again: bbolt may hold it until the commit).
type entryBuilder struct {
	buf   []byte
	spans []callSpan
	offs  []uint32 // of each call added, in its entry's value
	open  bool     // the last span takes more calls
}

// callSpan is one entry an entryBuilder built: buf[start:end] is its
// value, and it holds the calls added first..first+n-1.
type callSpan struct {
	start, end int
	first, n   int
}

// add appends the call encoded as call (kernel.AppendClosedCall bytes),
// closed at closed: as the varint close time (what a reader needs of every
// call, without decoding it), a uvarint length and the bytes.
func (b *entryBuilder) add(closed int64, call []byte) {
	if b.open {
		if s := &b.spans[len(b.spans)-1]; len(b.buf)-s.start-frameOverhead >= maxCallEntry {
			b.open = false
		}
	}
	if !b.open {
		b.spans = append(b.spans, callSpan{start: len(b.buf), first: len(b.offs)})
		b.buf = append(b.buf, 0, 0, 0, 0, 0) // the checksum, then the zero byte that tells a calls entry from a message
		b.open = true
	}
	s := &b.spans[len(b.spans)-1]
	b.offs = append(b.offs, uint32(len(b.buf)-s.start))
	b.buf = binary.AppendVarint(b.buf, closed)
	b.buf = binary.AppendUvarint(b.buf, uint64(len(call)))
	b.buf = append(b.buf, call...)
	s.end = len(b.buf)
	s.n++
}

// addCalls adds calls, encoding each.
func (b *entryBuilder) addCalls(calls []kernel.ClosedCall) {
	var one []byte
	for i := range calls {
		one = kernel.AppendClosedCall(one[:0], &calls[i])
		b.add(calls[i].Closed, one)
	}
}

// value returns span s's value.
func (b *entryBuilder) value(s callSpan) []byte { return b.buf[s.start:s.end:s.end] }

// scanCalls calls fn with each call of a calls entry under key k: its
// offset in the entry's value, its close time and its encoding (aliasing
// p). p is the entry's payload after the zero byte. A malformed entry
// gives an error wrapping ErrCorrupt.
func scanCalls(domain, k, p []byte, fn func(off uint32, closed int64, call []byte) error) error {
	if len(p) == 0 {
		return badCallEntry(domain, k)
	}
	for at := 0; at < len(p); {
		closed, call, n := nextCall(p[at:])
		if n == 0 {
			return badCallEntry(domain, k)
		}
		if err := fn(uint32(callEntryHead+at), closed, call); err != nil {
			return err
		}
		at += n
	}
	return nil
}

// nextCall decodes the call at the start of p: its close time and
// encoding, and the bytes it takes (0 if malformed).
func nextCall(p []byte) (closed int64, call []byte, n int) {
	closed, a := binary.Varint(p)
	if a <= 0 {
		return 0, nil, 0
	}
	l, b := binary.Uvarint(p[a:])
	if b <= 0 || l == 0 || l > uint64(len(p)-a-b) {
		return 0, nil, 0
	}
	n = a + b + int(l)
	return closed, p[a+b : n], n
}

// badCallEntry is the error for a calls entry under key k of bucket
// domain that fails its checksum or is malformed.
func badCallEntry(domain, k []byte) error {
	if string(domain) == string(bucketJournal) {
		return badJournal(k)
	}
	key, _ := keyU64(k)
	return corruptf("%s entry %d fails its checksum or is malformed", domain, key)
}

// openCallLog checks the frame of the value v under key k of calllog and
// returns its payload after the zero byte.
func openCallLog(k, v []byte) ([]byte, error) {
	p, ok := openFrame(bucketCallLog, k, v)
	if !ok || len(p) < 2 || p[0] != 0 {
		return nil, badCallEntry(bucketCallLog, k)
	}
	return p[1:], nil
}

// decodeCall decodes a call of the entry under key k of bucket domain,
// listed there as closed at closed.
func decodeCall(domain, k []byte, closed int64, call []byte) (kernel.ClosedCall, error) {
	key, _ := keyU64(k)
	c, err := kernel.DecodeClosedCall(call)
	switch {
	case err != nil:
		return c, fmt.Errorf("%w: closed call in %s entry %d: %w", ErrCorrupt, domain, key, err)
	case c.Closed != closed:
		return c, corruptf("closed call %q in %s entry %d closed at %d, listed at %d", clip([]byte(c.InviteID)), domain, key, c.Closed, closed)
	}
	return c, nil
}

// readCallIndex reads the call index of a schema 5 store from tx, trimmed
// to retention r: every entry of calllog, then every calls entry of the
// journal. It checks each entry's key and frame and the users of each
// call; with full, it also decodes every call of calllog (readJournal
// checks the journal's).
func readCallIndex(tx *bbolt.Tx, r port.Retention, full bool) (*callIndex, error) {
	x := newCallIndex()
	cl, jb := tx.Bucket(bucketCallLog), tx.Bucket(bucketJournal)
	if cl == nil || jb == nil {
		return nil, corruptf("bucket %q or %q is missing", bucketCallLog, bucketJournal)
	}
	last := jb.Sequence()
	c := cl.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		key, ok := keyU64(k)
		switch {
		case !ok:
			return nil, corruptf("%s holds a malformed key %x", bucketCallLog, clip(k))
		case v == nil:
			return nil, corruptf("%s holds a bucket under key %d", bucketCallLog, key)
		case key == 0 || key > last:
			return nil, corruptf("%s entry %d lies outside the journal's keys 1..%d", bucketCallLog, key, last)
		}
		p, err := openCallLog(k, v)
		if err != nil {
			return nil, err
		}
		if err := x.index(bucketCallLog, k, key, p, full); err != nil {
			return nil, err
		}
	}
	c = jb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(v) <= frameOverhead || v[frameOverhead] != 0 {
			continue // a message
		}
		key, _ := keyU64(k)
		e, err := openJournal(k, v)
		if err != nil {
			return nil, err
		}
		if cl.Get(k) != nil {
			return nil, corruptf("journal entry %d is in %s too", key, bucketCallLog)
		}
		if err := x.index(bucketJournal, k, key, e.calls, false); err != nil {
			return nil, err
		}
	}
	x.finish(r)
	return x, nil
}

// index adds the calls of the entry under key k of bucket domain (its
// payload p after the zero byte) to an index being read from the file.
func (x *callIndex) index(domain, k []byte, key uint64, p []byte, full bool) error {
	id := x.newEntry(key, string(domain) == string(bucketJournal))
	return scanCalls(domain, k, p, func(off uint32, closed int64, call []byte) error {
		if full {
			if _, err := decodeCall(domain, k, closed, call); err != nil {
				return err
			}
		}
		ref := callRef{closed: closed, entry: id, off: off}
		ok := kernel.ClosedCallParticipants(call, func(name []byte) {
			u := x.users[string(name)]
			if u == nil {
				u = &userCalls{}
				x.users[string(name)] = u
			}
			if n := len(u.refs); n > 0 && u.refs[n-1] == ref {
				return // a user twice in one call has one record of it
			}
			u.refs = append(u.refs, ref) // finish sorts them
			x.entries[id].refs++
		})
		if !ok {
			return corruptf("closed call in %s entry %d is malformed", domain, key)
		}
		x.newest = max(x.newest, closed)
		return nil
	})
}
