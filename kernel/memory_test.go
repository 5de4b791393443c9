package kernel_test

// What the kernel keeps (LIM-1, LIM-2), seen where only the kernel shows
// it: its documented defaults, the exact bounds of the request-ID memory,
// the snapshot's size and contents, the heap.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
)

func TestDocumentedDefaults(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"DefaultMaxIDBytes", kernel.DefaultMaxIDBytes, 128},
		{"DefaultMaxInvitees", kernel.DefaultMaxInvitees, 200},
		{"DefaultMaxDataBytes", kernel.DefaultMaxDataBytes, 8192},
		{"DefaultMaxOpenPerInviter", kernel.DefaultMaxOpenPerInviter, 100},
		{"DefaultMaxTimeoutSeconds", kernel.DefaultMaxTimeoutSeconds, 86400},
		{"DefaultRequestIDWindow", int64(kernel.DefaultRequestIDWindow), int64(10 * time.Minute)},
		{"DefaultMaxRequestIDs", kernel.DefaultMaxRequestIDs, 100_000},
		{"MaxInviteIDBytes", kernel.MaxInviteIDBytes, 127},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
		}
	}
}

// A request ID is remembered while now < first use + RequestIDWindow.
func TestRequestIDWindowBoundary(t *testing.T) {
	for _, window := range []time.Duration{0, time.Minute} {
		f := newFx(t, kernel.Config{RequestIDWindow: window})
		if window == 0 {
			window = kernel.DefaultRequestIDWindow
		}
		f.connect("alice", "a1")
		id, _ := f.okID(kernel.Invite("alice", "bob", "", 0))
		f.setNow(secs(1))
		mod := withReq(kernel.Modify("alice", id, "x"), "rw")
		f.ok(mod)
		f.now = at(secs(1) + window - 1)
		if res, outs := f.do(mod); !res.Duplicate || len(outs) != 0 {
			t.Errorf("window %v: retry 1ns before its end: got %+v, want a duplicate", window, res)
		}
		f.now = at(secs(1) + window)
		if res, outs := f.do(mod); res.Duplicate || res.Err != nil || !res.Changed || len(outs) != 2 {
			t.Errorf("window %v: retry at its end: got %+v (%d outputs), want it executed", window, res, len(outs))
		}
	}
}

func TestDefaultMaxRequestIDs(t *testing.T) {
	if testing.Short() {
		t.Skip("100k operations")
	}
	f := newFx(t, kernel.Config{})
	f.ok(kernel.Invite("alice", "bob", "", 0))
	in := kernel.Modify("alice", "i1", "")
	for i := 0; i <= kernel.DefaultMaxRequestIDs; i++ {
		in.RequestID = strconv.Itoa(i)
		if res, _ := f.do(in); res.Err != nil || res.Duplicate {
			t.Fatalf("request %d: got %+v, want executed", i, res)
		}
	}
	in.RequestID = "1"
	if res, _ := f.do(in); !res.Duplicate {
		t.Errorf("request 1 of %d: got %+v, want still remembered", kernel.DefaultMaxRequestIDs+1, res)
	}
	in.RequestID = "0"
	if res, _ := f.do(in); res.Duplicate {
		t.Errorf("request 0: got remembered after %d newer ones, want forgotten", kernel.DefaultMaxRequestIDs)
	}
}

func TestClosedInvitationsLeaveTheSnapshot(t *testing.T) {
	f := newFx(t, kernel.Config{MaxOpenPerInviter: 3})
	f.connect("alice", "a1")
	f.group("g", "alice", "bob", "carol", "dave")
	empty := f.k.Snapshot()
	for round := 0; round < 50; round++ {
		f.setNow(secs(round * 100))
		a, _ := f.okID(kernel.Invite("alice", "bob", "", 0))
		b, _ := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol", "dave"), "", 10))
		f.okID(kernel.Invite("alice", "carol", "", 5))
		f.ok(kernel.Accept("bob", a, ""))
		f.ok(kernel.Reject("bob", b, ""))
		d, _ := f.okID(kernel.Invite("bob", "dave", "", 0))
		f.ok(kernel.Cancel("bob", d, ""))
		f.setNow(secs(round*100 + 10))
		f.tick()
	}
	snap := f.k.Snapshot()
	if n := snapshotInvitations(t, snap); n != 0 {
		t.Errorf("invitations in the snapshot after 200 closed: got %d, want 0", n)
	}
	if len(snap) > len(empty)+4 { // now and seq may take a few more bytes
		t.Errorf("snapshot size after 200 closed: got %d bytes, want about the empty state's %d", len(snap), len(empty))
	}
}

func TestRequestMemoryIsBoundedInTheSnapshot(t *testing.T) {
	f := newFx(t, kernel.Config{MaxRequestIDs: 5, RequestIDWindow: time.Minute})
	id, _ := f.okID(kernel.Invite("alice", "bob", "", 0))
	base := len(f.k.Snapshot())
	var sizes []int
	for i := 0; i < 3000; i++ {
		f.ok(withReq(kernel.Modify("alice", id, ""), fmt.Sprintf("req-%04d", i)))
		if i%1000 == 999 {
			sizes = append(sizes, len(f.k.Snapshot()))
		}
	}
	if sizes[0] != sizes[2] || sizes[0] > base+5*40 {
		t.Errorf("snapshot sizes with 5 requests kept: got %v, want constant and at most %d", sizes, base+5*40)
	}
	f.setNow(time.Minute)
	f.tick()
	if got := len(f.k.Snapshot()); got > base+4 {
		t.Errorf("snapshot size after the window: got %d bytes, want about %d (no requests)", got, base)
	}
}

func TestClosedInvitationsLeaveTheHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("heap measurement")
	}
	f := newFx(t, kernel.Config{})
	const n = 20000
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	run := func(from int) {
		for i := from; i < from+n; i++ {
			u := "user-" + strconv.Itoa(i)
			id, _ := f.okID(kernel.Invite("inviter-"+strconv.Itoa(i), u, "", 0))
			f.ok(kernel.Reject(u, id, ""))
		}
	}
	run(0) // warm up buffers
	before := heap()
	run(n)
	after := heap()
	runtime.KeepAlive(f)
	if after > before && after-before > 1<<20 {
		t.Errorf("heap growth over %d closed invitations of distinct users: got %d bytes, want at most 1 MiB", n, after-before)
	}
}

// snapshotInvitations reads the count of invitations from a snapshot's
// documented header: magic, uvarint version, varint now, uvarint seq,
// uvarint count.
func snapshotInvitations(t *testing.T, snap []byte) uint64 {
	t.Helper()
	if !bytes.HasPrefix(snap, []byte("BECKONSN")) {
		t.Fatalf("snapshot without magic")
	}
	b := snap[8:]
	if v, n := binary.Uvarint(b); n <= 0 || v != 3 {
		t.Fatalf("snapshot version: got %d, want 3", v)
	} else {
		b = b[n:]
	}
	_, n := binary.Varint(b)
	b = b[n:]
	_, n = binary.Uvarint(b)
	b = b[n:]
	count, n := binary.Uvarint(b)
	if n <= 0 {
		t.Fatalf("bad snapshot header")
	}
	return count
}
