package bolt_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	bbolt "go.etcd.io/bbolt"
)

var _ beckon.Store = (*bolt.Store)(nil)

// dbPath returns a path for a new store in a test's temporary directory.
func dbPath(t testing.TB) string { return filepath.Join(t.TempDir(), "beckon.db") }

// mustOpen opens path or fails the test.
func mustOpen(t testing.TB, path string, opts ...bolt.Option) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// mustLoad loads or fails.
func mustLoad(t testing.TB, s *bolt.Store) (uint64, []byte, []kernel.Record) {
	t.Helper()
	i, snap, rs, err := s.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return i, snap, rs
}

// sameHistory compares history messages (times with Equal).
func sameHistory(t testing.TB, got, want []port.HistoryMessage) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d history messages, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.Sender != w.Sender || !g.At.Equal(w.At) || string(g.Payload) != string(w.Payload) {
			t.Fatalf("message %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// rawUpdate runs fn in a write transaction of the closed store at path,
// opened with bbolt alone (to make a file of an older schema, or damage
// one), or fails the test.
func rawUpdate(t testing.TB, path string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// readOnly opens the closed store at path with and without the Open
// check, hands it to read, checks it and closes it, and fails if those
// sessions, which only read, changed the file (what names the store).
func readOnly(t *testing.T, path, what string, read func(s *bolt.Store)) {
	t.Helper()
	before, _ := os.ReadFile(path)
	for _, opts := range [][]bolt.Option{nil, {bolt.WithoutOpenCheck()}} {
		s := mustOpen(t, path, opts...)
		read(s)
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatalf("a session that only read %s changed it", what)
	}
}

// wantErr fails unless err wraps target and names path.
func wantErr(t testing.TB, err, target error, path string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want one wrapping %v", err, target)
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q does not name the path %s", err, path)
	}
}
