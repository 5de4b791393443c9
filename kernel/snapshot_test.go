package kernel_test

// Snapshot and Restore: a rich state round-trips byte for byte; damaged
// bytes of every kind give an error wrapping ErrCorrupt and never panic.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
)

// richKernel returns a kernel holding every kind of state: open 1:1 and
// group invitations with push info, online-only, partly answered, with and
// without timeouts; sessions; groups (one empty); remembered requests.
func richKernel(t testing.TB) *kernel.Kernel {
	t.Helper()
	f := world(t)
	f.group("empty")
	in := kernel.Invite("alice", "zed", "data-1", 30)
	in.Push = &kernel.PushInfo{Title: "T", Desc: "D", Ext: "E", Sound: "S"}
	in.RequestID = "req-1"
	f.ok(in)
	grp := kernel.InviteInGroup("alice", "g", list("bob", "carol", "dave"), "data-2", 0)
	grp.InviteID = "chosen"
	id, _ := f.okID(grp)
	f.ok(withReq(kernel.Accept("bob", id, ""), "req-2"))
	f.ok(kernel.Reject("carol", id, ""))
	onl := kernel.InviteInGroup("dave", "g", list("alice", "bob"), "", 12)
	onl.OnlineUserOnly = true
	f.ok(onl)
	closed, _ := f.okID(kernel.Invite("eve", "bob", "", 0))
	f.ok(kernel.Cancel("eve", closed, ""))
	f.setNow(secs(3)).ok(kernel.Invite("bob", "alice", "ünïcödé", 5))
	return f.k
}

func TestSnapshotRoundTrip(t *testing.T) {
	k := richKernel(t)
	snap := k.Snapshot()
	if !bytes.HasPrefix(snap, []byte("BECKONSN")) {
		t.Fatalf("snapshot does not start with the magic: %q", snap[:8])
	}
	if n := snapshotInvitations(t, snap); n != 4 || k.Open() != 4 {
		t.Fatalf("snapshot holds %d invitations, Open() %d, want 4", n, k.Open())
	}
	if !bytes.Equal(snap, k.Snapshot()) {
		t.Fatalf("two snapshots of one state differ")
	}
	r := mustRestore(t, kernel.Config{}, snap)
	if !bytes.Equal(r.Snapshot(), snap) {
		t.Fatalf("Snapshot(Restore(s)) != s")
	}
	if !r.Now().Equal(k.Now()) || r.Open() != k.Open() || r.Online("alice") != k.Online("alice") || r.Online("zed") {
		t.Errorf("restored kernel: Now %v Open %d", r.Now(), r.Open())
	}
	d1, ok1 := k.NextDeadline()
	d2, ok2 := r.NextDeadline()
	if ok1 != ok2 || !d1.Equal(d2) || !d1.Equal(at(secs(8))) {
		t.Errorf("NextDeadline %v %v, restored %v %v, want t0+8s", d1, ok1, d2, ok2)
	}
	// Both behave the same from here on.
	for _, in := range []kernel.Input{
		kernel.Connect("zed", "z1"),
		kernel.Accept("dave", "chosen", "x"),
		kernel.Modify("alice", "i1", "m"),
		withReq(kernel.Accept("bob", "chosen", ""), "req-2"),
		kernel.Input{Op: kernel.OpTick},
		kernel.Connect("bob", "b2"),
	} {
		for _, when := range []time.Time{at(secs(5)), at(secs(40))} {
			ra, oa := apply(k, when, in)
			ca := cloneOutputs(oa)
			rb, ob := apply(r, when, in)
			if errText(ra.Err) != errText(rb.Err) || ra.Changed != rb.Changed || ra.Duplicate != rb.Duplicate ||
				ra.InviteID != rb.InviteID {
				t.Errorf("%s at %v: %+v vs restored %+v", in.Op, when, ra, rb)
			}
			wantOutputs(t, cloneOutputs(ob), ca)
		}
	}
	if !bytes.Equal(k.Snapshot(), r.Snapshot()) {
		t.Errorf("original and restored diverged")
	}
}

func TestSnapshotEmpty(t *testing.T) {
	k := kernel.New(kernel.Config{})
	snap := k.Snapshot()
	r := mustRestore(t, kernel.Config{}, snap)
	if !bytes.Equal(r.Snapshot(), snap) || r.Open() != 0 {
		t.Errorf("empty kernel does not round-trip")
	}
	if len(snap) > 32 {
		t.Errorf("empty snapshot is %d bytes", len(snap))
	}
}

func TestSnapshotIsCanonical(t *testing.T) {
	// The same state reached in different orders of presence and group
	// changes gives the same bytes.
	a := newFx(t, kernel.Config{})
	a.connect("x", "1")
	a.connect("y", "1")
	a.group("g", "m", "n", "o")
	a.group("h", "p")
	b := newFx(t, kernel.Config{})
	b.group("h", "p")
	b.group("g", "o", "m")
	b.ok(kernel.JoinGroup("g", "n"))
	b.connect("y", "1")
	b.connect("x", "1", "2")
	b.ok(kernel.Disconnect("x", "2"))
	if !bytes.Equal(a.k.Snapshot(), b.k.Snapshot()) {
		t.Errorf("same state, different snapshots")
	}
}

func requireCorrupt(t *testing.T, what string, b []byte) {
	t.Helper()
	var k *kernel.Kernel
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("%s: Restore panicked: %v", what, p)
			}
		}()
		k, err = kernel.Restore(kernel.Config{}, b)
	}()
	if err == nil || k != nil {
		t.Fatalf("%s: Restore accepted it (err %v)", what, err)
	}
	if !errors.Is(err, kernel.ErrCorrupt) {
		t.Fatalf("%s: error %v does not wrap ErrCorrupt", what, err)
	}
}

// withCRC replaces the trailing checksum of body+crc with a correct one.
func withCRC(b []byte) []byte {
	body := b[:len(b)-4]
	return binary.LittleEndian.AppendUint32(bytes.Clone(body), crc32.ChecksumIEEE(body))
}

func TestSnapshotCorrupt(t *testing.T) {
	snap := richKernel(t).Snapshot()
	requireCorrupt(t, "nil", nil)
	requireCorrupt(t, "empty", []byte{})
	requireCorrupt(t, "magic only", []byte("BECKONSN"))
	for n := 0; n < len(snap); n++ {
		requireCorrupt(t, "prefix of "+itoa(n)+" bytes", snap[:n])
	}
	for i := 0; i < len(snap); i++ {
		for bit := 0; bit < 8; bit++ {
			b := bytes.Clone(snap)
			b[i] ^= 1 << bit
			requireCorrupt(t, "bit flip", b)
		}
	}
	requireCorrupt(t, "trailing byte", append(bytes.Clone(snap), 0))
	requireCorrupt(t, "trailing byte, checksum fixed", withCRC(append(append(bytes.Clone(snap[:len(snap)-4]), 0), 0, 0, 0, 0)))
	bad := bytes.Clone(snap)
	copy(bad, "BECKONSX")
	requireCorrupt(t, "wrong magic", bad)
	requireCorrupt(t, "wrong magic, checksum fixed", withCRC(bad))
	for _, v := range []uint64{0, 4, 200} {
		b := append([]byte("BECKONSN"), binary.AppendUvarint(nil, v)...)
		b = append(b, snap[9:]...) // version 3 is one byte
		requireCorrupt(t, "version "+itoa(int(v)), withCRC(b))
	}
	requireCorrupt(t, "a record", kernel.AppendRecord(nil, kernel.Record{Index: 1, At: t0, Input: kernel.Connect("a", "b")}))
}

// TestSnapshotMutatedBody changes each byte of the body to a few values
// and fixes the checksum, so the decoder itself is exercised: it must
// reject or accept without panicking; what it accepts must be a working
// kernel whose snapshot round-trips.
func TestSnapshotMutatedBody(t *testing.T) {
	snap := richKernel(t).Snapshot()
	accepted := 0
	for i := 8; i < len(snap)-4; i++ {
		for _, v := range []byte{0, 1, 2, 0x7f, 0x80, 0xff, snap[i] + 1, snap[i] - 1} {
			if v == snap[i] {
				continue
			}
			b := bytes.Clone(snap)
			b[i] = v
			b = withCRC(b)
			if restoredOK(t, b) {
				accepted++
			}
		}
	}
	t.Logf("%d of the mutated snapshots decode", accepted)
}

// restoredOK restores b; on success it checks the kernel works and
// round-trips. It fails the test on a panic or a non-ErrCorrupt error.
func restoredOK(t *testing.T, b []byte) bool {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("panic on %x: %v", b, p)
		}
	}()
	k, err := kernel.Restore(kernel.Config{}, b)
	if err != nil {
		if !errors.Is(err, kernel.ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		return false
	}
	s1 := k.Snapshot()
	k2, err := kernel.Restore(kernel.Config{}, s1)
	if err != nil {
		t.Fatalf("a snapshot of a restored kernel does not restore: %v", err)
	}
	if !bytes.Equal(k2.Snapshot(), s1) {
		t.Fatalf("a restored kernel's snapshot does not round-trip")
	}
	// Drive it: every user acts on every open invitation, then time passes.
	for _, u := range []string{"alice", "bob", "carol", "dave", "eve", "zed"} {
		for _, id := range []string{"i1", "chosen", "i3", "i5"} {
			apply(k, k.Now(), kernel.Accept(u, id, ""))
			apply(k, k.Now(), kernel.Modify(u, id, ""))
		}
		apply(k, k.Now(), kernel.Connect(u, "new"))
	}
	tick(k, k.Now().Add(1000*time.Hour))
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSnapshotSessionsAfterRestore: after a restart a runtime walks the
// restored sessions (users sorted, sessions in connection order) and
// disconnects each while iterating.
func TestSnapshotSessionsAfterRestore(t *testing.T) {
	f := newFx(t, kernel.Config{})
	f.connect("carol", "c2", "c1")
	f.connect("alice", "a1")
	f.connect("bob", "b9", "b1", "b5")
	f.ok(kernel.Invite("alice", "bob", "", 0))
	k := mustRestore(t, kernel.Config{}, f.k.Snapshot())
	var got []string
	for s := range k.Sessions() {
		user, session := s.User, s.Session
		got = append(got, user+"/"+session)
		if res, _ := apply(k, f.now, kernel.Disconnect(user, session)); res.Err != nil || !res.Changed {
			t.Fatalf("disconnect %s/%s: %+v", user, session, res)
		}
	}
	want := []string{"alice/a1", "bob/b9", "bob/b1", "bob/b5", "carol/c2", "carol/c1"}
	if !slices.Equal(got, want) {
		t.Errorf("Sessions() = %q, want %q", got, want)
	}
	for range k.Sessions() {
		t.Fatalf("sessions left after disconnecting all")
	}
	if k.Online("bob") || k.Open() != 1 {
		t.Errorf("Online(bob) %v, Open %d", k.Online("bob"), k.Open())
	}
	// The invitation is still pending for bob: his next device rings.
	res, outs := apply(k, f.now, kernel.Connect("bob", "b2"))
	if res.Err != nil || len(outs) != 1 || outs[0].Event.Type != kernel.EventNewInvitation {
		t.Errorf("bob reconnecting: %+v\n%s", res, formatOutputs(cloneOutputs(outs)))
	}
}
