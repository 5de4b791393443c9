package fuzz

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// FuzzBoltFile opens mutated bolt store files and reads everything in them
// (Load, then History of every conversation the seed has, whole and paged).
// Each open, with the full open check and without it, must give an error
// of the documented classes or a store, never a panic, a hang or a leaked
// file. After a checked Open succeeds, reads must succeed (Open verified the
// whole file), and Load's records must continue the snapshot without gaps.
// Without the check only Open and Close are fuzzed: bolt.WithoutOpenCheck
// trusts the page structure, and bbolt's cursors loop forever on a page
// cycle that only the check finds (FuzzBoltFile/2433da47debeb1f2).
func FuzzBoltFile(f *testing.F) {
	dir := f.TempDir()
	seed := boltSeedFile(f, filepath.Join(dir, "seed.db"))
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add(seed[:4096])
	f.Add([]byte{})
	f.Add([]byte("not a database"))
	n := 0
	f.Fuzz(func(t *testing.T, content []byte) {
		fds := openFDs()
		n++
		path := filepath.Join(dir, fmt.Sprintf("f%d.db", n))
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		// The same file twice: a failed Open must not leave it locked.
		for _, check := range []bool{true, false} {
			readBoltFile(t, path, check)
		}
		if after := openFDs(); after > fds {
			t.Fatalf("%d file descriptors open after Open/Close, %d before", after, fds)
		}
	})
}

// boltConvs are the conversations of the seed store.
var boltConvs = []kernel.Conversation{kernel.C2C("u0", "u1"), kernel.C2C("u1", "u2"), kernel.C2C("u0", "u3"),
	kernel.GroupConversation("g0"), kernel.C2C("u2", "u3")}

func readBoltFile(t *testing.T, path string, check bool) {
	t.Helper()
	opts := []bolt.Option{bolt.WithLockTimeout(50 * time.Millisecond)}
	if !check {
		opts = append(opts, bolt.WithoutOpenCheck())
	}
	s, err := bolt.Open(path, opts...)
	if err != nil {
		if !errors.Is(err, bolt.ErrCorrupt) && !errors.Is(err, bolt.ErrNotStore) && !errors.Is(err, bolt.ErrNewerSchema) {
			t.Fatalf("Open (check %v): %v: not ErrCorrupt, ErrNotStore or ErrNewerSchema", check, err)
		}
		return
	}
	defer func() {
		if err := s.Close(); err != nil && !errors.Is(err, bolt.ErrCorrupt) {
			t.Errorf("Close (check %v): %v", check, err)
		}
	}()
	if !check {
		return // reads trust the page structure: see FuzzBoltFile
	}
	readErr := func(what string, err error) {
		t.Helper()
		if err == nil {
			return
		}
		if check {
			t.Fatalf("%s after a checked Open: %v", what, err)
		}
		if !errors.Is(err, bolt.ErrCorrupt) {
			t.Fatalf("%s: %v does not wrap ErrCorrupt", what, err)
		}
	}
	index, _, records, err := s.Load()
	readErr("Load", err)
	for i, r := range records {
		if r.Index != index+uint64(i)+1 {
			t.Fatalf("Load: record %d has Index %d after snapshot %d", i, r.Index, index)
		}
	}
	for _, c := range boltConvs {
		all, err := s.History(c, 0, 0)
		readErr("History", err)
		for i, m := range all {
			if m.Seq != uint64(i)+1 {
				t.Fatalf("History(%s): message %d has Seq %d", c, i, m.Seq)
			}
		}
		page, err := s.History(c, 1, 2)
		readErr("History (paged)", err)
		if err == nil && len(page) > 2 {
			t.Fatalf("History(%s, 1, 2) returned %d messages", c, len(page))
		}
	}
}

// openFDs counts this process's open file descriptors (0 where /proc is
// not there).
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(ents)
}

// boltSeedFile builds a small real store at path, as a runtime fills it:
// the records and history of a few kernel scenarios, and a snapshot that
// compacts the first of them. It returns the file's bytes.
func boltSeedFile(tb testing.TB, path string) []byte {
	tb.Helper()
	s, err := bolt.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	k := kernel.New(kernel.Config{})
	at := time.Unix(1_700_000_000, 0)
	var index uint64
	apply := func(in kernel.Input) {
		at = at.Add(time.Second)
		st := k.Apply(at, in)
		if !st.Log {
			return
		}
		index++
		b := port.Batch{Records: []kernel.Record{st.Record}, History: st.History}
		b.Records[0].Index = index
		if err := s.Append(b); err != nil {
			tb.Fatal(err)
		}
	}
	apply(kernel.Connect("u1", "s0"))
	apply(kernel.Invite("u0", "u1", "d", 3))
	apply(kernel.Accept("u1", "i1", "ok"))
	apply(kernel.SetGroup("g0", []string{"u0", "u1", "u2", "u3"}))
	apply(kernel.InviteInGroup("u0", "g0", []string{"u1", "u2", "u3"}, "group call", 2))
	apply(kernel.Reject("u2", "i2", "busy"))
	if err := s.SaveSnapshot(index, k.Snapshot()); err != nil {
		tb.Fatal(err)
	}
	apply(kernel.Invite("u1", "u2", "later", 0))
	apply(kernel.Modify("u2", "i3", "changed"))
	apply(kernel.Input{Op: kernel.OpTick}) // i2 times out for u1, u3
	apply(kernel.Input{Op: kernel.OpInvite, User: "u0", Invitees: []string{"u3"}, Data: "p", Timeout: 1,
		Push: &kernel.PushInfo{Title: "t", Desc: "call"}})
	apply(kernel.Cancel("u1", "i3", "bye"))
	apply(kernel.Input{Op: kernel.OpTick})
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestBoltSeedReadable: the seed store opens, and holds a snapshot, records
// after it and history in several conversations (else FuzzBoltFile would
// mutate a file that exercises little).
func TestBoltSeedReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seed.db")
	boltSeedFile(t, path)
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	index, snap, records, err := s.Load()
	if err != nil || index == 0 || len(snap) == 0 || len(records) < 3 {
		t.Fatalf("Load: index %d, %d snapshot bytes, %d records, %v", index, len(snap), len(records), err)
	}
	if _, err := kernel.Restore(kernel.Config{}, snap); err != nil {
		t.Fatalf("the seed's snapshot: %v", err)
	}
	convs := 0
	for _, c := range boltConvs {
		msgs, err := s.History(c, 0, 0)
		if err != nil {
			t.Fatalf("History(%s): %v", c, err)
		}
		if len(msgs) > 0 {
			convs++
		}
	}
	if convs < 3 {
		t.Fatalf("history in %d conversations, want at least 3", convs)
	}
}

// TestBoltOpenReleasesLockAfterBboltPanic: a store file whose freelist page
// is damaged makes bbolt panic inside Open after it mapped the file; Open
// then reports ErrCorrupt, and must not leave the file locked (a later Open
// in this process must not get ErrLocked). FuzzBoltFile found this.
func TestBoltOpenReleasesLockAfterBboltPanic(t *testing.T) {
	dir := t.TempDir()
	b := boltSeedFile(t, filepath.Join(dir, "seed.db"))
	damageFreelistPages(b)
	path := filepath.Join(dir, "damaged.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		_, err := bolt.Open(path, bolt.WithLockTimeout(50*time.Millisecond))
		if errors.Is(err, bolt.ErrLocked) {
			t.Fatalf("Open %d: %v: the failed Open before left the file locked", i+1, err)
		}
		if !errors.Is(err, bolt.ErrCorrupt) {
			t.Fatalf("Open %d: %v, want ErrCorrupt", i+1, err)
		}
	}
}

// damageFreelistPages sets the page type of the freelist page named by
// each of the two meta pages of a bbolt file (4 KiB pages) to 0.
func damageFreelistPages(b []byte) {
	const pageSize = 4096
	for meta := 0; meta < 2; meta++ {
		// page header (16 bytes), then magic, version, page size, flags
		// (4 bytes each), root bucket (16), freelist page ID (8).
		off := meta*pageSize + 16 + 16 + 16
		freelist := int(binary.LittleEndian.Uint64(b[off:]))
		if p := freelist * pageSize; p+10 <= len(b) {
			binary.LittleEndian.PutUint16(b[p+8:], 0)
		}
	}
}
