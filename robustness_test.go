package beckon_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/memory"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// logBuffer is a slog handler's output, safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logger returns a logger that writes to l.
func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// wantLogged checks that the log holds every one of parts.
func wantLogged(t *testing.T, what string, log *logBuffer, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(log.String(), p) {
			t.Errorf("%s: log %q, want it to contain %q", what, log.String(), p)
		}
	}
}

// A callback that panics is recovered and logged with the user, session,
// event and stack; the session keeps receiving its later events, and the
// other sessions and the runtime are not affected.
func TestListenerPanicIsRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log logBuffer
		rt := newRuntime(t, beckon.WithLogger(log.logger()))
		alice, ra := login(t, rt, "alice", "phone")
		rb := newRecorder()
		_, err := rt.Login(ctx, "bob", "phone", beckon.ListenerFuncs{
			ReceiveNewInvitation: func(string, string, string, []string, string) { panic("bob's bug") },
			InvitationCancelled:  rb.OnInvitationCancelled,
		})
		must(t, err)
		id, err := alice.Invite(ctx, "bob", "")
		must(t, err)
		synctest.Wait()
		must(t, alice.Cancel(ctx, id, "bye"))
		synctest.Wait()
		want(t, "bob after his callback panicked", rb, "cancelled c1 by=alice bye")
		want(t, "alice", ra, "cancelled c1 by=alice bye")
		wantLogged(t, "the panic", &log, "bob's bug", "user=bob", "session=phone", "ReceiveNewInvitation", "robustness_test.go")
		if err := rt.Err(); err != nil {
			t.Errorf("runtime after a callback panicked: Err() = %v, want nil", err)
		}
	})
}

// Login refuses a Listener it could not call, with 6017 and a message
// saying what to pass; ListenerFuncs{} ignores every event.
func TestLoginRefusesNilListeners(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		for _, c := range []struct {
			what string
			l    beckon.Listener
		}{
			{"nil", nil},
			{"a nil EventFunc", beckon.EventFunc(nil)},
			{"a nil *recorder", (*recorder)(nil)},
		} {
			_, err := rt.Login(ctx, "bob", "phone", c.l)
			wantCode(t, "Login with "+c.what, err, 6017)
			if !errors.Is(err, beckon.ErrInvalidParameters) || !strings.Contains(err.Error(), "ListenerFuncs{}") {
				t.Errorf("Login with %s: got %v, want ErrInvalidParameters saying to pass ListenerFuncs{}", c.what, err)
			}
		}
		alice, _ := login(t, rt, "alice", "phone")
		bob, err := rt.Login(ctx, "bob", "phone", beckon.ListenerFuncs{})
		must(t, err) // the refused logins left the session free
		id, err := alice.Invite(ctx, "bob", "")
		must(t, err)
		must(t, bob.Accept(ctx, id, ""))
	})
}

// A push hook that panics is recovered and logged; the invite that asked
// for the push succeeds and the runtime goes on.
func TestPushHookPanicIsRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log logBuffer
		hook := beckon.PushFunc(func(beckon.PushRequest) error { panic("hook bug") })
		rt := newRuntime(t, beckon.WithPushHook(hook), beckon.WithLogger(log.logger()))
		alice, _ := login(t, rt, "alice", "phone")
		push := beckon.WithPush(beckon.PushInfo{Desc: "is calling"})
		_, err := alice.Invite(ctx, "carol", "", push)
		must(t, err)
		_, err = alice.Invite(ctx, "dave", "", push)
		must(t, err)
		wantLogged(t, "the panic", &log, "hook bug", "to=carol", "to=dave", "robustness_test.go")
		if err := rt.Err(); err != nil {
			t.Errorf("runtime after the push hook panicked: Err() = %v, want nil", err)
		}
	})
}

// A nil context fails every call that takes one with 6017, before anything
// is applied, instead of panicking in the caller.
func TestNilContextIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		must(t, rt.SetGroup(ctx, "g", []string{"alice", "bob"}))
		alice, ra := login(t, rt, "alice", "phone")
		var nilCtx context.Context
		for _, c := range []struct {
			what string
			call func() error
		}{
			{"Login", func() error { _, err := rt.Login(nilCtx, "bob", "phone", beckon.ListenerFuncs{}); return err }},
			{"Invite", func() error { _, err := alice.Invite(nilCtx, "bob", ""); return err }},
			{"InviteInGroup", func() error {
				_, err := alice.InviteInGroup(nilCtx, "g", []string{"bob"}, "")
				return err
			}},
			{"Cancel", func() error { return alice.Cancel(nilCtx, "c1", "") }},
			{"Accept", func() error { return alice.Accept(nilCtx, "c1", "") }},
			{"Reject", func() error { return alice.Reject(nilCtx, "c1", "") }},
			{"Modify", func() error { return alice.Modify(nilCtx, "c1", "") }},
			{"Do", func() error { _, err := rt.Do(nilCtx, kernel.Connect("bob", "phone")); return err }},
			{"SetGroup", func() error { return rt.SetGroup(nilCtx, "g", nil) }},
			{"JoinGroup", func() error { return rt.JoinGroup(nilCtx, "g", "carol") }},
			{"LeaveGroup", func() error { return rt.LeaveGroup(nilCtx, "g", "bob") }},
		} {
			err := c.call()
			wantCode(t, c.what+" with a nil ctx", err, 6017)
			if !errors.Is(err, beckon.ErrInvalidParameters) || !strings.Contains(err.Error(), "context.Background()") {
				t.Errorf("%s with a nil ctx: got %v, want ErrInvalidParameters saying what to pass", c.what, err)
			}
		}
		// Nothing was applied: bob is not logged in, the group is as set.
		_, rb := login(t, rt, "bob", "phone")
		id, err := alice.InviteInGroup(ctx, "g", []string{"bob"}, "")
		must(t, err)
		synctest.Wait()
		want(t, "bob", rb, "new "+id+" from=alice group=g invitees=bob")
		want(t, "alice", ra)
	})
}

// Close returns whatever the callbacks do: with one blocked, and when
// called from a callback (Client.Close and Runtime.Close both).
func TestCloseDoesNotWaitForCallbacks(t *testing.T) {
	t.Run("BlockedCallback", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := newRuntime(t)
			alice, _ := login(t, rt, "alice", "phone")
			release := make(chan struct{})
			defer close(release)
			bob, err := rt.Login(ctx, "bob", "phone", beckon.EventFunc(func(beckon.Event) { <-release }))
			must(t, err)
			_, err = alice.Invite(ctx, "bob", "")
			must(t, err)
			synctest.Wait() // bob's callback blocks
			must(t, bob.Close())
			must(t, rt.Close())
		})
	})
	t.Run("FromCallback", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := newRuntime(t)
			alice, _ := login(t, rt, "alice", "phone")
			closed := make(chan [2]error, 1)
			var bob *beckon.Client
			var ready sync.WaitGroup
			ready.Add(1)
			bob, err := rt.Login(ctx, "bob", "phone", beckon.EventFunc(func(beckon.Event) {
				ready.Wait()
				closed <- [2]error{bob.Close(), rt.Close()}
			}))
			must(t, err)
			ready.Done()
			_, err = alice.Invite(ctx, "bob", "")
			must(t, err)
			errs := <-closed
			must(t, errs[0])
			must(t, errs[1])
			if _, err := alice.Invite(ctx, "bob", ""); !errors.Is(err, beckon.ErrClosed) {
				t.Errorf("Invite after Close from a callback: got %v, want ErrClosed", err)
			}
		})
	})
}

// snapshotFailStore is a memory store whose SaveSnapshot fails while fail
// is set.
type snapshotFailStore struct {
	*memory.Store
	fail atomic.Bool
}

func (s *snapshotFailStore) SaveSnapshot(index uint64, snap []byte) error {
	if s.fail.Load() {
		return errors.New("disk full")
	}
	return s.Store.SaveSnapshot(index, snap)
}

// A snapshot that fails to save does not fail the batch: once Append made
// it durable, its callers get their true results and its events go out;
// the failure is logged and the next snapshot due is saved.
func TestSnapshotFailureKeepsDurableResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log logBuffer
		store := &snapshotFailStore{Store: memory.NewStore()}
		store.fail.Store(true)
		rt := newRuntime(t, beckon.WithStore(store), beckon.WithSnapshotEvery(1), beckon.WithLogger(log.logger()))
		alice, ra := login(t, rt, "alice", "phone")
		bob, rb := login(t, rt, "bob", "phone")
		id, err := alice.Invite(ctx, "bob", "")
		if err != nil {
			t.Fatalf("Invite, durable but its snapshot failed: got %v, want nil", err)
		}
		must(t, bob.Accept(ctx, id, "ok"))
		synctest.Wait()
		want(t, "bob", rb, "new c1 from=alice group= invitees=bob", "accepted c1 by=bob ok")
		want(t, "alice", ra, "accepted c1 by=bob ok")
		if err := rt.Err(); err != nil {
			t.Errorf("Err() after failed snapshots: got %v, want nil (only a failed Append stops the runtime)", err)
		}
		wantLogged(t, "the failed snapshot", &log, "snapshot", "disk full")
		if i, _, _, err := store.Load(); err != nil || i != 0 {
			t.Fatalf("store while snapshots fail: snapshot at %d (%v), want none", i, err)
		}

		store.fail.Store(false)
		_, err = alice.Invite(ctx, "bob", "")
		must(t, err)
		i, snap, records, err := store.Load()
		must(t, err)
		if i == 0 || snap == nil || len(records) != 0 {
			t.Errorf("store once snapshots work again: snapshot at %d, %d records after it; want a snapshot covering every record", i, len(records))
		}
	})
}

// A context bounds only the wait in the queue. Once the loop has taken an
// operation, it is applied and made durable whatever the context does, so
// the call returns its true result even if the context ended meanwhile;
// an operation still queued when its context ends is never applied.
func TestContextEndsAfterOrBeforeTheOperationIsTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newGateStore()
		// A batch of one: the batch waiting for the committer is full, so
		// the third call stays queued.
		rt := newRuntime(t, beckon.WithStore(store), beckon.WithMaxBatch(1))
		alice, _ := login(t, rt, "alice", "phone")
		_, rb := login(t, rt, "bob", "phone")
		release := store.hold()

		type result struct {
			id  string
			err error
		}
		invite := func(c context.Context, data string) <-chan result {
			out := make(chan result, 1)
			go func() {
				id, err := alice.Invite(c, "bob", data)
				out <- result{id, err}
			}()
			return out
		}
		takenCtx, cancelTaken := context.WithCancel(ctx)
		taken := invite(takenCtx, "taken") // applied, then held in Append
		<-store.entered
		next := invite(ctx, "next") // applied, waits for the committer
		synctest.Wait()
		queuedCtx, cancelQueued := context.WithCancel(ctx)
		queued := invite(queuedCtx, "queued") // the batch waiting is full: it stays queued
		synctest.Wait()

		cancelTaken()
		cancelQueued()
		if r := <-queued; !errors.Is(r.err, context.Canceled) {
			t.Errorf("Invite whose ctx ended while queued: got (%q, %v), want context.Canceled", r.id, r.err)
		}
		synctest.Wait()
		select {
		case r := <-taken:
			t.Fatalf("Invite taken by the loop returned (%q, %v) before its batch was durable", r.id, r.err)
		default:
		}
		release()
		if r := <-taken; r.err != nil || r.id != "c1" {
			t.Errorf("Invite taken before its ctx ended: got (%q, %v), want its true result (c1, nil)", r.id, r.err)
		}
		if r := <-next; r.err != nil || r.id != "c2" {
			t.Errorf("Invite behind it: got (%q, %v), want (c2, nil)", r.id, r.err)
		}
		synctest.Wait()
		want(t, "bob", rb, "new c1 from=alice group= invitees=bob taken", "new c2 from=alice group= invitees=bob next")
		_, _, records, err := store.Load()
		must(t, err)
		for _, r := range records {
			if r.Input.Op == kernel.OpInvite && r.Input.Data == "queued" {
				t.Errorf("the invite whose ctx ended while queued was logged: %+v", r)
			}
		}
	})
}

// A store serves one runtime at a time: a second runtime on it is refused
// at New with port.ErrLocked, and the store is free again after Close.
func TestSecondRuntimeOnOneStoreIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memory.NewStore()
		first, err := beckon.New(beckon.WithStore(store), beckon.WithLogger(quiet))
		must(t, err)
		second, err := beckon.New(beckon.WithStore(store), beckon.WithLogger(quiet))
		if !errors.Is(err, port.ErrLocked) || !strings.Contains(err.Error(), "close that runtime first") {
			if second != nil {
				second.Close()
			}
			t.Fatalf("New on a store another runtime uses: got %v, want an error matching port.ErrLocked saying what to do", err)
		}
		alice, err := first.Login(ctx, "alice", "phone", beckon.ListenerFuncs{})
		must(t, err)
		_, err = alice.Invite(ctx, "bob", "")
		must(t, err) // the first runtime is unaffected
		must(t, first.Close())
		again, err := beckon.New(beckon.WithStore(store), beckon.WithLogger(quiet))
		must(t, err) // a restart on the same store
		must(t, again.Close())
	})
}
