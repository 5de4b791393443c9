package bolt_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	"github.com/beckonhq/beckon/port/storetest"
	bbolt "go.etcd.io/bbolt"
)

// fixture is a closed store with several pages of every kind: log records
// (some compacted behind a snapshot, so the freelist is not empty), a
// snapshot, one large and several small conversations, their history
// partly folded (by the snapshot) and partly in the journal, and closed
// calls likewise partly folded into calllog and partly in the journal.
type fixture struct {
	path    string
	content []byte
	pages   map[string][]int // page IDs by bbolt page type
	hwm     int64            // bytes below bbolt's high-water mark
	pageSz  int

	snapIndex uint64
	snap      []byte
	records   []kernel.Record
	convs     map[kernel.Conversation][]port.HistoryMessage
	calls     []kernel.ClosedCall
}

var convsOfFixture = []kernel.Conversation{
	kernel.C2C("alice", "bob"), kernel.GroupConversation("g1"), kernel.C2C("carol", "dave"), kernel.C2C("erin", "frank"),
}

var (
	fixtureOnce sync.Once
	theFixture  *fixture
)

// newFixture returns a copy of the fixture in the test's own directory
// (built once per test binary).
func newFixture(t testing.TB) *fixture {
	t.Helper()
	fixtureOnce.Do(func() { theFixture = buildFixture(t) })
	if theFixture == nil {
		t.Fatal("building the fixture failed")
	}
	f := *theFixture
	f.path = dbPath(t)
	f.reset(t)
	return &f
}

func buildFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{path: dbPath(t), convs: map[kernel.Conversation][]port.HistoryMessage{}}
	s := mustOpen(t, f.path)
	idx := uint64(0)
	for b := range 60 {
		batch := port.Batch{Records: storetest.Records(idx+1, idx+20)}
		idx += 20
		big := convsOfFixture[0]
		for i := range 8 {
			batch.History = append(batch.History, storetest.History(big, b*8+i))
		}
		if b%10 == 0 {
			for _, c := range convsOfFixture[1:] {
				batch.History = append(batch.History, storetest.History(c, b))
			}
		}
		for _, h := range batch.History {
			f.convs[h.Conv] = append(f.convs[h.Conv], storetest.Message(t, h, uint64(len(f.convs[h.Conv])+1)))
		}
		for i := range 2 {
			batch.Closed = append(batch.Closed, storetest.Call(idx, 2*b+i))
		}
		f.calls = append(f.calls, batch.Closed...)
		if err := s.Append(batch); err != nil {
			t.Fatal(err)
		}
		if b == 40 {
			if err := s.SaveSnapshot(700, bytes.Repeat([]byte("S"), 6000)); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.snapIndex, f.snap, f.records = mustLoad(t, s)
	if folded, journal, err := bolt.HistoryLayout(s, convsOfFixture[0].String()); err != nil || folded == 0 || journal == 0 {
		t.Fatalf("fixture: %d messages folded and %d in the journal (%v), want some of each", folded, journal, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.content, err = os.ReadFile(f.path); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(f.path, 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f.pages = map[string][]int{}
	f.pageSz = db.Info().PageSize
	_ = db.View(func(tx *bbolt.Tx) error {
		f.hwm = tx.Size()
		for id := 0; ; id++ {
			p, err := tx.Page(id)
			if err != nil {
				t.Fatal(err)
			}
			if p == nil {
				break
			}
			f.pages[p.Type] = append(f.pages[p.Type], id)
			id += p.OverflowCount
		}
		return nil
	})
	for _, typ := range []string{"meta", "freelist", "leaf", "branch", "free"} {
		if len(f.pages[typ]) == 0 {
			t.Fatalf("fixture has no %s page (%v)", typ, f.pages)
		}
	}
	return f
}

// reset writes the fixture's bytes back.
func (f *fixture) reset(t testing.TB) {
	if err := os.WriteFile(f.path, f.content, 0o600); err != nil {
		t.Fatal(err)
	}
}

// intact fails the test unless s holds exactly the fixture's data.
func (f *fixture) intact(t testing.TB, s *bolt.Store, label string) {
	t.Helper()
	i, snap, rs, err := s.Load()
	if err != nil {
		t.Fatalf("%s: opened, then Load: %v", label, err)
	}
	if i != f.snapIndex || !bytes.Equal(snap, f.snap) {
		t.Fatalf("%s: opened with snapshot (%d, %d bytes), want (%d, %d bytes)", label, i, len(snap), f.snapIndex, len(f.snap))
	}
	storetest.SameRecords(t, rs, f.records)
	for c, msgs := range f.convs {
		got, err := s.History(c, 0, 0)
		if err != nil {
			t.Fatalf("%s: opened, then History(%s): %v", label, c, err)
		}
		sameHistory(t, got, msgs)
	}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		got, err := s.Records(u, port.RecordCursor{}, 0)
		if err != nil {
			t.Fatalf("%s: opened, then Records(%s): %v", label, u, err)
		}
		if want := storetest.WantRecords(u, f.calls, port.Retention{}); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: opened, then Records(%s): got %d records, want %d, or they differ", label, u, len(got), len(want))
		}
	}
}

// damaged is what every damaged file must give: an error naming the path
// and the kind of problem, or the data intact (when the damage hit bytes
// nobody reads, or bbolt's other meta page). It never panics and never
// leaves a fresh store: a refused file is left as it was. It reports
// whether the store opened.
func (f *fixture) damaged(t testing.TB, label string) bool {
	t.Helper()
	before, _ := os.ReadFile(f.path)
	s, err := bolt.Open(f.path, bolt.WithLockTimeout(50_000_000))
	if err != nil {
		if !errors.Is(err, bolt.ErrCorrupt) && !errors.Is(err, bolt.ErrNotStore) && !errors.Is(err, bolt.ErrNewerSchema) {
			t.Fatalf("%s: error %v does not say the file is damaged", label, err)
		}
		if !strings.Contains(err.Error(), f.path) {
			t.Fatalf("%s: error %q does not name the path", label, err)
		}
		if after, _ := os.ReadFile(f.path); !bytes.Equal(before, after) {
			t.Fatalf("%s: a refused open changed the file", label)
		}
		return false
	}
	defer s.Close()
	f.intact(t, s, label)
	// It also stays intact through a write and a reopen.
	next := f.records[len(f.records)-1].Index + 1
	if err := s.Append(port.Batch{Records: storetest.Records(next, next)}); err != nil {
		t.Fatalf("%s: opened, then Append: %v", label, err)
	}
	s.Close()
	s2, err := bolt.Open(f.path) // runs the whole check
	if err != nil {
		t.Fatalf("%s: reopening after a write: %v", label, err)
	}
	defer s2.Close()
	if _, _, rs, err := s2.Load(); err != nil || len(rs) != len(f.records)+1 {
		t.Fatalf("%s: after a write and reopen: %d records, %v", label, len(rs), err)
	}
	return true
}

// full reports whether to damage every byte instead of a sample
// (BECKON_CORRUPT_FULL=1; minutes instead of seconds).
func full() bool { return os.Getenv("BECKON_CORRUPT_FULL") != "" }

// sample returns offsets from..to (exclusive) of page, every step-th byte,
// or every byte with full().
func (f *fixture) sample(page int, from, to, step int64) []int64 {
	if full() {
		from, to, step = 0, int64(f.pageSz), 1
	}
	var offs []int64
	for o := from; o < to && o < int64(f.pageSz); o += step {
		offs = append(offs, int64(page)*int64(f.pageSz)+o)
	}
	return offs
}

// pagesOf returns up to n pages of a type, spread over the file (all with full()).
func (f *fixture) pagesOf(typ string, n int) []int {
	ids := f.pages[typ]
	if full() || len(ids) <= n {
		return ids
	}
	out := make([]int, 0, n)
	for i := range n {
		out = append(out, ids[i*len(ids)/n])
	}
	return out
}

// flip xors the byte at off with mask.
func (f *fixture) flip(t testing.TB, off int64, mask byte) {
	b := bytes.Clone(f.content)
	b[off] ^= mask
	if err := os.WriteFile(f.path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFixtureOpensClean(t *testing.T) {
	f := newFixture(t)
	s := mustOpen(t, f.path)
	defer s.Close()
	f.intact(t, s, "clean")
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	t.Logf("fixture: %d bytes, %d pages below the high-water mark, pages %v", len(f.content), f.hwm/int64(f.pageSz), counts(f.pages))
}

func counts(m map[string][]int) map[string]int {
	c := map[string]int{}
	for k, v := range m {
		c[k] = len(v)
	}
	return c
}

func TestZeroLengthFile(t *testing.T) {
	f := newFixture(t)
	if err := os.Truncate(f.path, 0); err != nil {
		t.Fatal(err)
	}
	_, err := bolt.Open(f.path)
	wantErr(t, err, bolt.ErrNotStore, f.path)
	if !strings.Contains(err.Error(), "empty") {
		t.Fatalf("error %q does not say the file is empty", err)
	}
	if fi, _ := os.Stat(f.path); fi.Size() != 0 {
		t.Fatal("the empty file was initialised")
	}
}

func TestTruncated(t *testing.T) {
	f := newFixture(t)
	ps := int64(f.pageSz)
	for _, n := range []int64{1, 15, 100, 4095, ps, ps + 80, 2*ps - 1, 2 * ps, 3 * ps, 4*ps + 17, f.hwm / 2, f.hwm - ps, f.hwm - 1} {
		f.reset(t)
		if err := os.Truncate(f.path, n); err != nil {
			t.Fatal(err)
		}
		label := fmt.Sprintf("truncated to %d of %d bytes", n, len(f.content))
		if f.damaged(t, label) {
			t.Fatalf("%s: opened", label)
		}
	}
	// Cutting only what lies past the high-water mark loses nothing.
	if int64(len(f.content)) > f.hwm {
		f.reset(t)
		if err := os.Truncate(f.path, f.hwm); err != nil {
			t.Fatal(err)
		}
		if !f.damaged(t, "truncated at the high-water mark") {
			t.Fatal("a file cut at its high-water mark was refused")
		}
	}
}

// flips damages one byte at a time at each offset of pages of one type and
// checks the outcome; it returns how many damaged files were refused and
// how many opened intact.
func (f *fixture) flips(t *testing.T, typ string, offsets func(page int) []int64, seed uint64) (refused, opened int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, page := range f.pagesOf(typ, 8) {
		for _, off := range offsets(page) {
			mask := byte(1 + rng.IntN(255))
			f.flip(t, off, mask)
			if f.damaged(t, fmt.Sprintf("%s page %d: byte %d ^ %#x", typ, page, off, mask)) {
				opened++
			} else {
				refused++
			}
		}
	}
	t.Logf("%s pages: %d damaged files refused, %d opened intact", typ, refused, opened)
	return refused, opened
}

func TestMetaPagesDamaged(t *testing.T) {
	f := newFixture(t)
	ps := int64(f.pageSz)
	every := func(page int) []int64 { // the page header and the meta record, and a few bytes beyond
		return append(f.sample(page, 0, 16+64, 3), int64(page)*ps+100, int64(page)*ps+ps-1)
	}
	f.flips(t, "meta", every, 1)

	// Both meta pages damaged: refused.
	b := bytes.Clone(f.content)
	b[16+56] ^= 0xff    // checksum of page 0
	b[ps+16+56] ^= 0xff // checksum of page 1
	if err := os.WriteFile(f.path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if f.damaged(t, "both meta pages") {
		t.Fatal("opened with both meta pages damaged")
	}
}

// After one meta page is damaged, Check says so (and Open still works).
func TestCheckReportsDamagedMetaPage(t *testing.T) {
	f := newFixture(t)
	f.flip(t, 16+56, 0xff) // checksum of meta page 0
	s := mustOpen(t, f.path)
	defer s.Close()
	f.intact(t, s, "meta page 0 damaged")
	err := s.Check()
	if !errors.Is(err, bolt.ErrCorrupt) || !strings.Contains(err.Error(), "meta page 0") {
		t.Fatalf("Check: %v, want a report of meta page 0", err)
	}
}

func TestFreelistDamaged(t *testing.T) {
	f := newFixture(t)
	refused, _ := f.flips(t, "freelist", func(page int) []int64 {
		return f.sample(page, 0, 16+8*int64(len(f.pages["free"])+2), 2)
	}, 2)
	if refused == 0 {
		t.Fatal("no damaged freelist was refused")
	}
}

func TestLeafPagesDamaged(t *testing.T) {
	f := newFixture(t)
	ps := int64(f.pageSz)
	rng := rand.New(rand.NewPCG(3, 3))
	refused, _ := f.flips(t, "leaf", func(page int) []int64 {
		if full() {
			return f.sample(page, 0, 0, 1)
		}
		offs := []int64{int64(page)*ps + 0, int64(page)*ps + 8, int64(page)*ps + 10, int64(page)*ps + 12}
		for range 16 {
			offs = append(offs, int64(page)*ps+16+rng.Int64N(ps-16))
		}
		return offs
	}, 4)
	if refused == 0 {
		t.Fatal("no damaged leaf page was refused")
	}
}

func TestBranchPagesDamaged(t *testing.T) {
	f := newFixture(t)
	refused, _ := f.flips(t, "branch", func(page int) []int64 {
		return f.sample(page, 0, 16+16*24, 5)
	}, 5)
	if refused == 0 {
		t.Fatal("no damaged branch page was refused")
	}
}

// With WithoutOpenCheck a damaged leaf may open; then reading it gives
// ErrCorrupt or the right data, never a panic or wrong data.
func TestLeafDamagedWithoutOpenCheck(t *testing.T) {
	f := newFixture(t)
	ps := int64(f.pageSz)
	rng := rand.New(rand.NewPCG(6, 6))
	var caught int
	for _, page := range f.pagesOf("leaf", 8) {
		for range 8 {
			f.flip(t, int64(page)*ps+rng.Int64N(ps), byte(1+rng.IntN(255)))
			s, err := bolt.Open(f.path, bolt.WithoutOpenCheck())
			if err != nil {
				if !errors.Is(err, bolt.ErrCorrupt) && !errors.Is(err, bolt.ErrNotStore) && !errors.Is(err, bolt.ErrNewerSchema) {
					t.Fatalf("open: %v", err)
				}
				caught++
				continue
			}
			bad := false
			if _, _, rs, err := s.Load(); err != nil {
				if !errors.Is(err, bolt.ErrCorrupt) {
					t.Fatalf("Load: %v", err)
				}
				bad = true
			} else {
				storetest.SameRecords(t, rs, f.records)
			}
			for c, msgs := range f.convs {
				got, err := s.History(c, 0, 0)
				if err != nil {
					if !errors.Is(err, bolt.ErrCorrupt) {
						t.Fatalf("History: %v", err)
					}
					bad = true
					continue
				}
				if len(got) == 0 {
					// A damaged key can hide a whole conversation from a
					// store opened without the check: Check must see it.
					bad = true
					continue
				}
				sameHistory(t, got, msgs)
			}
			if bad {
				caught++
				if err := s.Check(); !errors.Is(err, bolt.ErrCorrupt) {
					t.Fatalf("reads found damage that Check does not: %v", err)
				}
			}
			_ = s.Close()
		}
	}
	if caught == 0 {
		t.Fatal("no damage was caught")
	}
}

func TestForeignFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"short.txt": []byte("hello, world\n"),
		"long.txt":  bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 2000),
		"zeros":     make([]byte, 64<<10),
		"ones":      bytes.Repeat([]byte{0xff}, 64<<10),
	} {
		path := dir + "/" + name
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := bolt.Open(path)
		if !errors.Is(err, bolt.ErrNotStore) && !errors.Is(err, bolt.ErrCorrupt) {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("%s: error %q does not name the path", name, err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, content) {
			t.Fatalf("%s: changed by the refused open", name)
		}
		t.Logf("%s: %v", name, err)
	}
}

// A freelist that lists a page past the end is refused before bbolt maps
// the file, with the check and without it (bbolt would allocate that page
// and write far past the end of the file).
func TestFreelistPagePastTheEnd(t *testing.T) {
	f := newFixture(t)
	ps := int64(f.pageSz)
	page := int64(f.pages["freelist"][0])
	b := bytes.Clone(f.content)
	if count := binary.NativeEndian.Uint16(b[page*ps+10:]); count == 0 || count == 0xFFFF {
		t.Fatalf("fixture freelist holds %d entries", count)
	}
	binary.NativeEndian.PutUint64(b[page*ps+16:], 1<<40)
	for _, opts := range [][]bolt.Option{nil, {bolt.WithoutOpenCheck()}} {
		if err := os.WriteFile(f.path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := bolt.Open(f.path, opts...)
		wantErr(t, err, bolt.ErrCorrupt, f.path)
		if after, _ := os.ReadFile(f.path); !bytes.Equal(after, b) {
			t.Fatal("the refused open changed the file")
		}
	}
}
