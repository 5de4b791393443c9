package bolt_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	"github.com/beckonhq/beckon/port/storetest"
	bbolt "go.etcd.io/bbolt"
)

// equalHistory reports whether two lists of messages are the same (times
// with Equal).
func equalHistory(got, want []port.HistoryMessage) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.Sender != w.Sender || !g.At.Equal(w.At) || !bytes.Equal(g.Payload, w.Payload) {
			return false
		}
	}
	return true
}

// checkAllHistory compares every History(conv, after, limit) the test can
// ask with what the conversations hold.
func checkAllHistory(t *testing.T, s *bolt.Store, all map[kernel.Conversation][]port.HistoryMessage, label string) {
	t.Helper()
	for c, msgs := range all {
		for after := 0; after <= len(msgs)+1; after++ {
			for _, limit := range []int{0, -1, 1, 2, 5} {
				got, err := s.History(c, uint64(after), limit)
				if err != nil {
					t.Fatalf("%s: History(%s, %d, %d): %v", label, c, after, limit, err)
				}
				exp := msgs[min(after, len(msgs)):]
				if limit > 0 && len(exp) > limit {
					exp = exp[:limit]
				}
				if !equalHistory(got, exp) {
					t.Fatalf("%s: History(%s, %d, %d):\n got %+v\nwant %+v", label, c, after, limit, got, exp)
				}
			}
		}
	}
}

// History gives the same messages, with the same Seqs, whether they are
// in the journal, folded, or partly both, before and after folds (by the
// journal limit and by SaveSnapshot) and across Close and Open (with and
// without the open check).
func TestHistoryAcrossFolds(t *testing.T) {
	path := dbPath(t)
	const limit = 7
	convs := []kernel.Conversation{kernel.C2C("alice", "bob"), kernel.GroupConversation("g1"),
		kernel.C2C("carol", "dave"), kernel.C2C("erin", "frank")}
	all := map[kernel.Conversation][]port.HistoryMessage{}
	for _, c := range convs {
		all[c] = nil
	}
	s := mustOpen(t, path, bolt.WithJournalLimit(limit))
	defer func() { s.Close() }()
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]int{}
	next := uint64(1)
	for step := range 80 {
		batch := port.Batch{Records: storetest.Records(next, next)}
		next++
		for i := range rng.IntN(5) {
			c := convs[rng.IntN(len(convs)-1)] // the last one stays empty
			h := storetest.History(c, step*10+i)
			batch.History = append(batch.History, h)
			all[c] = append(all[c], storetest.Message(t, h, uint64(len(all[c])+1)))
		}
		if err := s.Append(batch); err != nil {
			t.Fatal(err)
		}
		if step%13 == 12 {
			if err := s.SaveSnapshot(next-1, []byte("snap")); err != nil {
				t.Fatal(err)
			}
			if n, err := bolt.JournalLen(s); err != nil || n != 0 {
				t.Fatalf("step %d: the journal holds %d messages after SaveSnapshot (%v), want 0", step, n, err)
			}
		}
		if n, err := bolt.JournalLen(s); err != nil || n >= limit {
			t.Fatalf("step %d: the journal holds %d messages (%v), limit %d", step, n, err, limit)
		}
		label := fmt.Sprintf("step %d", step)
		checkAllHistory(t, s, all, label)
		for _, c := range convs {
			folded, journal, err := bolt.HistoryLayout(s, c.String())
			if err != nil {
				t.Fatal(err)
			}
			if int(folded)+journal != len(all[c]) {
				t.Fatalf("%s: %s has %d folded and %d journal messages, want %d in all", label, c, folded, journal, len(all[c]))
			}
			switch {
			case folded > 0 && journal > 0:
				seen["both"]++
			case folded > 0:
				seen["folded"]++
			case journal > 0:
				seen["journal"]++
			}
		}
		if step%6 == 5 {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			var opts []bolt.Option
			if step%12 == 11 {
				opts = append(opts, bolt.WithoutOpenCheck())
			}
			s = mustOpen(t, path, append(opts, bolt.WithJournalLimit(limit))...)
			checkAllHistory(t, s, all, label+", reopened")
		}
	}
	for _, state := range []string{"journal", "folded", "both"} {
		if seen[state] == 0 {
			t.Fatalf("no conversation was ever only %q (%v): the test exercises too little", state, seen)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// A journal limit of 1 folds at every Append: everything is folded.
func TestJournalLimitOne(t *testing.T) {
	s := mustOpen(t, dbPath(t), bolt.WithJournalLimit(1))
	defer s.Close()
	c := kernel.C2C("a", "b")
	var exp []port.HistoryMessage
	for i := range 5 {
		h := storetest.History(c, i)
		if err := s.Append(port.Batch{Records: storetest.Records(uint64(i+1), uint64(i+1)), History: []kernel.History{h}}); err != nil {
			t.Fatal(err)
		}
		exp = append(exp, storetest.Message(t, h, uint64(i+1)))
		if folded, journal, err := bolt.HistoryLayout(s, c.String()); err != nil || folded != uint64(i+1) || journal != 0 {
			t.Fatalf("after Append %d: %d folded, %d in the journal (%v)", i+1, folded, journal, err)
		}
	}
	got, err := s.History(c, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	sameHistory(t, got, exp)
}

func TestJournalLimitOption(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, -1, bolt.MaxJournalLimit + 1} {
		path := fmt.Sprintf("%s/bad%d.db", dir, n)
		_, err := bolt.Open(path, bolt.WithJournalLimit(n))
		wantErr(t, err, bolt.ErrBadOption, path)
		if !strings.Contains(err.Error(), fmt.Sprintf("WithJournalLimit(%d)", n)) {
			t.Fatalf("error %q does not name the option", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a refused Open created %s (%v)", path, err)
		}
	}
	_, err := bolt.Open(dir+"/nil.db", nil)
	wantErr(t, err, bolt.ErrBadOption, dir+"/nil.db")
	for _, n := range []int{1, bolt.MaxJournalLimit} {
		s := mustOpen(t, fmt.Sprintf("%s/good%d.db", dir, n), bolt.WithJournalLimit(n))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// schema1 turns the closed store at path, whose journal is empty, into a
// store of schema 1: no journal bucket, schema version 1.
func schema1(t *testing.T, path string) {
	t.Helper()
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		if n := tx.Bucket([]byte("journal")).Stats().KeyN; n != 0 {
			return fmt.Errorf("the journal holds %d messages", n)
		}
		for _, b := range []string{"journal", "calllog", "kept"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("beckon")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, 1))
	})
}

// schemaOf reads the schema version of a closed store, and whether it has
// a journal bucket.
func schemaOf(t *testing.T, path string) (uint64, bool) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ver uint64
	var journal bool
	_ = db.View(func(tx *bbolt.Tx) error {
		ver = binary.BigEndian.Uint64(tx.Bucket([]byte("beckon")).Get([]byte("schema")))
		journal = tx.Bucket([]byte("journal")) != nil
		return nil
	})
	return ver, journal
}

// A schema 1 store (history only in per-conversation buckets) is read as
// it is, left unchanged by a session that only reads, and migrated to
// schema 2 by the first write, which continues every conversation's Seqs.
func TestSchema1Migrates(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	convs := []kernel.Conversation{kernel.C2C("alice", "bob"), kernel.GroupConversation("g1")}
	all := map[kernel.Conversation][]port.HistoryMessage{}
	for i := range 10 {
		c := convs[i%2]
		h := storetest.History(c, i)
		if err := s.Append(port.Batch{Records: storetest.Records(uint64(i+1), uint64(i+1)), History: []kernel.History{h}}); err != nil {
			t.Fatal(err)
		}
		all[c] = append(all[c], storetest.Message(t, h, uint64(len(all[c])+1)))
	}
	if err := s.SaveSnapshot(4, []byte("snap")); err != nil { // folds everything
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	schema1(t, path)

	readOnly(t, path, "a schema 1 store", func(s *bolt.Store) {
		i, snap, rs := mustLoad(t, s)
		if i != 4 || string(snap) != "snap" {
			t.Fatalf("snapshot (%d, %q)", i, snap)
		}
		storetest.SameRecords(t, rs, storetest.Records(5, 10))
		checkAllHistory(t, s, all, "schema 1")
	})

	s = mustOpen(t, path)
	c := convs[0]
	h := storetest.History(c, 100)
	call := storetest.Call(11, 1)
	if err := s.Append(port.Batch{Records: storetest.Records(11, 11), History: []kernel.History{h}, Closed: []kernel.ClosedCall{call}}); err != nil {
		t.Fatal(err)
	}
	if rs, err := s.Records(call.Inviter, port.RecordCursor{}, 0); err != nil || len(rs) != 1 || rs[0].Call.InviteID != call.InviteID {
		t.Fatalf("Records after the migrating write: got %+v, %v; want the call appended", rs, err)
	}
	all[c] = append(all[c], storetest.Message(t, h, uint64(len(all[c])+1)))
	checkAllHistory(t, s, all, "migrated")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if ver, journal := schemaOf(t, path); ver != bolt.SchemaVersion || !journal {
		t.Fatalf("after a write: schema %d, journal bucket %v; want %d and one", ver, journal, bolt.SchemaVersion)
	}
	s = mustOpen(t, path)
	defer s.Close()
	checkAllHistory(t, s, all, "migrated, reopened")
	storetest.SameRecords(t, func() []kernel.Record { _, _, rs := mustLoad(t, s); return rs }(), storetest.Records(5, 11))
}

// journalFixture is a closed store where conversation alice/bob has
// messages 1..3 folded and 4, 5 in the journal under keys 4, 5, and
// conversation g1 message 1 in the journal under key 6.
func journalFixture(t *testing.T) string {
	t.Helper()
	path := dbPath(t)
	s := mustOpen(t, path)
	ab, g1 := kernel.C2C("alice", "bob"), kernel.GroupConversation("g1")
	h := func(i int) []kernel.History { return []kernel.History{storetest.History(ab, i)} }
	if err := s.Append(port.Batch{Records: storetest.Records(1, 1), History: append(h(1), storetest.History(ab, 2), storetest.History(ab, 3))}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot(1, []byte("snap")); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(port.Batch{Records: storetest.Records(2, 2), History: append(h(4), storetest.History(ab, 5), storetest.History(g1, 6))}); err != nil {
		t.Fatal(err)
	}
	if folded, journal, err := bolt.HistoryLayout(s, ab.String()); err != nil || folded != 3 || journal != 2 {
		t.Fatalf("fixture: %d folded, %d in the journal (%v)", folded, journal, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// Open refuses (and Check, History and Append on a store opened without
// the check report) a journal that is damaged or that conflicts with the
// folded history: a message in both, a gap, a repeated message.
func TestJournalDamageAndConflicts(t *testing.T) {
	ab := kernel.C2C("alice", "bob").String()
	key := func(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
	for _, tc := range []struct {
		name, says string
		edit       func(tx *bbolt.Tx, jb, hb *bbolt.Bucket) error
	}{
		{"damaged value", "fails its checksum", func(_ *bbolt.Tx, jb, _ *bbolt.Bucket) error {
			v := bytes.Clone(jb.Get(key(4)))
			v[len(v)-3] ^= 0x20
			return jb.Put(key(4), v)
		}},
		{"damaged message inside a valid entry", "message 5 of", func(_ *bbolt.Tx, jb, _ *bbolt.Bucket) error {
			p := bytes.Clone(jb.Get(key(5))[4:])
			p[len(p)-3] ^= 0x20 // in the folded value the entry carries
			return jb.Put(key(5), bolt.FrameJournal(5, p))
		}},
		{"truncated value", "fails its checksum", func(_ *bbolt.Tx, jb, _ *bbolt.Bucket) error {
			return jb.Put(key(4), jb.Get(key(4))[:10])
		}},
		{"value under the wrong key", "fails its checksum", func(_ *bbolt.Tx, jb, _ *bbolt.Bucket) error {
			v := bytes.Clone(jb.Get(key(5)))
			if err := jb.Delete(key(5)); err != nil {
				return err
			}
			return jb.Put(key(4), v)
		}},
		{"message both folded and in the journal", "holds too", func(_ *bbolt.Tx, jb, hb *bbolt.Bucket) error {
			cb := hb.Bucket([]byte(ab))
			if err := cb.Put(key(4), bytes.Clone(bolt.FoldedOf(jb.Get(key(4)), 4))); err != nil {
				return err
			}
			return cb.SetSequence(4)
		}},
		{"gap between folded and journal", "missing", func(_ *bbolt.Tx, jb, _ *bbolt.Bucket) error {
			return jb.Delete(key(4))
		}},
		{"folded sequence behind the journal", "missing", func(_ *bbolt.Tx, _, hb *bbolt.Bucket) error {
			cb := hb.Bucket([]byte(ab))
			if err := cb.Delete(key(3)); err != nil {
				return err
			}
			return cb.SetSequence(2)
		}},
		{"repeated message", "again", func(_ *bbolt.Tx, jb, _ *bbolt.Bucket) error {
			if err := jb.SetSequence(7); err != nil {
				return err
			}
			return jb.Put(key(7), bolt.FrameJournal(7, bytes.Clone(jb.Get(key(5))[4:])))
		}},
		{"key past the journal's sequence", "outside the journal's keys", func(_ *bbolt.Tx, jb, _ *bbolt.Bucket) error {
			return jb.Put(key(9), bolt.FrameJournal(9, bytes.Clone(jb.Get(key(6))[4:])))
		}},
		{"malformed key", "malformed key", func(_ *bbolt.Tx, jb, _ *bbolt.Bucket) error {
			return jb.Put([]byte("x"), []byte("y"))
		}},
		{"bucket inside the journal", "holds a bucket", func(_ *bbolt.Tx, jb, _ *bbolt.Bucket) error {
			_, err := jb.CreateBucket(key(8))
			return err
		}},
		{"journal missing", `bucket "journal" is missing`, func(tx *bbolt.Tx, _, _ *bbolt.Bucket) error {
			return tx.DeleteBucket([]byte("journal"))
		}},
		{"journal in a schema 1 store", "schema 1", func(tx *bbolt.Tx, _, _ *bbolt.Bucket) error {
			return tx.Bucket([]byte("beckon")).Put([]byte("schema"), key(1))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := journalFixture(t)
			db, err := bbolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(func(tx *bbolt.Tx) error {
				return tc.edit(tx, tx.Bucket([]byte("journal")), tx.Bucket([]byte("history")))
			}); err != nil {
				t.Fatal(err)
			}
			db.Close()
			before, _ := os.ReadFile(path)
			_, err = bolt.Open(path)
			wantErr(t, err, bolt.ErrCorrupt, path)
			if !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Open: %q does not say %q", err, tc.says)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Fatal("a refused Open changed the file")
			}
			if strings.Contains(tc.name, "schema") || strings.Contains(tc.name, "missing") {
				_, err := bolt.Open(path, bolt.WithoutOpenCheck())
				wantErr(t, err, bolt.ErrCorrupt, path)
				return
			}
			s := mustOpen(t, path, bolt.WithoutOpenCheck())
			defer s.Close()
			if err := s.Check(); !errors.Is(err, bolt.ErrCorrupt) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Check: %v, want ErrCorrupt saying %q", err, tc.says)
			}
			_, err = s.History(kernel.C2C("alice", "bob"), 0, 0)
			wantErr(t, err, bolt.ErrCorrupt, path)
			err = s.Append(port.Batch{Records: storetest.Records(3, 3), History: []kernel.History{storetest.History(kernel.C2C("x", "y"), 1)}})
			wantErr(t, err, bolt.ErrCorrupt, path)
			if _, _, rs := mustLoad(t, s); len(rs) != 1 {
				t.Fatalf("a refused Append changed the log: %d records", len(rs))
			}
		})
	}
}
