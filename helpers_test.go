package beckon_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/memory"
)

var ctx = context.Background()

// quiet is a logger that drops everything.
var quiet = slog.New(slog.DiscardHandler)

// newRuntime returns a runtime with sequential invite IDs ("c1", "c2", ...)
// and no logging, closed when the test ends.
func newRuntime(t testing.TB, opts ...beckon.Option) *beckon.Runtime {
	t.Helper()
	opts = append([]beckon.Option{beckon.WithInviteIDs(beckon.SequentialInviteIDs("c")), beckon.WithLogger(quiet)}, opts...)
	rt, err := beckon.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// recorder is a Listener that writes down every callback as a line such as
// "accepted c1 bob data" (see line).
type recorder struct {
	mu     sync.Mutex
	lines  []string
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	r.lines = append(r.lines, strings.TrimSpace(fmt.Sprintf(format, args...)))
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) OnReceiveNewInvitation(id, inviter, group string, invitees []string, data string) {
	r.add("new %s from=%s group=%s invitees=%s %s", id, inviter, group, strings.Join(invitees, ","), data)
}
func (r *recorder) OnInvitationCancelled(id, inviter, data string) {
	r.add("cancelled %s by=%s %s", id, inviter, data)
}
func (r *recorder) OnInviteeAccepted(id, invitee, data string) {
	r.add("accepted %s by=%s %s", id, invitee, data)
}
func (r *recorder) OnInviteeRejected(id, invitee, data string) {
	r.add("rejected %s by=%s %s", id, invitee, data)
}
func (r *recorder) OnInvitationTimeout(id string, invitees []string) {
	r.add("timeout %s invitees=%s", id, strings.Join(invitees, ","))
}
func (r *recorder) OnInvitationModified(id, data string) { r.add("modified %s %s", id, data) }

// got returns the lines so far.
func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines)
}

// login logs a session in with a fresh recorder.
func login(t testing.TB, rt *beckon.Runtime, user, session string) (*beckon.Client, *recorder) {
	t.Helper()
	rec := newRecorder()
	c, err := rt.Login(ctx, user, session, rec)
	if err != nil {
		t.Fatalf("login %s/%s: %v", user, session, err)
	}
	return c, rec
}

// want checks that rec heard exactly lines, in order.
func want(t testing.TB, who string, rec *recorder, lines ...string) {
	t.Helper()
	got := rec.got()
	if !slices.Equal(got, lines) {
		t.Errorf("%s heard:\n\t%s\nwant:\n\t%s", who, strings.Join(got, "\n\t"), strings.Join(lines, "\n\t"))
	}
}

// wantCode checks the SDK code of err.
func wantCode(t testing.TB, what string, err error, code int) {
	t.Helper()
	if got := beckon.Code(err); got != code {
		t.Errorf("%s: code %d (%v), want %d", what, got, err, code)
	}
}

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// history returns the action types and senders of a conversation's
// history, as "invite:alice accept:bob ...".
func history(t testing.TB, rt *beckon.Runtime, conv beckon.Conversation) string {
	t.Helper()
	msgs, err := rt.History(conv, 0, 0)
	must(t, err)
	var parts []string
	for _, m := range msgs {
		info, err := beckon.GetSignalingInfo(m.Payload)
		must(t, err)
		parts = append(parts, fmt.Sprintf("%s:%s", actionNames[info.ActionType], m.Sender))
	}
	return strings.Join(parts, " ")
}

var actionNames = map[beckon.Action]string{
	beckon.ActionInvite: "invite", beckon.ActionCancel: "cancel", beckon.ActionAccept: "accept",
	beckon.ActionReject: "reject", beckon.ActionTimeout: "timeout", beckon.ActionModify: "modify",
}

// Compile-time checks that the memory adapters implement the ports.
var (
	_ beckon.Store           = (*memory.Store)(nil)
	_ beckon.SessionRegistry = (*memory.Hub)(nil)
)

var errCanceled = context.Canceled

func contextWithCancel() (context.Context, context.CancelFunc) { return context.WithCancel(ctx) }
