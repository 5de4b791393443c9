package bolt

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	bbolt "go.etcd.io/bbolt"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// The kept bucket holds the events of resumable sessions until they are
// acknowledged (port.Batch): key = sessionPrefix(user, session) + uint64
// BE Seq -> frame(kernel.AppendSessionEvent bytes). A session's events are
// adjacent, in Seq order, so dropping them is a seek and a short scan.

// sessionPrefix is uvarint length and bytes of the user, then of the
// session: no session's prefix is a prefix of another's.
func sessionPrefix(dst []byte, s kernel.SessionRef) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s.User)))
	dst = append(dst, s.User...)
	dst = binary.AppendUvarint(dst, uint64(len(s.Session)))
	return append(dst, s.Session...)
}

// putKept applies a batch's Ended, Acked and Events to the kept bucket, in
// that order.
func putKept(tx *bbolt.Tx, b *port.Batch) error {
	if len(b.Ended) == 0 && len(b.Acked) == 0 && !anyResumable(b.Events) {
		return nil
	}
	kb := tx.Bucket(bucketKept)
	if kb == nil {
		return corruptf("bucket %q is missing", bucketKept)
	}
	for _, s := range b.Ended {
		if err := dropKept(kb, sessionPrefix(nil, s), ^uint64(0)); err != nil {
			return err
		}
	}
	for _, a := range b.Acked {
		if err := dropKept(kb, sessionPrefix(nil, a.SessionRef), a.Seq); err != nil {
			return err
		}
	}
	for _, e := range b.Events {
		if !e.Resumable {
			continue
		}
		k := sessionPrefix(nil, kernel.SessionRef{User: e.User, Session: e.Session})
		k = binary.BigEndian.AppendUint64(k, e.Seq)
		if err := kb.Put(k, appendFrame(nil, bucketKept, k, kernel.AppendSessionEvent(nil, e))); err != nil {
			return fmt.Errorf("kept event %d of %s/%s: %w", e.Seq, e.User, e.Session, err)
		}
	}
	return nil
}

func anyResumable(events []kernel.SessionEvent) bool {
	for i := range events {
		if events[i].Resumable {
			return true
		}
	}
	return false
}

// dropKept deletes the kept events of the session with prefix up to and
// including seq.
func dropKept(kb *bbolt.Bucket, prefix []byte, seq uint64) error {
	c := kb.Cursor()
	for k, _ := c.Seek(prefix); k != nil && len(k) == len(prefix)+8 && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if binary.BigEndian.Uint64(k[len(prefix):]) > seq {
			return nil
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// Kept returns the events kept for resumable sessions (port.Store), by
// user, then session, then Seq.
func (s *Store) Kept() ([]kernel.SessionEvent, error) {
	var out []kernel.SessionEvent
	err := s.view("kept", func(tx *bbolt.Tx) error {
		kb := tx.Bucket(bucketKept)
		if kb == nil { // a store of an older schema
			return nil
		}
		return kb.ForEach(func(k, v []byte) error {
			e, err := openKept(k, v)
			if err == nil {
				out = append(out, e)
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	sortKept(out)
	return out, nil
}

// openKept checks and decodes one kept event: its frame, its encoding, and
// that its key names its session and Seq.
func openKept(k, v []byte) (kernel.SessionEvent, error) {
	if v == nil {
		return kernel.SessionEvent{}, corruptf("a bucket %q inside %q", clip(k), bucketKept)
	}
	p, ok := openFrame(bucketKept, k, v)
	if !ok {
		return kernel.SessionEvent{}, corruptf("kept event %x: checksum mismatch", clip(k))
	}
	e, err := kernel.DecodeSessionEvent(p)
	if err != nil {
		return kernel.SessionEvent{}, corruptf("kept event %x: %v", clip(k), err)
	}
	want := binary.BigEndian.AppendUint64(sessionPrefix(nil, kernel.SessionRef{User: e.User, Session: e.Session}), e.Seq)
	if !bytes.Equal(k, want) || !e.Resumable {
		return kernel.SessionEvent{}, corruptf("kept event %x holds %s/%s #%d", clip(k), e.User, e.Session, e.Seq)
	}
	return e, nil
}

// verifyKept checks every kept event of tx.
func verifyKept(tx *bbolt.Tx) error {
	kb := tx.Bucket(bucketKept)
	if kb == nil {
		return nil // older schema
	}
	return kb.ForEach(func(k, v []byte) error {
		_, err := openKept(k, v)
		return err
	})
}

// sortKept orders events by user, then session, then Seq.
func sortKept(es []kernel.SessionEvent) {
	slices.SortFunc(es, func(a, b kernel.SessionEvent) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Session, b.Session), cmp.Compare(a.Seq, b.Seq))
	})
}
