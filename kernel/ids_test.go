package kernel_test

// Invite ID sources: the default counter and Config.IDs.

import (
	"strings"
	"testing"

	"github.com/beckonhq/beckon/kernel"
)

func TestIDsCounter(t *testing.T) {
	f := newFx(t, kernel.Config{})
	for _, want := range []string{"i1", "i2"} {
		if id, _ := f.okID(kernel.Invite("alice", "bob", "", 0)); id != want {
			t.Errorf("drawn invite ID: got %q, want the counter's %q", id, want)
		}
	}
	// The counter skips caller-chosen IDs in use.
	f.ok(withID(kernel.Invite("alice", "bob", "", 0), "i4"))
	if id, _ := f.okID(kernel.Invite("alice", "bob", "", 0)); id != "i4.1" {
		t.Errorf("drawn invite ID: got %q, want %q (i4 is in use)", id, "i4.1")
	}
}

// source is a Config.IDs drawing next in order.
func source(next *[]string) kernel.IDSource {
	return kernel.IDSourceFunc(func() string {
		id := (*next)[0]
		*next = (*next)[1:]
		return id
	})
}

func TestIDsFromConfigAreAtMost127Bytes(t *testing.T) {
	next := []string{strings.Repeat("x", 127), strings.Repeat("y", 128), ""}
	f := newFx(t, kernel.Config{IDs: source(&next)})
	if id, _ := f.okID(kernel.Invite("alice", "bob", "", 0)); id != strings.Repeat("x", 127) {
		t.Errorf("invite ID: got %q, want the source's 127-byte ID", id)
	}
	f.fail(kernel.Invite("alice", "bob", "", 0), kernel.ErrInvalidParameters, "InviteID")
	f.fail(kernel.Invite("alice", "bob", "", 0), kernel.ErrInvalidParameters, "InviteID")
}

func TestIDsInUseAreSkippedEightTimes(t *testing.T) {
	next := []string{"a", "a", "b", "a", "a", "a", "a", "a", "a", "a", "a"}
	f := newFx(t, kernel.Config{IDs: source(&next)})
	for _, want := range []string{"a", "b"} {
		if id, _ := f.okID(kernel.Invite("alice", "bob", "", 0)); id != want {
			t.Fatalf("drawn invite ID: got %q, want %q", id, want)
		}
	}
	f.fail(kernel.Invite("alice", "bob", "", 0), kernel.ErrAlreadyExists, "InviteID")
	if len(next) != 0 {
		t.Errorf("draws left in the source: got %d, want 0 (8 draws)", len(next))
	}
}
