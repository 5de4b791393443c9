package bolt_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/kernel"
)

var (
	ctx   = context.Background()
	quiet = slog.New(slog.DiscardHandler)
)

// events records the callbacks one session hears.
type events struct {
	mu    sync.Mutex
	lines []string
}

func (e *events) listener() beckon.Listener {
	return beckon.EventFunc(func(ev beckon.Event) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.lines = append(e.lines, fmt.Sprintf("%v %s %s", ev.Type, ev.InviteID, ev.Data))
	})
}

func (e *events) got() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.lines...)
}

// startRuntime opens the store at path and a runtime on it; stop closes both.
func startRuntime(t *testing.T, path string) (rt *beckon.Runtime, stop func()) {
	t.Helper()
	s := mustOpen(t, path)
	rt, err := beckon.New(beckon.WithStore(s), beckon.WithLogger(quiet), beckon.WithSnapshotEvery(3))
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	return rt, func() {
		if err := rt.Close(); err != nil {
			t.Error(err)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}
}

func loginAs(t *testing.T, rt *beckon.Runtime, user, session string) (*beckon.Client, *events) {
	t.Helper()
	ev := &events{}
	c, err := rt.Login(ctx, user, session, ev.listener())
	if err != nil {
		t.Fatal(err)
	}
	return c, ev
}

// actions lists the history of conv as "action:sender" words.
func actions(t *testing.T, rt *beckon.Runtime, conv kernel.Conversation) string {
	t.Helper()
	msgs, err := rt.History(conv, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[kernel.Action]string{1: "invite", 2: "cancel", 3: "accept", 4: "reject", 5: "timeout", 6: "modify"}
	var words []string
	for _, m := range msgs {
		info, err := kernel.GetSignalingInfo(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		words = append(words, names[info.ActionType]+":"+m.Sender)
	}
	return strings.Join(words, " ")
}

// A runtime on a bolt file, restarted (store closed and reopened from the
// file): open invitations survive, a deadline that passed while it was
// down fires once on recovery and never again (TMO-4), a request ID
// answered before the restart is answered the same after it (IDM-1).
func TestRuntimeRestartOverBolt(t *testing.T) {
	path := dbPath(t)
	synctest.Test(t, func(t *testing.T) {
		conv := kernel.C2C("alice", "bob")
		rt, stop := startRuntime(t, path)
		alice, _ := loginAs(t, rt, "alice", "phone")
		loginAs(t, rt, "bob", "phone")
		timed, err := alice.Invite(ctx, "bob", "soon", beckon.TimeoutSeconds(10), beckon.WithRequestID("r-timed"))
		if err != nil {
			t.Fatal(err)
		}
		open, err := alice.Invite(ctx, "bob", "later", beckon.TimeoutSeconds(100), beckon.WithRequestID("r-open"))
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.Modify(ctx, open, "later2"); err != nil {
			t.Fatal(err)
		}
		stop()

		time.Sleep(30 * time.Second) // down while the 10 s deadline passes

		rt, stop = startRuntime(t, path)
		if got := actions(t, rt, conv); got != "invite:alice invite:alice modify:alice timeout:alice" {
			t.Fatalf("history after the restart: %q", got)
		}
		alice, _ = loginAs(t, rt, "alice", "laptop")
		bob, eb := loginAs(t, rt, "bob", "phone")
		synctest.Wait()
		if got := eb.got(); len(got) != 1 || got[0] != "ReceiveNewInvitation "+open+" later2" {
			t.Fatalf("bob after the restart heard %q, want only the open invitation", got)
		}
		// IDM-1 across the restart: the retry gets the first answer, emits nothing.
		again, err := alice.Invite(ctx, "bob", "later", beckon.TimeoutSeconds(100), beckon.WithRequestID("r-open"))
		if err != nil || again != open {
			t.Fatalf("retry of r-open after the restart: %q, %v; want %q", again, err, open)
		}
		if err := bob.Accept(ctx, timed, ""); beckon.Code(err) != 8010 {
			t.Fatalf("accept of the timed-out invitation: %v, want 8010", err)
		}
		if err := bob.Accept(ctx, open, "ok", beckon.WithRequestID("r-accept")); err != nil {
			t.Fatalf("accept after the restart: %v", err)
		}
		stop()

		rt, stop = startRuntime(t, path)
		defer stop()
		if got := actions(t, rt, conv); got != "invite:alice invite:alice modify:alice timeout:alice accept:bob" {
			t.Fatalf("history after the second restart (a timeout fired twice?): %q", got)
		}
		bob, _ = loginAs(t, rt, "bob", "phone")
		if err := bob.Accept(ctx, open, "ok", beckon.WithRequestID("r-accept")); err != nil {
			t.Fatalf("retry of r-accept after a restart: %v", err)
		}
		time.Sleep(200 * time.Second)
		if got := actions(t, rt, conv); got != "invite:alice invite:alice modify:alice timeout:alice accept:bob" {
			t.Fatalf("history at the end: %q", got)
		}
	})
	s := mustOpen(t, path)
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	// Snapshots were taken (every 3 records) and the log compacted behind them.
	if idx, snap, _ := mustLoad(t, s); idx == 0 || snap == nil {
		t.Fatalf("no snapshot after the runs (index %d)", idx)
	}
}

// A second runtime cannot open a store a running one holds.
func TestRuntimeStoreInUse(t *testing.T) {
	path := dbPath(t)
	_, stop := startRuntime(t, path)
	defer stop()
	_, err := bolt.Open(path, bolt.WithLockTimeout(100*time.Millisecond))
	wantErr(t, err, bolt.ErrLocked, path)
}
