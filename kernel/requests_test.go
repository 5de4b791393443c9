package kernel_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/beckonhq/beckon/kernel"
)

// What only the kernel shows of IDM-2 (the conformance suite checks the
// rule): the text of the error, and which fields of a call are its
// arguments. The acting session and the driver's proposed invite ID are
// not: a retry from another device, or with a fresh proposal, is a retry.
func TestRequestIDReusedText(t *testing.T) {
	f := world(t)
	id, _ := f.okID(withReq(kernel.Invite("alice", "bob", "d", 0), "r1"))
	res := f.fail(withReq(kernel.Cancel("alice", id, ""), "r1"), kernel.ErrInvalidParameters, "RequestID")
	if want := `RequestID "r1": request ID reused for another call`; !strings.Contains(res.Err.Error(), want) {
		t.Errorf("error text: got %q, want it to contain %q", res.Err, want)
	}
}

func TestRequestIDRetryIgnoresSessionAndProposal(t *testing.T) {
	f := world(t)
	in := withReq(kernel.Invite("alice", "bob", "d", 0), "r1")
	in.Session, in.ProposedInviteID = "a1", "p1"
	id, _ := f.okID(in)
	in.Session, in.ProposedInviteID = "a2", "p2"
	if res, outs := f.do(in); res.Err != nil || !res.Duplicate || res.InviteID != id || len(outs) != 0 {
		t.Errorf("retry from another session with another proposal: got %+v and %d outputs, want the first result %q as a duplicate", res, len(outs), id)
	}
	for name, mut := range map[string]func(in *kernel.Input){
		"Data":           func(in *kernel.Input) { in.Data = "e" },
		"Invitees":       func(in *kernel.Input) { in.Invitees = list("carol") },
		"Timeout":        func(in *kernel.Input) { in.Timeout = 5 },
		"OnlineUserOnly": func(in *kernel.Input) { in.OnlineUserOnly = true },
		"Push":           func(in *kernel.Input) { in.Push = &kernel.PushInfo{Desc: "d"} },
		"InviteID":       func(in *kernel.Input) { in.InviteID = "chosen" },
		"Op":             func(in *kernel.Input) { in.Op, in.Invitees, in.InviteID = kernel.OpCancel, nil, id },
	} {
		t.Run("other_"+name, func(t *testing.T) {
			other := withReq(kernel.Invite("alice", "bob", "d", 0), "r1")
			mut(&other)
			(&fx{t: t, k: f.k, now: f.now}).fail(other, kernel.ErrInvalidParameters, "RequestID")
		})
	}
}

// A version-1 snapshot (before IDM-2) is still read: its remembered
// requests have no fingerprint and answer any call with their request ID
// as the retry; new requests are fingerprinted; the next snapshot is
// the current version.
func TestSnapshotVersion1Readable(t *testing.T) {
	f := world(t)
	id, _ := f.okID(withReq(kernel.Invite("alice", "bob", "d", 0), "old"))
	v1 := f.k.SnapshotVersion1()
	if v, _ := binary.Uvarint(v1[8:]); v != 1 {
		t.Fatalf("SnapshotVersion1: got version %d", v)
	}
	k := mustRestore(t, kernel.Config{}, v1)
	res, _ := apply(k, f.now, withReq(kernel.Invite("alice", "bob", "other", 0), "old"))
	if res.Err != nil || !res.Duplicate || res.InviteID != id {
		t.Errorf("a request remembered by a version-1 snapshot: got %+v, want the first result %q as a duplicate", res, id)
	}
	apply(k, f.now, withReq(kernel.Modify("alice", id, "m"), "new"))
	if res, _ := apply(k, f.now, withReq(kernel.Modify("alice", id, "n"), "new")); kernel.Code(res.Err) != 6017 {
		t.Errorf("a new request ID reused for other data after restoring version 1: got %+v, want 6017", res)
	}
	cur := k.Snapshot()
	if v, _ := binary.Uvarint(cur[8:]); v != 3 {
		t.Errorf("snapshot after restoring version 1: got version %d, want 3", v)
	}
	if k2 := mustRestore(t, kernel.Config{}, cur); !bytes.Equal(k2.Snapshot(), cur) {
		t.Errorf("the snapshot of a kernel restored from version 1 does not round-trip")
	}
}
