package beckon_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/kernel"
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
