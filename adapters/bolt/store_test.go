package bolt_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"

	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	bbolt "go.etcd.io/bbolt"
)

func TestAppendLoadRoundTrip(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	defer s.Close()

	if i, snap, rs := mustLoad(t, s); i != 0 || snap != nil || len(rs) != 0 {
		t.Fatalf("new store loads (%d, %v, %d records), want nothing", i, snap, len(rs))
	}
	for _, b := range [][2]uint64{{1, 1}, {2, 9}, {10, 300}} {
		if err := s.Append(port.Batch{Records: recs(b[0], b[1])}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(port.Batch{}); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	i, snap, rs := mustLoad(t, s)
	if i != 0 || snap != nil {
		t.Fatalf("snapshot (%d, %v), want none", i, snap)
	}
	sameRecords(t, rs, recs(1, 300))
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotCompaction(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	if err := s.Append(port.Batch{Records: recs(1, 10)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot(6, []byte("snap-6")); err != nil {
		t.Fatal(err)
	}
	i, snap, rs := mustLoad(t, s)
	if i != 6 || string(snap) != "snap-6" {
		t.Fatalf("snapshot (%d, %q), want (6, snap-6)", i, snap)
	}
	sameRecords(t, rs, recs(7, 10))

	wantErr(t, s.SaveSnapshot(5, []byte("old")), port.ErrBadIndex, path)
	wantErr(t, s.SaveSnapshot(11, []byte("future")), port.ErrBadIndex, path)
	if err := s.Append(port.Batch{Records: recs(11, 12)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot(12, []byte("snap-12")); err != nil {
		t.Fatal(err)
	}
	if i, snap, rs := mustLoad(t, s); i != 12 || string(snap) != "snap-12" || len(rs) != 0 {
		t.Fatalf("Load (%d, %q, %d records), want (12, snap-12, none)", i, snap, len(rs))
	}
	// Saving again at the same index replaces the snapshot.
	if err := s.SaveSnapshot(12, []byte("snap-12b")); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(port.Batch{Records: recs(13, 13)}); err != nil {
		t.Fatal(err)
	}
	i, snap, rs = mustLoad(t, s)
	if i != 12 || string(snap) != "snap-12b" {
		t.Fatalf("snapshot (%d, %q), want (12, snap-12b)", i, snap)
	}
	sameRecords(t, rs, recs(13, 13))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The compacted records are gone from the file, not only hidden.
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bbolt.Tx) error {
		if n := tx.Bucket([]byte("log")).Stats().KeyN; n != 1 {
			t.Errorf("log holds %d records, want 1", n)
		}
		if n := tx.Bucket([]byte("snapshot")).Stats().KeyN; n != 1 {
			t.Errorf("snapshot bucket holds %d entries, want 1", n)
		}
		return nil
	})
}

func TestSnapshotAtZero(t *testing.T) {
	s := mustOpen(t, dbPath(t))
	defer s.Close()
	if err := s.SaveSnapshot(0, []byte("empty")); err != nil {
		t.Fatal(err)
	}
	if i, snap, rs := mustLoad(t, s); i != 0 || string(snap) != "empty" || len(rs) != 0 {
		t.Fatalf("Load (%d, %q, %d), want (0, empty, none)", i, snap, len(rs))
	}
	if err := s.Append(port.Batch{Records: recs(1, 2)}); err != nil {
		t.Fatal(err)
	}
	_, _, rs := mustLoad(t, s)
	sameRecords(t, rs, recs(1, 2))
}

func TestHistoryPaging(t *testing.T) {
	s := mustOpen(t, dbPath(t))
	defer s.Close()
	c2c, grp := kernel.C2C("bob", "alice"), kernel.GroupConversation("g1")
	var wantC2C, wantGrp []port.HistoryMessage
	for i := range 25 {
		h1, h2 := hist(c2c, i), hist(grp, i)
		batch := port.Batch{Records: recs(uint64(i+1), uint64(i+1)), History: []kernel.History{h1, h2}}
		if i%3 == 0 {
			batch.History = append(batch.History, hist(c2c, 100+i))
		}
		if err := s.Append(batch); err != nil {
			t.Fatal(err)
		}
		wantC2C = append(wantC2C, want(t, h1, uint64(len(wantC2C)+1)))
		if i%3 == 0 {
			wantC2C = append(wantC2C, want(t, hist(c2c, 100+i), uint64(len(wantC2C)+1)))
		}
		wantGrp = append(wantGrp, want(t, h2, uint64(len(wantGrp)+1)))
	}
	for _, tc := range []struct {
		conv  kernel.Conversation
		all   []port.HistoryMessage
		after uint64
		limit int
	}{
		{c2c, wantC2C, 0, 0}, {grp, wantGrp, 0, 0}, {grp, wantGrp, 0, -1},
		{c2c, wantC2C, 0, 10}, {c2c, wantC2C, 10, 10}, {c2c, wantC2C, 30, 10},
		{grp, wantGrp, 20, 10}, {grp, wantGrp, 24, 1}, {grp, wantGrp, 25, 10}, {grp, wantGrp, 1 << 40, 0},
		{kernel.C2C("x", "y"), nil, 0, 0},
	} {
		got, err := s.History(tc.conv, tc.after, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		exp := tc.all[min(int(tc.after), len(tc.all)):]
		if tc.limit > 0 && len(exp) > tc.limit {
			exp = exp[:tc.limit]
		}
		sameHistory(t, got, exp)
	}
	// The payload is the SDK's envelope.
	got, _ := s.History(grp, 0, 1)
	info, err := kernel.GetSignalingInfo(got[0].Payload)
	if err != nil || info.GroupID != "g1" || info.InviteID != "inv-0" {
		t.Fatalf("GetSignalingInfo = %+v, %v", info, err)
	}
	// Pages chained through "after" give every message once, in order.
	var paged []port.HistoryMessage
	for after := uint64(0); ; {
		page, err := s.History(c2c, after, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].Seq
	}
	sameHistory(t, paged, wantC2C)
}

func TestIndexGapRejected(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	defer s.Close()
	h := []kernel.History{hist(kernel.C2C("a", "b"), 1)}
	wantErr(t, s.Append(port.Batch{Records: recs(2, 2), History: h}), port.ErrBadIndex, path)
	wantErr(t, s.Append(port.Batch{Records: recs(0, 0)}), port.ErrBadIndex, path)
	if err := s.Append(port.Batch{Records: recs(1, 2)}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]kernel.Record{recs(4, 4), recs(2, 3), recs(1, 1), {rec(3), rec(5)}, {rec(3), rec(3)}} {
		wantErr(t, s.Append(port.Batch{Records: bad, History: h}), port.ErrBadIndex, path)
	}
	_, _, rs := mustLoad(t, s)
	sameRecords(t, rs, recs(1, 2))
	if got, _ := s.History(kernel.C2C("a", "b"), 0, 0); len(got) != 0 {
		t.Fatalf("a rejected batch left %d history messages", len(got))
	}
	if err := s.Append(port.Batch{Records: recs(3, 4)}); err != nil {
		t.Fatal(err)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	conv := kernel.C2C("alice", "bob")
	var hs []port.HistoryMessage
	for i := range 50 {
		h := hist(conv, i)
		if err := s.Append(port.Batch{Records: recs(uint64(2*i+1), uint64(2*i+2)), History: []kernel.History{h}}); err != nil {
			t.Fatal(err)
		}
		hs = append(hs, want(t, h, uint64(i+1)))
		if i == 30 {
			if err := s.SaveSnapshot(40, []byte("snap-40")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		s = mustOpen(t, path)
		i, snap, rs := mustLoad(t, s)
		if i != 40 || string(snap) != "snap-40" {
			t.Fatalf("round %d: snapshot (%d, %q)", round, i, snap)
		}
		sameRecords(t, rs, recs(41, 100+uint64(round)))
		got, err := s.History(conv, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		sameHistory(t, got, hs)
		if err := s.Append(port.Batch{Records: recs(101+uint64(round), 101+uint64(round))}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestClosed(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := s.Load()
	wantErr(t, err, port.ErrClosed, path)
	wantErr(t, s.Append(port.Batch{Records: recs(1, 1)}), port.ErrClosed, path)
	wantErr(t, s.Append(port.Batch{}), port.ErrClosed, path)
	wantErr(t, s.SaveSnapshot(0, nil), port.ErrClosed, path)
	_, err = s.History(kernel.C2C("a", "b"), 0, 0)
	wantErr(t, err, port.ErrClosed, path)
	wantErr(t, s.Check(), port.ErrClosed, path)
	wantErr(t, s.Close(), port.ErrClosed, path)
}

func TestNewerSchemaRefused(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	if err := s.Append(port.Batch{Records: recs(1, 3)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("beckon")).Put([]byte("schema"), []byte{0, 0, 0, 0, 0, 0, 0, bolt.SchemaVersion + 1})
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	for _, opts := range [][]bolt.Option{nil, {bolt.WithoutOpenCheck()}} {
		_, err = bolt.Open(path, opts...)
		wantErr(t, err, bolt.ErrNewerSchema, path)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("a refused open changed the file")
	}
}

func TestNotAStore(t *testing.T) {
	dir := t.TempDir()
	// An empty file is refused and left empty.
	empty := dir + "/empty.db"
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := bolt.Open(empty)
	wantErr(t, err, bolt.ErrNotStore, empty)
	if fi, _ := os.Stat(empty); fi.Size() != 0 {
		t.Fatalf("the empty file was initialised (%d bytes)", fi.Size())
	}
	// bbolt databases without beckon's schema are refused.
	for name, fill := range map[string]func(*bbolt.Tx) error{
		"bare.db": func(*bbolt.Tx) error { return nil },
		"other.db": func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucket([]byte("users"))
			if err != nil {
				return err
			}
			return b.Put([]byte("k"), []byte("v"))
		},
	} {
		p := dir + "/" + name
		db, err := bbolt.Open(p, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(fill); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err = bolt.Open(p)
		wantErr(t, err, bolt.ErrNotStore, p)
	}
	// A directory.
	_, err = bolt.Open(dir)
	wantErr(t, err, bolt.ErrNotStore, dir)
	// A missing directory gives the operating system's error.
	if _, err := bolt.Open(dir + "/no/such/dir/x.db"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open in a missing directory: %v, want a not-exist error", err)
	}
}

func TestCreateLeavesOnlyTheStore(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir+"/a.db")
	s.Close()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "a.db" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %v, want [a.db]", names)
	}
	if fi, _ := os.Stat(dir + "/a.db"); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
}

// Concurrent writers and readers: record batches in order from one
// goroutine, history-only batches and History/Load readers from others.
func TestConcurrentUse(t *testing.T) {
	s := mustOpen(t, dbPath(t))
	defer s.Close()
	const writers, perWriter = 8, 40
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := uint64(1); i <= 100; i++ {
			if err := s.Append(port.Batch{Records: recs(i, i)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for w := range writers {
		wg.Add(2)
		conv := kernel.C2C("u", fmt.Sprint(w))
		go func() {
			defer wg.Done()
			for i := range perWriter {
				if err := s.Append(port.Batch{History: []kernel.History{hist(conv, i), hist(kernel.GroupConversation("all"), i)}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range perWriter {
				if _, err := s.History(conv, 0, 0); err != nil {
					t.Error(err)
				}
				if _, _, _, err := s.Load(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	all, err := s.History(kernel.GroupConversation("all"), 0, 0)
	if err != nil || len(all) != writers*perWriter {
		t.Fatalf("group history: %d messages, %v; want %d", len(all), err, writers*perWriter)
	}
	for i, m := range all {
		if m.Seq != uint64(i+1) {
			t.Fatalf("message %d has Seq %d", i, m.Seq)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// A session that only reads leaves the file as it was, byte for byte.
func TestReadOnlySessionDoesNotWrite(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	conv := kernel.C2C("a", "b")
	if err := s.Append(port.Batch{Records: recs(1, 5), History: []kernel.History{hist(conv, 1)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	for _, opts := range [][]bolt.Option{nil, {bolt.WithoutOpenCheck()}} {
		s = mustOpen(t, path, opts...)
		mustLoad(t, s)
		if _, err := s.History(conv, 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
			t.Fatal("a read-only session changed the file")
		}
	}
}
