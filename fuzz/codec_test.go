package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/beckonhq/beckon/conformance"
	"github.com/beckonhq/beckon/conformance/kernelharness"
	"github.com/beckonhq/beckon/kernel"
)

// snapshotMagic starts every snapshot (kernel/snapshot.go).
const snapshotMagic = "BECKONSN"

// FuzzSignalingInfo: GetSignalingInfo of anything either fails with
// ErrNotSignalingMessage or returns a valid envelope that encodes back
// (MarshalSignalingInfo) to one that parses to the same info (HIS-3).
func FuzzSignalingInfo(f *testing.F) {
	for _, b := range signalingSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		checkSignalingInfo(t, msg)
	})
}

func checkSignalingInfo(t *testing.T, msg []byte) {
	info, err := kernel.GetSignalingInfo(msg)
	if err != nil {
		if !errors.Is(err, kernel.ErrNotSignalingMessage) {
			t.Fatalf("error %v does not wrap ErrNotSignalingMessage", err)
		}
		if kernel.Code(err) != 6017 {
			t.Fatalf("error %v has code %d, want 6017", err, kernel.Code(err))
		}
		if !reflect.DeepEqual(info, kernel.SignalingInfo{}) {
			t.Fatalf("error %v with a non-zero info %+v", err, info)
		}
		return
	}
	if len(msg) > kernel.MaxSignalingMessageBytes {
		t.Fatalf("accepted %d bytes, above MaxSignalingMessageBytes", len(msg))
	}
	switch {
	case info.BusinessID != kernel.BusinessID, info.InviteID == "", info.Inviter == "",
		info.ActionType < kernel.ActionInvite, info.ActionType > kernel.ActionModify, info.Timeout < 0,
		info.InviteeList == nil:
		t.Fatalf("accepted an invalid envelope: %+v", info)
	}
	b, err := kernel.MarshalSignalingInfo(info)
	if err != nil {
		t.Fatalf("MarshalSignalingInfo(%+v): %v", info, err)
	}
	back, err := kernel.GetSignalingInfo(b)
	if err != nil {
		t.Fatalf("the re-encoded envelope does not parse: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(back, info) {
		t.Fatalf("re-encoding changed the envelope:\n%+v\n%+v", info, back)
	}
	b2, err := kernel.MarshalSignalingInfo(back)
	if err != nil || !bytes.Equal(b, b2) {
		t.Fatalf("encoding is not stable: %v\n%s\n%s", err, b, b2)
	}
}

// TestSignalingInfoHugeInput: a huge input is rejected without reading it
// (bounded memory), and one at the limit is still read.
func TestSignalingInfoHugeInput(t *testing.T) {
	valid := []byte(`{"businessID":1,"inviteID":"i1","inviter":"u0","inviteeList":["u1"],"actionType":1}`)
	at := padJSON(valid, kernel.MaxSignalingMessageBytes)
	if _, err := kernel.GetSignalingInfo(at); err != nil {
		t.Fatalf("a valid envelope of exactly MaxSignalingMessageBytes: %v", err)
	}
	huge := padJSON(valid, 64<<20)
	var before, after runtimeMem
	before.read()
	_, err := kernel.GetSignalingInfo(huge)
	after.read()
	if !errors.Is(err, kernel.ErrNotSignalingMessage) {
		t.Fatalf("64 MiB input: %v, want ErrNotSignalingMessage", err)
	}
	if n := after.alloc - before.alloc; n > 1<<20 {
		t.Fatalf("64 MiB input: %d bytes allocated to reject it", n)
	}
}

// padJSON pads a JSON object with spaces before its closing brace to n bytes.
func padJSON(obj []byte, n int) []byte {
	b := make([]byte, 0, n)
	b = append(b, obj[:len(obj)-1]...)
	b = append(b, bytes.Repeat([]byte{' '}, n-len(obj))...)
	return append(b, '}')
}

// FuzzRecord: DecodeRecord of anything either fails with ErrCorrupt or
// returns a record that AppendRecord encodes to the same bytes; the record
// can then be applied without panic.
func FuzzRecord(f *testing.F) {
	for _, b := range corpusFromRuns(f).records {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := kernel.DecodeRecord(b)
		if err != nil {
			if !errors.Is(err, kernel.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if again := kernel.AppendRecord(nil, r); !bytes.Equal(again, b) {
			t.Fatalf("record %+v re-encodes differently:\n in: %x\nout: %x", r, b, again)
		}
		if again := kernel.AppendRecord([]byte("prefix"), r); !bytes.Equal(again[6:], b) || string(again[:6]) != "prefix" {
			t.Fatalf("AppendRecord does not append")
		}
		k := kernel.New(kernel.Config{})
		k.Apply(r.At, r.Input)
		k.Tick(r.At.Add(time.Hour))
	})
}

// FuzzSnapshot: Restore of anything either fails with ErrCorrupt or gives a
// kernel whose Snapshot is the input, byte for byte (for an older version's input:
// the same state in the current version, which restores to itself), and
// that keeps working.
func FuzzSnapshot(f *testing.F) {
	for _, b := range corpusFromRuns(f).snapshots {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkRestore(t, b)
	})
}

// FuzzSnapshotBody is FuzzSnapshot past the checksum: the input is the body
// between the magic and the CRC, which the target adds, so that mutations
// reach the decoder's structure checks.
func FuzzSnapshotBody(f *testing.F) {
	for _, b := range corpusFromRuns(f).snapshots {
		f.Add(b[len(snapshotMagic) : len(b)-4])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkRestore(t, sealSnapshot(body))
	})
}

// sealSnapshot frames a snapshot body: magic, body, CRC-32 (IEEE, little
// endian) of everything before it.
func sealSnapshot(body []byte) []byte {
	b := append([]byte(snapshotMagic), body...)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func checkRestore(t *testing.T, b []byte) {
	t.Helper()
	k, err := kernel.Restore(kernel.Config{}, b)
	if err != nil {
		if !errors.Is(err, kernel.ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		if k != nil {
			t.Fatalf("error %v with a kernel", err)
		}
		return
	}
	got := k.Snapshot()
	if v := b[len(snapshotMagic)]; v < got[len(snapshotMagic)] { // an older version: read, then written as the current one
		k2, err := kernel.Restore(kernel.Config{}, got)
		if err != nil || !bytes.Equal(k2.Snapshot(), got) {
			t.Fatalf("the snapshot of a kernel restored from version %d does not round-trip (%v):\n in: %x\nout: %x", v, err, b, got)
		}
	} else if !bytes.Equal(got, b) {
		t.Fatalf("Restore accepted a snapshot that it does not reproduce:\n in: %x\nout: %x", b, got)
	}
	exercise(t, k)
}

// exercise applies a fixed round of operations to a restored kernel: it must
// not panic, deadlines must stay ordered, and its state must still survive a
// snapshot.
func exercise(t *testing.T, k *kernel.Kernel) {
	t.Helper()
	now := k.Now()
	ids := []string{"i1", "i2", "i3", "x0", "c0"}
	k.Tick(now)
	for _, u := range users {
		k.Apply(now, kernel.Connect(u, "s9"))
	}
	for _, id := range ids {
		for _, u := range users {
			k.Apply(now, kernel.Modify(u, id, "m"))
			k.Apply(now, kernel.Accept(u, id, "a"))
		}
	}
	k.Apply(now, kernel.Invite("u0", "u1", "d", 5))
	k.Apply(now, kernel.Input{Op: kernel.OpInvite, User: "u1", Invitees: []string{"u2"}, RequestID: "r0"})
	k.Apply(now, kernel.Input{Op: kernel.OpInvite, User: "u1", Invitees: []string{"u2"}, RequestID: "r0"})
	k.Apply(now, kernel.SetGroup("g0", []string{"u0", "u1", "u2"}))
	k.Apply(now, kernel.InviteInGroup("u0", "g0", []string{"u1", "u2"}, "d", 3))
	for _, id := range ids {
		for _, u := range users {
			k.Apply(now, kernel.Reject(u, id, "r"))
			k.Apply(now, kernel.Cancel(u, id, "c"))
		}
	}
	for _, u := range users {
		k.Apply(now, kernel.Disconnect(u, "s9"))
	}
	for step, d := range []time.Duration{time.Second, time.Hour, 1 << 62} {
		at := now.Add(d)
		k.Tick(at)
		if next, ok := k.NextDeadline(); ok && !next.After(k.Now()) {
			t.Fatalf("after Tick(+%v) (step %d) a deadline at or before now is still pending: %v <= %v", d, step, next, k.Now())
		}
	}
	snap := k.Snapshot()
	k2, err := kernel.Restore(kernel.Config{}, snap)
	if err != nil {
		t.Fatalf("Restore of the snapshot of a restored, exercised kernel: %v", err)
	}
	if !bytes.Equal(k2.Snapshot(), snap) {
		t.Fatalf("the snapshot of a restored, exercised kernel does not round-trip")
	}
}

// runCorpus holds real encodings collected from a run of the kernel.
type runCorpus struct {
	snapshots [][]byte
	records   [][]byte
	envelopes [][]byte
}

var corpusCache *runCorpus

// users are the users of the corpus run and of exercise.
var users = []string{"u0", "u1", "u2", "u3"}

// corpusFromRuns drives the kernel harness (conformance/kernelharness)
// through a call of every kind, timeouts and a restart included, and keeps
// its snapshots, the records it logged (those read before the harness's
// next snapshot took them in) and the history payloads.
func corpusFromRuns(t conformance.TB) *runCorpus {
	if corpusCache != nil {
		return corpusCache
	}
	c := &runCorpus{}
	h := kernelharness.New(kernel.Config{})(t).(interface {
		conformance.Harness
		conformance.Restarter
		Durable() ([]byte, [][]byte)
	})
	seen := map[string]bool{}
	keep := func(l *[][]byte, b []byte) {
		if !seen[string(b)] {
			seen[string(b)] = true
			*l = append(*l, b)
		}
	}
	by := func(u string) conformance.Caller { return conformance.Caller{User: u} }
	push := &conformance.PushInfo{Title: "t", Desc: "call", Ext: "e", Sound: "s"}
	var id string
	for _, step := range []func(){
		func() { h.Connect("u0", "s0") },
		func() { h.Connect("u1", "s0") },
		func() { h.Connect("u1", "s1") },
		func() { h.SetGroup("g0", users) },
		func() {
			id, _ = h.Invite(conformance.Caller{User: "u0", Session: "s0", RequestID: "r0"},
				conformance.InviteArgs{Invitee: "u1", Data: "d", Timeout: 30})
		},
		func() {
			h.Invite(by("u2"), conformance.InviteArgs{Invitee: "u3", InviteID: "x0", Data: "hello", Push: push, Timeout: 5})
		},
		func() {
			h.InviteInGroup(by("u0"), conformance.GroupInviteArgs{Group: "g0", Invitees: []string{"u1", "u2", "u3"}, Data: "ü", Timeout: 3})
		},
		func() {
			h.InviteInGroup(by("u1"), conformance.GroupInviteArgs{Group: "g0", Invitees: []string{"u0"}, OnlineUserOnly: true})
		},
		func() { h.Modify(by("u1"), id, "m") },
		func() { h.Accept(conformance.Caller{User: "u1", Session: "s1"}, id, "a") },
		func() { h.JoinGroup("g0", "u4") },
		func() { h.LeaveGroup("g0", "u2") },
		func() { h.Advance(3 * time.Second) },
		func() { h.Reject(by("u3"), "x0", "busy") },
		func() { h.Restart(time.Second) },
		func() { h.Disconnect("u1", "s0") },
		func() { h.Cancel(by("u1"), "i4", "bye") },
		func() { h.Advance(10 * time.Second) },
	} {
		step()
		snap, records := h.Durable()
		keep(&c.snapshots, snap)
		for _, r := range records {
			keep(&c.records, r)
		}
	}
	for _, conv := range []conformance.Conversation{conformance.C2C("u0", "u1"), conformance.C2C("u2", "u3"), conformance.GroupConv("g0")} {
		for _, b := range h.History(conv) {
			keep(&c.envelopes, b)
		}
	}
	// A record with push info and every field set.
	c.records = append(c.records, kernel.AppendRecord(nil, kernel.Record{Index: 1 << 40, At: time.Unix(-5, 7),
		Input: kernel.Input{Op: kernel.OpInvite, User: "u0", Session: "s0", RequestID: "r0", InviteID: "x0",
			Invitees: []string{"u1"}, Data: "d", OnlineUserOnly: true, Timeout: 30,
			Push: &kernel.PushInfo{Title: "t", Desc: "d", Ext: "e", Sound: "s"}}}))
	corpusCache = c
	return c
}

// signalingSeeds are real history payloads, hand-written envelopes near the
// edges, and inputs at and just above MaxSignalingMessageBytes.
func signalingSeeds(t conformance.TB) [][]byte {
	seeds := append([][]byte(nil), corpusFromRuns(t).envelopes...)
	for _, s := range []string{
		`{"businessID":1,"inviteID":"i1","groupID":"","inviter":"u0","inviteeList":["u1"],"data":"d","timeout":30,"actionType":1,"onlineUserOnly":false}`,
		`{"businessID":1,"inviteID":"i1","inviter":"u0","actionType":6}`,
		`{"businessID":1,"inviteID":"i1","inviter":"u0","inviteeList":null,"actionType":5,"timeout":0}`,
		`{"BUSINESSID":1,"InviteId":"i1","inviter":"u0","actionType":2,"inviteID":"i2"}`,
		`{"businessID":2,"inviteID":"i1","inviter":"u0","actionType":1}`,
		`{"businessID":1,"inviteID":"i1","inviter":"u0","actionType":7}`,
		`{"businessID":1,"inviteID":"i1","inviter":"u0","actionType":1,"timeout":-1}`,
		`{"businessID":1.5,"inviteID":"i1","inviter":"u0","actionType":1}`,
		`{"businessID":1,"inviteID":"i1","inviter":"u0","actionType":1,"data":"\ud800\u00e9\xff"}`,
		`{"businessID":1,"inviteID":"i1","inviter":"u0","actionType":1,"timeout":1e3}`,
		`{"businessID":1.0,"inviteID":"i1","inviter":"u0","actionType":3.0,"timeout":3e1}`,
		`{"businessID":10e-1,"inviteID":"i1","inviter":"u0","actionType":0.6e1,"timeout":-0.0}`,
		`{"businessID":1e0,"inviteID":"i1","inviter":"u0","actionType":1,"timeout":9.223372036854775807e18}`,
		`{"businessID":1.0000000000000000000001,"inviteID":"i1","inviter":"u0","actionType":1}`,
		`{"businessID":1,"inviteID":"i1","inviter":"u0","actionType":1,"timeout":1e999999999999}`,
		`{"businessID":1,"inviteID":"i1","inviter":"u0","actionType":1,"timeout":0e999999999999}`,
		`{"businessID":1,"inviteID":"i1","inviter":"u0","actionType":1,"inviteeList":["u1",null,1]}`,
		`{"businessID":1,"inviteID":"i1","inviter":"u0","actionType":1} trailing`,
		`{"businessID":1,"inviteID":"i1","inviter":"u0","actionType":1,"timeout":99999999999999999999}`,
		`{"businessID":1,"inviteID":"i1"`,
		`[1,2,3]`, `null`, `"businessID"`, `{}`, ``, `{"a":` + strings.Repeat("[", 10000),
	} {
		seeds = append(seeds, []byte(s))
	}
	valid := []byte(`{"businessID":1,"inviteID":"i1","inviter":"u0","inviteeList":["u1"],"actionType":1}`)
	seeds = append(seeds, padJSON(valid, kernel.MaxSignalingMessageBytes), padJSON(valid, kernel.MaxSignalingMessageBytes+1))
	return seeds
}

// runtimeMem reads the bytes allocated so far.
type runtimeMem struct{ alloc uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.alloc = s.TotalAlloc
}
