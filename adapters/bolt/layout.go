package bolt

import (
	"encoding/binary"
	"hash/crc32"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// SchemaVersion is the version of the file layout this build writes and
// reads. A store with a higher version is refused with ErrNewerSchema. A
// store of schema 1 (the layout without the journal), 2 (without call
// records), 3 (the calls not filed yet in a bucket of their own, and no
// kept events) or 4 (the call records filed per user) is read as it is and
// migrated to this version by its first write (see migrate).
const SchemaVersion = 5

// The top-level buckets of a store. The layout (schema 5):
//
//	beckon     "schema" -> uint64 big-endian SchemaVersion
//	log        uint64 BE record Index -> frame(kernel.AppendRecord bytes);
//	           the bucket's sequence is the highest Index ever appended
//	snapshot   at most one entry: uint64 BE index -> frame(snapshot bytes);
//	           the bucket's sequence is that index (0: no snapshot)
//	history    the folded history: one bucket per conversation, named
//	           kernel.Conversation.String(), each: uint64 BE Seq (1, 2, ...)
//	           -> frame(history message); its sequence is the highest Seq
//	           folded into it
//	journal    the history not folded yet and the closed calls not folded
//	           yet: uint64 BE journal key (1, 2, ..., in append order across
//	           all conversations) -> frame(journal entry); the bucket's
//	           sequence is the highest key ever used
//	calllog    the folded closed calls: uint64 BE journal key -> frame(calls
//	           entry), each entry moved out of the journal whole, under the
//	           key it had there (or, for a migrated store, under a key taken
//	           from the journal's sequence)
//	kept       the events of resumable sessions not yet acknowledged
//	           (kept.go): uvarint length and bytes of the user, of the
//	           session, uint64 BE Seq -> frame(kernel.AppendSessionEvent bytes)
//
// A journal entry is either a history message: uvarint length (not zero)
// and bytes of the conversation's name, uint64 BE Seq, then the value that
// message has once folded, byte for byte: frame(history message) for that
// conversation and Seq; or a calls entry: some closed calls of one batch
// (all of them unless they take more than maxCallEntry bytes): a zero
// byte, then each call as varint close time (Unix ns), uvarint length and
// kernel.AppendClosedCall bytes. The messages of a conversation are the
// Seqs 1 to its bucket's sequence in history (none if it has no bucket),
// then its journal entries, whose Seqs continue that without gaps, in
// journal key order. Folding (fold) moves every message into history and
// every calls entry into calllog (but those no call record needs any
// more), and empties the journal, in one transaction. A key is in the
// journal or in calllog, never both.
//
// Schema 4 has no calllog but a bucket "records": "\x00newest" -> uint64
// BE close time of the newest call filed, and one bucket per user, named
// the user, each: port.RecordCursor.AppendKey key (so the newest first) ->
// frame(kernel.AppendClosedCall bytes), framed with the user as domain;
// its sequence counts its keys. A fold filed each call there under each
// participant. Schema 3 also has no kept bucket, and the closed calls not
// filed yet in a bucket "calls" instead of the journal: uint64 BE key (1,
// 2, ... in append order) -> frame(kernel.AppendClosedCall bytes). Schema
// 2 has no calls and no records; schema 1 also no journal bucket: every
// message in history.
//
// frame(p) is a CRC-32C (big-endian) of the bucket's name (for a history
// message, the conversation's name), the key and p, followed by p. bbolt
// keeps no checksums of its data pages, so the frame is what turns a
// damaged value (or a value under the wrong key) into ErrCorrupt instead
// of wrong data.
var (
	bucketMeta     = []byte("beckon")
	bucketLog      = []byte("log")
	bucketSnapshot = []byte("snapshot")
	bucketHistory  = []byte("history")
	bucketJournal  = []byte("journal")
	bucketCallLog  = []byte("calllog")
	bucketCalls    = []byte("calls")   // schema 3 only
	bucketRecords  = []byte("records") // schema 3 and 4 only
	bucketKept     = []byte("kept")

	keySchema = []byte("schema")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameOverhead is the size of a frame's checksum.
const frameOverhead = 4

// checksum is the CRC-32C of domain, key and payload.
func checksum(domain, key, payload []byte) uint32 {
	c := crc32.Update(0, castagnoli, domain)
	c = crc32.Update(c, castagnoli, key)
	return crc32.Update(c, castagnoli, payload)
}

// appendFrame appends frame(payload) for key in domain to dst.
func appendFrame(dst, domain, key, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, checksum(domain, key, payload))
	return append(dst, payload...)
}

// sealFrame writes into v's first frameOverhead bytes the checksum that
// makes v the frame, for key in domain, of the payload after them.
func sealFrame(v, domain, key []byte) {
	binary.BigEndian.PutUint32(v, checksum(domain, key, v[frameOverhead:]))
}

// openFrame checks a frame and returns its payload (aliasing v).
func openFrame(domain, key, v []byte) ([]byte, bool) {
	if len(v) < frameOverhead {
		return nil, false
	}
	p := v[frameOverhead:]
	return p, binary.BigEndian.Uint32(v) == checksum(domain, key, p)
}

// u64key is the big-endian key of an index or sequence number.
func u64key(n uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n) }

// keyU64 decodes a key written by u64key.
func keyU64(k []byte) (uint64, bool) {
	if len(k) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k), true
}

// historyVersion is the first byte of an encoded history message.
const historyVersion = 1

// appendHistory encodes a history message: version byte, varint At (Unix
// nanoseconds), uvarint length and bytes of Sender, then the payload.
func appendHistory(dst []byte, sender string, at int64, payload []byte) []byte {
	dst = append(dst, historyVersion)
	dst = binary.AppendVarint(dst, at)
	dst = binary.AppendUvarint(dst, uint64(len(sender)))
	dst = append(dst, sender...)
	return append(dst, payload...)
}

// decodeHistory decodes what appendHistory wrote, copying out of b.
func decodeHistory(b []byte) (sender string, at time.Time, payload []byte, ok bool) {
	if len(b) < 1 || b[0] != historyVersion {
		return "", time.Time{}, nil, false
	}
	b = b[1:]
	ns, n := binary.Varint(b)
	if n <= 0 {
		return "", time.Time{}, nil, false
	}
	b = b[n:]
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return "", time.Time{}, nil, false
	}
	b = b[n:]
	sender = string(b[:l])
	payload = append([]byte{}, b[l:]...)
	return sender, time.Unix(0, ns), payload, true
}

// initSchema creates the buckets and the schema key of a new store.
func initSchema(tx *bbolt.Tx) error {
	meta, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return err
	}
	if err := meta.Put(keySchema, u64key(SchemaVersion)); err != nil {
		return err
	}
	for _, name := range [][]byte{bucketLog, bucketSnapshot, bucketHistory, bucketJournal, bucketCallLog, bucketKept} {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return nil
}
