package beckon

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// newDefaultIDsRuntime returns a runtime with the default invite IDs, its
// callers' draws replaced by draw, and two clients logged in.
func newDefaultIDsRuntime(t *testing.T, draw func() string) (alice, bob *Client) {
	t.Helper()
	rt, err := New(WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	if rt.drawID == nil {
		t.Fatal("a runtime with the default invite IDs draws none on the callers' goroutines")
	}
	rt.drawID = draw // before any invite: no caller draws yet
	ctx := context.Background()
	if alice, err = rt.Login(ctx, "alice", "phone", ListenerFuncs{}); err != nil {
		t.Fatal(err)
	}
	if bob, err = rt.Login(ctx, "bob", "phone", ListenerFuncs{}); err != nil {
		t.Fatal(err)
	}
	return alice, bob
}

// The default invite IDs are the ones the inviting callers drew.
func TestDefaultInviteIDsAreDrawnByCallers(t *testing.T) {
	var n atomic.Int64
	alice, bob := newDefaultIDsRuntime(t, func() string { return "p" + strconv.FormatInt(n.Add(1), 10) })
	ctx := context.Background()
	for want := 1; want <= 3; want++ {
		id, err := alice.Invite(ctx, bob.User(), "")
		if err != nil {
			t.Fatal(err)
		}
		if w := "p" + strconv.Itoa(want); id != w {
			t.Fatalf("invite %d: got ID %q, want %q, the caller's draw", want, id, w)
		}
	}
	if _, err := alice.Invite(ctx, bob.User(), "", WithInviteID("chosen")); err != nil {
		t.Fatal(err)
	}
	if got := n.Load(); got != 3 {
		t.Fatalf("the callers drew %d IDs, want 3: an invite with a chosen ID draws none", got)
	}
}

// A caller's draw that is in use (or empty) is replaced by one the loop
// draws: the invite succeeds with another ID.
func TestDefaultInviteIDInUseIsRedrawn(t *testing.T) {
	for _, drawn := range []string{"same", ""} {
		alice, bob := newDefaultIDsRuntime(t, func() string { return drawn })
		ctx := context.Background()
		first, err := alice.Invite(ctx, bob.User(), "")
		if err != nil {
			t.Fatal(err)
		}
		second, err := alice.Invite(ctx, bob.User(), "") // first is still open
		if err != nil {
			t.Fatalf("draw %q: second invite: %v", drawn, err)
		}
		if second == first || len(second) != 36 {
			t.Fatalf("draw %q: invites got %q then %q, want the second a fresh UUID", drawn, first, second)
		}
	}
}

// Many callers inviting at once with the default IDs each get a UUID of
// their own (run with -race: callers draw concurrently, each proposes its
// draw to the kernel in its input).
func TestDefaultInviteIDsConcurrent(t *testing.T) {
	rt, err := New(WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ctx := context.Background()
	const callers, each = 16, 50
	ids := make(chan string, callers*each)
	var wg sync.WaitGroup
	for c := range callers {
		inviter, err := rt.Login(ctx, "a"+strconv.Itoa(c), "s", ListenerFuncs{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for range each {
				id, err := inviter.Invite(ctx, "b"+strconv.Itoa(c), "")
				if err != nil {
					t.Error(err)
					return
				}
				ids <- id
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if len(id) != 36 || id[14] != '4' || seen[id] {
			t.Fatalf("invite ID %q: want a version-4 UUID not seen before", id)
		}
		seen[id] = true
	}
	if len(seen) != callers*each {
		t.Fatalf("got %d invite IDs, want %d", len(seen), callers*each)
	}
}
