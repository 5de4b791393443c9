package kernel_test

// AppendRecord and DecodeRecord: every Op round-trips with every field it
// can carry; damaged records give an error wrapping ErrCorrupt.

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
)

// recordSamples has, for every Op, records with its fields set, plus
// inputs the codec must carry even though Apply would refuse them.
func recordSamples() []kernel.Record {
	push := &kernel.PushInfo{Title: "title", Desc: "desc", Ext: `{"k":"v"}`, Sound: "s.caf"}
	full := kernel.Input{Op: kernel.OpInvite, User: "alice", Session: "phone", RequestID: "req-1", InviteID: "inv-1",
		Group: "g", Invitees: list("bob", "carol"), Data: strings.Repeat("ü", 3000), OnlineUserOnly: true, Timeout: 86400, Push: push}
	one := kernel.Invite("alice", "bob", "d", 30)
	one.Push, one.Session, one.RequestID, one.InviteID = push, "laptop", "r", "i1"
	emptyPush := kernel.Invite("alice", "bob", "", 0)
	emptyPush.Push = &kernel.PushInfo{}
	group := kernel.InviteInGroup("alice", "g", list("bob", "carol", "dave"), "", 0)
	group.OnlineUserOnly = true
	inputs := []kernel.Input{
		one, emptyPush, group,
		withReq(kernel.Cancel("alice", "i1", "bye"), "r2"),
		kernel.Accept("bob", "i1", "ok"),
		kernel.Reject("bob", "i1", ""),
		kernel.Modify("carol", "i1", "new"),
		kernel.Connect("bob", "phone"),
		kernel.Disconnect("bob", "phone"),
		kernel.Suspend("bob", "phone"),
		kernel.Resume("bob", "phone", 120),
		{Op: kernel.OpConnect, User: "bob", Session: "tab", Timeout: 30},
		kernel.SetGroup("g", list("alice", "bob")),
		kernel.SetGroup("g", nil),
		kernel.JoinGroup("g", "dave"),
		kernel.LeaveGroup("g", "dave"),
		{Op: kernel.OpTick},
		full,
		{Op: kernel.OpInvite, Timeout: -7},
		{Op: kernel.OpInvite, Invitees: list("", "\x00", "\xff")},
	}
	times := []time.Time{t0, time.Unix(0, 0), time.Unix(0, -1), time.Unix(0, 1<<62), at(1)}
	var recs []kernel.Record
	for i, in := range inputs {
		recs = append(recs, kernel.Record{Index: uint64(i) + 1, At: times[i%len(times)], Input: in})
	}
	recs = append(recs, kernel.Record{Index: 1<<64 - 1, At: t0, Input: kernel.Input{Op: kernel.OpTick}})
	return recs
}

func sameRecord(a, b kernel.Record) bool {
	if !a.At.Equal(b.At) {
		return false
	}
	a.At, b.At = time.Time{}, time.Time{}
	a.Input.Invitees, b.Input.Invitees = cloneList(a.Input.Invitees), cloneList(b.Input.Invitees)
	return reflect.DeepEqual(a, b)
}

func TestRecordRoundTrip(t *testing.T) {
	ops := map[kernel.Op]bool{}
	for _, r := range recordSamples() {
		ops[r.Input.Op] = true
		b := kernel.AppendRecord(nil, r)
		got, err := kernel.DecodeRecord(b)
		if err != nil {
			t.Errorf("%s: DecodeRecord: %v", r.Input.Op, err)
			continue
		}
		if !sameRecord(got, r) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", r.Input.Op, got, r)
		}
		if got.At.UnixNano() != r.At.UnixNano() {
			t.Errorf("%s: At %d, want %d", r.Input.Op, got.At.UnixNano(), r.At.UnixNano())
		}
		if (got.Input.Push == nil) != (r.Input.Push == nil) {
			t.Errorf("%s: push presence lost", r.Input.Op)
		}
		// Appending keeps what dst held.
		prefix := []byte("prefix")
		if b2 := kernel.AppendRecord(bytes.Clone(prefix), r); !bytes.Equal(b2, append(prefix, b...)) {
			t.Errorf("%s: AppendRecord does not append", r.Input.Op)
		}
		// The encoding is deterministic.
		if !bytes.Equal(b, kernel.AppendRecord(nil, r)) {
			t.Errorf("%s: two encodings differ", r.Input.Op)
		}
	}
	for _, op := range allOps {
		if !ops[op] {
			t.Errorf("no sample for %s", op)
		}
	}
}

func requireRecordCorrupt(t *testing.T, what string, b []byte) {
	t.Helper()
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("%s: DecodeRecord panicked: %v", what, p)
			}
		}()
		_, err = kernel.DecodeRecord(b)
	}()
	if err == nil {
		t.Fatalf("%s: DecodeRecord accepted %x", what, b)
	}
	if !errors.Is(err, kernel.ErrCorrupt) {
		t.Fatalf("%s: error %v does not wrap ErrCorrupt", what, err)
	}
}

func TestRecordCorrupt(t *testing.T) {
	for _, r := range recordSamples() {
		b := kernel.AppendRecord(nil, r)
		for n := 0; n < len(b); n++ {
			requireRecordCorrupt(t, r.Input.Op.String()+" truncated", b[:n])
		}
		requireRecordCorrupt(t, r.Input.Op.String()+" trailing byte", append(bytes.Clone(b), 0))
		v := bytes.Clone(b)
		v[0] = 2
		requireRecordCorrupt(t, "version 2", v)
		v[0] = 0
		requireRecordCorrupt(t, "version 0", v)
	}
	// Unknown op, unknown flags, a count larger than the input.
	base := kernel.AppendRecord(nil, kernel.Record{Index: 1, At: time.Unix(0, 0), Input: kernel.Input{Op: kernel.OpTick}})
	// version, uvarint 1, varint 0, op, flags, ...
	if base[3] != byte(kernel.OpTick) {
		t.Fatalf("layout changed: %x", base)
	}
	for _, op := range []byte{0, byte(kernel.OpResume) + 1, 255} {
		b := bytes.Clone(base)
		b[3] = op
		requireRecordCorrupt(t, "op "+itoa(int(op)), b)
	}
	for _, flags := range []byte{4, 8, 0x80} {
		b := bytes.Clone(base)
		b[4] = flags
		requireRecordCorrupt(t, "flags "+itoa(int(flags)), b)
	}
	huge := append(bytes.Clone(base[:len(base)-1]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
	requireRecordCorrupt(t, "huge invitee count", huge)
	requireRecordCorrupt(t, "snapshot", kernel.New(kernel.Config{}).Snapshot())
}
