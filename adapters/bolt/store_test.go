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

	"github.com/beckonhq/beckon/port/storetest"
)

// The port's suite, with the default journal limit (the journal folds at
// snapshots) and with a small one (Appends fold too, so History reads
// folded and journal messages mixed). Reopen closes the file and opens it
// again.
func TestStorePort(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []bolt.Option
	}{{"default", nil}, {"journal limit 4", []bolt.Option{bolt.WithJournalLimit(4)}}} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t,
				func(t *testing.T) port.Store { return mustOpen(t, dbPath(t), c.opts...) },
				func(t *testing.T, s port.Store) port.Store {
					path := s.(*bolt.Store).Path()
					if err := s.Close(); err != nil {
						t.Fatalf("Close before reopen: %v", err)
					}
					return mustOpen(t, path, c.opts...)
				})
		})
	}
}

// Every error names the store's path and wraps the port's error.
func TestErrorsNamePath(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	wantErr(t, s.Append(port.Batch{Records: storetest.Records(2, 2)}), port.ErrBadIndex, path)
	wantErr(t, s.SaveSnapshot(1, nil), port.ErrBadIndex, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.Append(port.Batch{}), port.ErrClosed, path)
	wantErr(t, s.Check(), port.ErrClosed, path)
	wantErr(t, s.Close(), port.ErrClosed, path)
}

// SaveSnapshot deletes the records it covers from the file, and replaces
// the snapshot before.
func TestSnapshotDeletesRecords(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	if err := s.Append(port.Batch{Records: storetest.Records(1, 10)}); err != nil {
		t.Fatal(err)
	}
	for _, i := range []uint64{6, 9} {
		if err := s.SaveSnapshot(i, []byte("snap")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
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

// Concurrent Appends (beyond the port, which has one writer) commit one
// after the other: record batches in order from one goroutine, history
// batches from others, and the file checks clean.
func TestConcurrentAppends(t *testing.T) {
	s := mustOpen(t, dbPath(t))
	defer s.Close()
	const writers, perWriter = 8, 40
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := uint64(1); i <= 100; i++ {
			if err := s.Append(port.Batch{Records: storetest.Records(i, i)}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for w := range writers {
		conv := kernel.C2C("u", fmt.Sprint(w))
		wg.Go(func() {
			for i := range perWriter {
				if err := s.Append(port.Batch{History: []kernel.History{storetest.History(conv, i), storetest.History(kernel.GroupConversation("all"), i)}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	all, err := s.History(kernel.GroupConversation("all"), 0, 0)
	if err != nil || len(all) != writers*perWriter {
		t.Fatalf("group history: got %d messages, %v; want %d", len(all), err, writers*perWriter)
	}
	for i, m := range all {
		if m.Seq != uint64(i+1) {
			t.Fatalf("message %d: got Seq %d, want %d", i, m.Seq, i+1)
		}
	}
	if _, _, rs := mustLoad(t, s); len(rs) != 100 {
		t.Fatalf("Load: got %d records, want 100", len(rs))
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	if err := s.Append(port.Batch{Records: storetest.Records(1, 3)}); err != nil {
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

// A session that only reads leaves the file as it was, byte for byte.
func TestReadOnlySessionDoesNotWrite(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	conv := kernel.C2C("a", "b")
	if err := s.Append(port.Batch{Records: storetest.Records(1, 5), History: []kernel.History{storetest.History(conv, 1)}}); err != nil {
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
