package remote

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/mqtt"
	"github.com/beckonhq/beckon/internal/netfault"
)

const patience = 5 * time.Second

var secret = []byte("remote-test-secret-0123456789abcdef")

// server is a beckon server (adapters/mqtt in front of a runtime) on a
// loopback port, stopped at the end of the test.
func server(t *testing.T) (url string, rt *beckon.Runtime) { return serverWith(t, nil) }

// serverWith is server with options tuned by tune (if not nil).
func serverWith(t *testing.T, tune func(*mqtt.Options)) (url string, rt *beckon.Runtime) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := &lateEngine{}
	opts := mqtt.Options{Engine: eng, Authenticator: mqtt.JWT(secret), Logger: quiet}
	if tune != nil {
		tune(&opts)
	}
	srv, err := mqtt.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rt, err = beckon.New(beckon.WithDelivery(srv), beckon.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	eng.Runtime = rt
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		_ = srv.Close(ctx)
		_ = rt.Close()
	})
	return "mqtt://" + ln.Addr().String(), rt
}

// lateEngine is the Server's Engine, a Runtime made after the Server (its
// Delivery).
type lateEngine struct{ *beckon.Runtime }

// events is a Listener that records what it hears.
type events struct {
	mu  sync.Mutex
	got []beckon.Event
	ch  chan struct{}
}

func newEvents() *events { return &events{ch: make(chan struct{}, 100)} }

func (e *events) listener() beckon.Listener {
	return beckon.EventFunc(func(ev beckon.Event) {
		e.mu.Lock()
		e.got = append(e.got, ev)
		e.mu.Unlock()
		e.ch <- struct{}{}
	})
}

// next waits for the next event.
func (e *events) next(t *testing.T) beckon.Event {
	t.Helper()
	select {
	case <-e.ch:
	case <-time.After(patience):
		t.Fatalf("no event within %v", patience)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ev := e.got[0]
	e.got = e.got[1:]
	return ev
}

func dial(t *testing.T, url, user, device string, l beckon.Listener, logger *slog.Logger) *Client {
	t.Helper()
	tok, err := mqtt.IssueToken(secret, user, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	c, err := Dial(ctx, Options{Server: url, User: user, Device: device, Token: tok, Logger: logger}, l)
	if err != nil {
		t.Fatalf("Dial(%s/%s): %v", user, device, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestInviteAcceptOverTheWire(t *testing.T) {
	url, _ := server(t)
	alice, bob := newEvents(), newEvents()
	a := dial(t, url, "alice", "phone", alice.listener(), nil)
	b := dial(t, url, "bob", "phone", bob.listener(), nil)
	ctx := context.Background()
	id, err := a.Invite(ctx, "bob", `{"call":"video"}`, beckon.TimeoutSeconds(30), beckon.WithRequestID("r1"))
	if err != nil || id == "" {
		t.Fatalf("Invite: got (%q, %v), want an invite ID", id, err)
	}
	if again, err := a.Invite(ctx, "bob", `{"call":"video"}`, beckon.TimeoutSeconds(30), beckon.WithRequestID("r1")); err != nil || again != id {
		t.Errorf("Invite retried with the same request ID: got (%q, %v), want (%q, nil) (IDM-1)", again, err, id)
	}
	if ev := bob.next(t); ev.Type != beckon.EventNewInvitation || ev.InviteID != id || ev.Inviter != "alice" || ev.Data != `{"call":"video"}` {
		t.Errorf("bob heard %+v, want NewInvitation %s from alice", ev, id)
	}
	if err := b.Accept(ctx, id, "ok"); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if ev := alice.next(t); ev.Type != beckon.EventAccepted || ev.Invitee != "bob" || ev.Data != "ok" {
		t.Errorf("alice heard %+v, want Accepted by bob", ev)
	}
	hist, err := b.History("alice", 0, 0)
	if err != nil || len(hist) != 2 {
		t.Fatalf("History: got %d messages, %v; want 2 (invite, accept)", len(hist), err)
	}
	info, err := b.GetSignalingInfo(hist[1].Payload)
	if err != nil || info.ActionType != beckon.ActionAccept || info.InviteID != id {
		t.Errorf("GetSignalingInfo(second message): got %+v, %v; want the accept of %s", info, err, id)
	}
	if page, err := b.History("alice", hist[0].Seq, 1); err != nil || len(page) != 1 || page[0].Seq != hist[1].Seq {
		t.Errorf("History(after %d, limit 1): got %v, %v; want the second message", hist[0].Seq, page, err)
	}
}

func TestErrorsMatchTheSDKs(t *testing.T) {
	url, _ := server(t)
	a := dial(t, url, "alice", "phone", beckon.ListenerFuncs{}, nil)
	ctx := context.Background()
	err := a.Accept(ctx, "no-such-invite", "")
	if !errors.Is(err, beckon.ErrInvalidInviteID) || beckon.Code(err) != 8010 {
		t.Errorf("Accept of an unknown invite: got %v (code %d), want ErrInvalidInviteID, 8010", err, beckon.Code(err))
	}
	if _, err := a.GroupHistory("nobody's", 0, 0); !errors.Is(err, beckon.ErrGroupNotFound) {
		t.Errorf("GroupHistory of an unknown group: got %v, want ErrGroupNotFound (10010)", err)
	}
	// refused before anything is sent, as by the in-process client
	if err := a.Accept(ctx, "x", "", beckon.TimeoutSeconds(3)); !errors.Is(err, beckon.ErrInvalidParameters) {
		t.Errorf("Accept with a timeout option: got %v, want ErrInvalidParameters (6017)", err)
	}
	if _, err := a.Invite(ctx, "bob", "\xff"); !errors.Is(err, beckon.ErrInvalidParameters) {
		t.Errorf("Invite with data not UTF-8: got %v, want ErrInvalidParameters (6017)", err)
	}
	//lint:ignore SA1012 a nil ctx is what this checks
	if _, err := a.Invite(nil, "bob", ""); !errors.Is(err, beckon.ErrInvalidParameters) {
		t.Errorf("Invite with a nil ctx: got %v, want ErrInvalidParameters (6017)", err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := a.Invite(done, "bob", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Invite with an ended ctx: got %v, want context.Canceled", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.Cancel(ctx, "x", ""); !errors.Is(err, beckon.ErrNotLoggedIn) {
		t.Errorf("Cancel after Close: got %v, want ErrNotLoggedIn (6014)", err)
	}
	if err := (&Error{code: 7008}); !errors.Is(err, ErrTooManyRequests) || beckon.Code(err) != 7008 {
		t.Errorf("a 7008 reply: errors.Is ErrTooManyRequests %v, Code %d; want true, 7008", errors.Is(err, ErrTooManyRequests), beckon.Code(err))
	}
}

func TestDialRefused(t *testing.T) {
	url, _ := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	start := time.Now()
	_, err := Dial(ctx, Options{Server: url, User: "alice", Device: "phone", Token: "forged"}, beckon.ListenerFuncs{})
	var ce *autopaho.ConnackError
	if !errors.As(err, &ce) || time.Since(start) > patience/2 {
		t.Errorf("Dial with a forged token: got %v after %v, want a CONNACK refusal at once", err, time.Since(start))
	}
	if _, err := Dial(ctx, Options{Server: url, User: "alice", Device: "phone", Token: "t"}, nil); !errors.Is(err, beckon.ErrInvalidParameters) {
		t.Errorf("Dial with a nil Listener: got %v, want ErrInvalidParameters (6017)", err)
	}
}

// A callback that panics is recovered and logged, and the next event still
// comes; a callback may call the Client.
func TestPanickingCallback(t *testing.T) {
	url, _ := server(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	heard := make(chan string, 10)
	var b atomic.Pointer[Client] // set after Dial, read by the callback: the network is no synchronisation the race detector sees
	l := beckon.ListenerFuncs{
		ReceiveNewInvitation: func(id, _, _ string, _ []string, data string) {
			if data == "boom" {
				panic("boom")
			}
			heard <- data
			if err := b.Load().Reject(context.Background(), id, ""); err != nil {
				heard <- "Reject: " + err.Error()
			}
		},
	}
	a := dial(t, url, "alice", "phone", beckon.ListenerFuncs{}, nil)
	b.Store(dial(t, url, "bob", "phone", l, logger))
	for _, data := range []string{"boom", "fine"} {
		if _, err := a.Invite(context.Background(), "bob", data); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case got := <-heard:
		if got != "fine" {
			t.Errorf("bob heard %q, want the invitation after the one that panicked", got)
		}
	case <-time.After(patience):
		t.Fatal("no callback after the panicking one")
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "panicked") {
		t.Errorf("log: got %q, want the panic logged", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// REM-5: a device whose connection is lost and comes back within its
// session expiry resumes the session: it hears every event of the time it
// was away, in order, once, and nothing again (no SYN-1 re-delivery).
func TestReconnectResumes(t *testing.T) {
	url, _ := server(t)
	bob := newEvents()
	a, b, p, id := ringThroughProxy(t, url, bob, bob.listener())
	ctx := context.Background()
	p.Hold(true)
	p.Cut()
	for _, data := range []string{"audio only", "video again"} {
		if err := a.Modify(ctx, id, data); err != nil {
			t.Fatal(err)
		}
	}
	p.Hold(false)
	for _, want := range []string{"audio only", "video again"} {
		if ev := bob.next(t); ev.Type != beckon.EventModified || ev.Data != want {
			t.Errorf("after resuming bob heard %+v, want InvitationModified %q", ev, want)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	if err := b.Accept(ctx, id, ""); err != nil {
		t.Errorf("Accept after resuming: %v", err)
	}
	if ev := bob.next(t); ev.Type != beckon.EventAccepted {
		t.Errorf("bob heard %+v, want his own InviteeAccepted (and no re-delivered invitation before it)", ev)
	}
}

// ringThroughProxy connects alice directly and bob (his events heard by
// l into bob) through a proxy, and has alice ring bob.
func ringThroughProxy(t *testing.T, url string, bob *events, l beckon.Listener) (a, b *Client, p *netfault.Proxy, id string) {
	t.Helper()
	p = netfault.New(t, strings.TrimPrefix(url, "mqtt://"))
	a = dial(t, url, "alice", "phone", beckon.ListenerFuncs{}, nil)
	b = dial(t, "mqtt://"+p.Addr(), "bob", "phone", l, nil)
	id, err := a.Invite(context.Background(), "bob", "ring")
	if err != nil {
		t.Fatal(err)
	}
	if ev := bob.next(t); ev.InviteID != id {
		t.Fatalf("bob heard %+v, want the invitation", ev)
	}
	return a, b, p, id
}

// restarts is a listener that also hears OnSessionRestarted, as an event
// of Type 0.
type restarts struct{ *events }

func (r restarts) OnSessionRestarted() {
	r.mu.Lock()
	r.got = append(r.got, beckon.Event{})
	r.mu.Unlock()
	r.ch <- struct{}{}
}

func (r restarts) listener() SessionListener {
	return struct {
		beckon.Listener
		restarts
	}{r.events.listener(), r}
}

// REM-6: a device that comes back after its session expired starts a new
// session: its SessionListener hears OnSessionRestarted, then the pending
// invitation again, with its current data (SYN-1).
func TestReconnectAfterExpiryStartsAfresh(t *testing.T) {
	url, _ := serverWith(t, func(o *mqtt.Options) { o.SessionExpiry = time.Second })
	bob := restarts{newEvents()}
	a, _, p, id := ringThroughProxy(t, url, bob.events, bob.listener())
	ctx := context.Background()
	p.Hold(true)
	p.Cut()
	if err := a.Modify(ctx, id, "changed while away"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // past the expiry: the session ends
	p.Hold(false)
	if ev := bob.next(t); ev.Type != 0 {
		t.Fatalf("bob heard %+v, want OnSessionRestarted first", ev)
	}
	if ev := bob.next(t); ev.Type != beckon.EventNewInvitation || ev.InviteID != id || ev.Data != "changed while away" {
		t.Errorf("bob heard %+v, want the invitation re-delivered with its current data", ev)
	}
}

// A QoS 1 duplicate (seq not above the last) is dropped.
func TestDuplicateEventsDropped(t *testing.T) {
	url, _ := server(t)
	bob := newEvents()
	b := dial(t, url, "bob", "phone", bob.listener(), nil)
	ev := func(seq string) paho.PublishReceived {
		return paho.PublishReceived{Packet: &paho.Publish{Topic: b.topics.events,
			Payload: []byte(`{"seq":` + seq + `,"type":"InvitationModified","inviteID":"i` + seq + `","data":""}`)}}
	}
	for _, seq := range []string{"1", "1", "2", "1", "3"} {
		_, _ = b.received(ev(seq))
	}
	for _, want := range []string{"i1", "i2", "i3"} {
		if got := bob.next(t); got.InviteID != want {
			t.Errorf("heard %s, want %s (duplicates dropped)", got.InviteID, want)
		}
	}
	select {
	case <-bob.ch:
		t.Errorf("heard more than the three distinct events")
	case <-time.After(100 * time.Millisecond):
	}
}

var _ beckon.Signaling = (*Client)(nil)

// A second client of the same user and device takes the session over; the
// first is closed rather than taking it back.
func TestTakenOver(t *testing.T) {
	url, _ := server(t)
	first := dial(t, url, "bob", "phone", beckon.ListenerFuncs{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	second := dial(t, url, "bob", "phone", beckon.ListenerFuncs{}, nil)
	deadline := time.Now().Add(patience)
	for !first.closed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the client whose session was taken over is not closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := first.Reject(context.Background(), "x", ""); !errors.Is(err, beckon.ErrNotLoggedIn) {
		t.Errorf("a call of the client taken over: got %v, want ErrNotLoggedIn", err)
	}
	time.Sleep(300 * time.Millisecond) // a reconnect of the first would take the session back
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := second.Reject(ctx, "x", ""); !errors.Is(err, beckon.ErrInvalidInviteID) {
		t.Errorf("a call of the new client: got %v, want the server's answer (8010)", err)
	}
}

// The remote client lists open invitations and call records as the
// in-process one does; a record's Cursor() pages (QRY-1, REC-1, REC-2).
func TestOpenInvitationsAndRecords(t *testing.T) {
	url, rt := server(t)
	a := dial(t, url, "alice", "phone", beckon.ListenerFuncs{}, nil)
	b := dial(t, url, "bob", "phone", beckon.ListenerFuncs{}, nil)
	ctx := context.Background()
	open, err := a.Invite(ctx, "bob", "ring", beckon.TimeoutSeconds(30))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Client{a, b} {
		got, err := c.OpenInvitations(ctx)
		want, _ := rt.OpenInvitations(ctx, c.User())
		if err != nil || len(got) != 1 || len(want) != 1 || got[0].InviteID != open || !sameOpen(got[0], want[0]) {
			t.Errorf("%s: OpenInvitations: got %+v, %v; want %+v", c.User(), got, err, want)
		}
	}
	for i := range 3 {
		id, err := a.Invite(ctx, "bob", "")
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			err = b.Reject(ctx, id, "")
		} else {
			err = a.Cancel(ctx, id, "")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	want, err := rt.Records("bob", beckon.RecordCursor{}, 0)
	if err != nil || len(want) != 3 {
		t.Fatalf("Runtime.Records(bob): got %d, %v; want 3", len(want), err)
	}
	var got []beckon.CallRecord
	for after := (beckon.RecordCursor{}); ; {
		page, err := b.Records(after, 2)
		if err != nil {
			t.Fatalf("Records(after %+v, 2): %v", after, err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1].Cursor()
	}
	if all, err := b.Records(beckon.RecordCursor{}, 0); err != nil || len(all) != len(want) {
		t.Errorf("Records(start, 0): got %d, %v; want all %d", len(all), err, len(want))
	}
	if len(got) != len(want) {
		t.Fatalf("Records paged by 2: got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.User != w.User || g.Outcome != w.Outcome || g.Cursor() != w.Cursor() || g.Call.Created != w.Call.Created ||
			g.Call.Inviter != w.Call.Inviter || g.Call.Group != w.Call.Group ||
			!slices.Equal(g.Call.Invitees, w.Call.Invitees) || !slices.Equal(g.Call.States, w.Call.States) {
			t.Errorf("record %d: got %+v, want the runtime's %+v", i, g, w)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Records(beckon.RecordCursor{}, 0); !errors.Is(err, beckon.ErrNotLoggedIn) {
		t.Errorf("Records after Close: got %v, want ErrNotLoggedIn", err)
	}
	if _, err := a.OpenInvitations(ctx); !errors.Is(err, beckon.ErrNotLoggedIn) {
		t.Errorf("OpenInvitations after Close: got %v, want ErrNotLoggedIn", err)
	}
}

func sameOpen(g, w beckon.OpenInvitation) bool {
	return g.InviteID == w.InviteID && g.Inviter == w.Inviter && g.Group == w.Group && g.Data == w.Data &&
		g.Incoming == w.Incoming && g.Created.Equal(w.Created) && g.Deadline.Equal(w.Deadline) &&
		slices.Equal(g.Invitees, w.Invitees) && slices.Equal(g.States, w.States)
}
