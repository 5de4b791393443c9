package bolt

import (
	"encoding/binary"
	"fmt"

	bbolt "go.etcd.io/bbolt"
)

// The history journal (schema 2; closed calls too since schema 4). Append
// puts a batch's history messages in the journal bucket under increasing
// journal keys, then its closed calls under the next key, in one calls
// entry, in the batch's own transaction: only the journal's last page (and
// the log's) is dirtied, however many conversations and users the batch
// touches. A fold later moves every message into its conversation's bucket
// in history, every calls entry into calllog, and empties the journal, in
// one transaction. A message's Seq is assigned when it is
// appended and never changes; its folded value is the byte-for-byte copy
// the journal entry carries (its frame is computed once, at Append).

// journalEntry is a decoded journal value; its slices alias the value. It
// holds a history message, or (conv nil) a batch's closed calls.
type journalEntry struct {
	conv  []byte // the conversation's name
	seq   uint64 // the message's Seq in its conversation
	value []byte // the message's folded value: frame(conv, Seq, message)
	calls []byte // the closed calls (see appendCalls), after the zero byte
}

// minJournalEntry is the size of the smallest journal payload: a one-byte
// name length, a one-byte name, the Seq and a frame's checksum.
const minJournalEntry = 1 + 1 + 8 + frameOverhead

// openJournal checks the frame of the journal value v stored under key k
// and decodes it; an entry that is damaged or malformed gives an error
// wrapping ErrCorrupt. The folded value or the calls it carries are not
// checked here (decodeMessage and decodeCalls do).
func openJournal(k, v []byte) (journalEntry, error) {
	p, ok := openFrame(bucketJournal, k, v)
	if ok && len(p) > 1 && p[0] == 0 {
		return journalEntry{calls: p[1:]}, nil
	}
	if !ok || len(p) < minJournalEntry {
		return journalEntry{}, badJournal(k)
	}
	l, n := binary.Uvarint(p)
	if n <= 0 || l == 0 || l > bbolt.MaxKeySize || l > uint64(len(p)-n) {
		return journalEntry{}, badJournal(k)
	}
	p = p[n:]
	conv, p := p[:l], p[l:]
	if len(p) < 8+frameOverhead {
		return journalEntry{}, badJournal(k)
	}
	seq := binary.BigEndian.Uint64(p)
	if seq == 0 {
		return journalEntry{}, badJournal(k)
	}
	return journalEntry{conv: conv, seq: seq, value: p[8:]}, nil
}

// badJournal is openJournal's error for the entry under key k.
func badJournal(k []byte) error {
	key, _ := keyU64(k)
	return corruptf("journal entry %d fails its checksum or is malformed", key)
}

// journalIndex is the in-memory index of the journal: for each
// conversation with messages in it, their journal keys in Seq order. It
// spares History a scan of the journal and Append a read of every
// conversation it touches. It is built from the file (at a checked Open,
// else at the first History or write) and updated after each commit.
//
// Memory: 8 bytes per journal message (up to twice that while its slice
// grows), plus about 150 bytes and the name's length per conversation in
// the journal; the journal holds at most the journal limit of messages
// after an Append (WithJournalLimit), so with the default limit at most
// about 3 MiB even if every message has a conversation of its own.
type journalIndex struct {
	convs map[string]*convJournal
	n     int // messages in the journal
}

// convJournal is one conversation's part of the journal: the messages with
// Seq first, first+1, ..., stored under keys[0], keys[1], ... Once
// published, the elements of keys are never changed (only appended to), so
// a reader may keep a copy of the struct and read its slice unlocked.
type convJournal struct {
	first uint64
	keys  []uint64
}

// next is the Seq the conversation's next message gets.
func (c *convJournal) next() uint64 { return c.first + uint64(len(c.keys)) }

func newJournalIndex() *journalIndex {
	return &journalIndex{convs: make(map[string]*convJournal)}
}

// journalAdd is one message a write put in the journal.
type journalAdd struct {
	conv string
	seq  uint64
	key  uint64
}

// pending is what a write transaction changed in the journal and
// calllog, applied to the indexes once it has committed.
type pending struct {
	adds      []journalAdd
	calls     *callIndex // the call index as of the transaction's start: read, never changed, before the commit
	newCalls  []callAdd  // calls entries put in the journal (before a fold)
	folded    bool       // the journal was folded (after adds and newCalls): it is empty
	collected int        // the first entries of calls.garbage, deleted by the fold
}

// apply updates the index with a committed transaction's changes.
func (x *journalIndex) apply(p *pending) {
	if p.folded {
		*x = *newJournalIndex()
		return
	}
	for _, a := range p.adds {
		c := x.convs[a.conv]
		if c == nil {
			c = &convJournal{first: a.seq}
			x.convs[a.conv] = c
		}
		c.keys = append(c.keys, a.key)
	}
	x.n += len(p.adds)
}

// foldedSeq returns the highest Seq of conversation name in history (0 if
// it has no bucket there).
func foldedSeq(hb *bbolt.Bucket, name []byte) (uint64, error) {
	cb := hb.Bucket(name)
	if cb == nil {
		if hb.Get(name) != nil {
			return 0, corruptf("history holds a value under %q where conversations are buckets", clip(name))
		}
		return 0, nil
	}
	return cb.Sequence(), nil
}

// readJournal reads and verifies the whole journal and returns its index:
// every key within the journal's sequence, every entry intact (its frame,
// and the folded value it carries), and each conversation's entries
// continuing its folded history without a gap or an overlap. A store of
// schema 1 has no journal: its index is empty.
func readJournal(tx *bbolt.Tx) (*journalIndex, error) {
	idx := newJournalIndex()
	jb := tx.Bucket(bucketJournal)
	if jb == nil {
		return idx, nil
	}
	hb := tx.Bucket(bucketHistory)
	last := jb.Sequence()
	c := jb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		key, ok := keyU64(k)
		switch {
		case !ok:
			return nil, corruptf("the journal holds a malformed key %x", clip(k))
		case v == nil:
			return nil, corruptf("the journal holds a bucket under key %d", key)
		case key == 0 || key > last:
			return nil, corruptf("journal entry %d lies outside the journal's keys 1..%d", key, last)
		}
		e, err := openJournal(k, v)
		if err != nil {
			return nil, err
		}
		if e.conv == nil {
			err := scanCalls(bucketJournal, k, e.calls, func(_ uint32, closed int64, call []byte) error {
				_, err := decodeCall(bucketJournal, k, closed, call)
				return err
			})
			if err != nil {
				return nil, err
			}
			continue
		}
		if _, err := decodeMessage(e.conv, u64key(e.seq), e.value); err != nil {
			return nil, fmt.Errorf("journal entry %d: %w", key, err)
		}
		cj := idx.convs[string(e.conv)]
		if cj == nil {
			folded, err := foldedSeq(hb, e.conv)
			if err != nil {
				return nil, err
			}
			switch {
			case e.seq <= folded:
				return nil, corruptf("journal entry %d holds message %d of %q, which the folded history (up to %d) holds too",
					key, e.seq, clip(e.conv), folded)
			case e.seq > folded+1:
				return nil, corruptf("journal entry %d holds message %d of %q, but messages %d..%d are missing (folded history ends at %d)",
					key, e.seq, clip(e.conv), folded+1, e.seq-1, folded)
			}
			cj = &convJournal{first: e.seq}
			idx.convs[string(e.conv)] = cj
		} else if want := cj.next(); e.seq != want {
			if e.seq < want {
				return nil, corruptf("journal entry %d holds message %d of %q again", key, e.seq, clip(e.conv))
			}
			return nil, corruptf("journal entry %d holds message %d of %q, but message %d is missing", key, e.seq, clip(e.conv), want)
		}
		cj.keys = append(cj.keys, key)
		idx.n++
	}
	return idx, nil
}

// slabSize is the size of the chunks fold copies keys and values into.
const slabSize = 256 << 10

// roomIn returns slab if it has room for n more bytes, else a new empty
// chunk that has. A chunk is never grown in place: bbolt holds slices of
// it until the commit.
func roomIn(slab []byte, n int) []byte {
	if cap(slab)-len(slab) >= n {
		return slab
	}
	return make([]byte, 0, max(slabSize, n))
}

// maxCollect bounds how many garbage entries of calllog (those no call
// record points into any more) one fold deletes; the rest wait for the
// next fold.
const maxCollect = 4096

// fold moves every message of the journal into its conversation's bucket
// in history, in journal key order, and every calls entry into calllog
// under its key, as it is (framed for calllog), but those of p.calls's
// entries that no record needs any more; it deletes up to maxCollect of
// p.calls's garbage entries of calllog, and empties the journal (its
// sequence is kept), all within tx. It records in p what the index
// follows once tx commits. It checks each entry's frame and that each
// message continues its conversation; damage aborts the fold (and so its
// transaction) with an error wrapping ErrCorrupt. It returns how many
// messages it moved.
func fold(tx *bbolt.Tx, p *pending) (int, error) {
	jb, cl := tx.Bucket(bucketJournal), tx.Bucket(bucketCallLog)
	if jb == nil || cl == nil {
		return 0, corruptf("bucket %q or %q is missing", bucketJournal, bucketCallLog)
	}
	x := p.calls
	dead := map[uint64]bool{}
	for _, id := range x.unfolded {
		if e := x.entries[id]; e.refs == 0 {
			dead[e.key] = true
		}
	}
	hb := tx.Bucket(bucketHistory)
	buckets := make(map[string]*bbolt.Bucket)
	cl.FillPercent = 1 // keys only grow: fill pages
	var slab []byte
	n, entries := 0, 0
	c := jb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		entries++
		key, _ := keyU64(k)
		e, err := openJournal(k, v)
		if err != nil {
			return 0, err
		}
		if e.conv == nil {
			if dead[key] {
				continue
			}
			// The value is copied (into large chunks, not one allocation
			// each): the journal's pages are freed below.
			slab = roomIn(slab, 8+len(v))
			at := len(slab)
			slab = append(slab, k...)
			slab = append(slab, v...)
			ck, cv := slab[at:at+8:at+8], slab[at+8:len(slab):len(slab)]
			sealFrame(cv, bucketCallLog, ck)
			if err := cl.Put(ck, cv); err != nil {
				return 0, fmt.Errorf("folding journal entry %d: %w", key, err)
			}
			continue
		}
		cb := buckets[string(e.conv)]
		if cb == nil {
			var err error
			if cb, err = hb.CreateBucketIfNotExists(e.conv); err != nil {
				return 0, fmt.Errorf("%w: folding journal entry %d into conversation %q: %w", ErrCorrupt, key, clip(e.conv), err)
			}
			cb.FillPercent = 1 // keys only grow: fill pages
			buckets[string(e.conv)] = cb
		}
		if want := cb.Sequence() + 1; e.seq != want {
			return 0, corruptf("journal entry %d holds message %d of %q, but the next one there is %d", key, e.seq, clip(e.conv), want)
		}
		slab = roomIn(slab, 8+len(e.value))
		at := len(slab)
		slab = binary.BigEndian.AppendUint64(slab, e.seq)
		slab = append(slab, e.value...)
		if err := cb.Put(slab[at:at+8:at+8], slab[at+8:len(slab):len(slab)]); err != nil {
			return 0, fmt.Errorf("folding journal entry %d: %w", key, err)
		}
		if err := cb.SetSequence(e.seq); err != nil {
			return 0, err
		}
		n++
	}
	p.collected = min(len(x.garbage), maxCollect)
	for _, id := range x.garbage[:p.collected] {
		if err := cl.Delete(u64key(x.entries[id].key)); err != nil {
			return 0, err
		}
	}
	p.folded = true
	if entries == 0 {
		return 0, nil
	}
	// Dropping the bucket frees its pages at once, far cheaper than
	// deleting its keys one by one.
	seq := jb.Sequence()
	if err := tx.DeleteBucket(bucketJournal); err != nil {
		return 0, err
	}
	nb, err := tx.CreateBucket(bucketJournal)
	if err != nil {
		return 0, err
	}
	return n, nb.SetSequence(seq)
}

// migrate turns a store of an older schema into one of SchemaVersion
// inside tx. Schema 1 is schema 2 with every message folded, and schema 2
// is schema 3 without call records: it adds the empty journal and calllog
// buckets. Schema 3 and 4 filed call records per user: it moves them into
// calllog (migrateRecords). The first write of a session on an older store
// runs it, in that write's transaction: a store that is only read stays as
// it was (and readable by older builds). Every older schema gets the empty
// bucket of kept events.
func migrate(tx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketJournal, bucketCallLog, bucketKept} {
		if tx.Bucket(name) == nil {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
	}
	if err := migrateRecords(tx); err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(keySchema, u64key(SchemaVersion))
}
