package kernel_test

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
)

// seqsOf lists "user/session#seq" of a step's events.
func seqsOf(st *kernel.Step) []string {
	var out []string
	for _, e := range st.Events {
		out = append(out, e.User+"/"+e.Session+"#"+itoa(int(e.Seq))+map[bool]string{true: "r"}[e.Resumable])
	}
	return out
}

func endedOf(st *kernel.Step) []string {
	var out []string
	for _, e := range st.Ended {
		out = append(out, e.User+"/"+e.Session)
	}
	return out
}

func connectFor(user, session string, expiry int) kernel.Input {
	in := kernel.Connect(user, session)
	in.Timeout = expiry
	return in
}

// Events are numbered per session from 1 for as long as the session lasts;
// those of a session with an expiry are marked resumable.
func TestSessionSeq(t *testing.T) {
	k := kernel.New(kernel.Config{})
	k.Apply(at(secs(0)), connectFor("bob", "phone", 120))
	k.Apply(at(secs(0)), kernel.Connect("bob", "tab"))
	k.Apply(at(secs(0)), kernel.Connect("alice", "a"))
	st := k.Apply(at(secs(1)), kernel.Invite("alice", "bob", "d", 0))
	id := st.InviteID
	if got, want := seqsOf(st), []string{"bob/phone#1r", "bob/tab#1"}; !slices.Equal(got, want) {
		t.Errorf("invite: got %q, want %q", got, want)
	}
	k.Apply(at(secs(2)), kernel.Suspend("bob", "phone"))
	st = k.Apply(at(secs(3)), kernel.Modify("alice", id, "m"))
	if got, want := seqsOf(st), []string{"alice/a#1", "bob/phone#2r", "bob/tab#2"}; !slices.Equal(got, want) {
		t.Errorf("modify while phone is away: got %q, want %q", got, want)
	}
	st = k.Apply(at(secs(4)), kernel.Resume("bob", "phone", 120))
	if !st.Resumed || len(st.Events) != 0 || !st.Log {
		t.Errorf("resume: got Resumed %v, %d events, Log %v; want true, 0 (no SYN-1 re-delivery), true", st.Resumed, len(st.Events), st.Log)
	}
	st = k.Apply(at(secs(5)), kernel.Cancel("alice", id, ""))
	if got, want := seqsOf(st), []string{"alice/a#2", "bob/phone#3r", "bob/tab#3"}; !slices.Equal(got, want) {
		t.Errorf("cancel after resume: got %q, want %q", got, want)
	}
}

// A session away ends when its expiry passes (REM-4) by time alone, and
// is reported in Step.Ended; a Resume after that starts it anew (REM-6)
// with SYN-1 and seq from 1.
func TestSessionExpiry(t *testing.T) {
	k := kernel.New(kernel.Config{})
	k.Apply(at(secs(0)), connectFor("bob", "phone", 10))
	k.Apply(at(secs(0)), kernel.Connect("alice", "a"))
	k.Apply(at(secs(1)), kernel.Invite("alice", "bob", "d", 0))
	k.Apply(at(secs(2)), kernel.Suspend("bob", "phone"))
	if d, ok := k.NextDeadline(); !ok || !d.Equal(at(secs(12))) {
		t.Errorf("NextDeadline: got %v %v, want %v", d, ok, at(secs(12)))
	}
	if st := k.Tick(at(secs(12)).Add(-1)); len(st.Ended) != 0 {
		t.Errorf("before the expiry: ended %q", endedOf(st))
	}
	st := k.Tick(at(secs(12)))
	if got := endedOf(st); !slices.Equal(got, []string{"bob/phone"}) || !st.Log || st.Record.Input.Op != kernel.OpTick {
		t.Errorf("at the expiry: ended %q, Log %v, record %v; want [bob/phone], a logged Tick", got, st.Log, st.Record.Input.Op)
	}
	if k.Online("bob") {
		t.Error("bob is online after his only session expired")
	}
	st = k.Apply(at(secs(13)), kernel.Resume("bob", "phone", 10))
	if st.Resumed || !slices.Equal(seqsOf(st), []string{"bob/phone#1r"}) {
		t.Errorf("resume after expiry: Resumed %v, events %q; want false and the SYN-1 re-delivery as #1", st.Resumed, seqsOf(st))
	}
}

// A resumed session's old end is void: it does not expire at it.
func TestSessionResumeCancelsExpiry(t *testing.T) {
	k := kernel.New(kernel.Config{})
	k.Apply(at(secs(0)), connectFor("bob", "phone", 10))
	k.Apply(at(secs(1)), kernel.Suspend("bob", "phone"))
	k.Apply(at(secs(5)), kernel.Resume("bob", "phone", 10))
	if st := k.Tick(at(secs(30))); len(st.Ended) != 0 || !k.Online("bob") {
		t.Errorf("resumed session ended at its old expiry: %q", endedOf(st))
	}
	k.Apply(at(secs(31)), kernel.Suspend("bob", "phone"))
	if st := k.Tick(at(secs(41))); !slices.Equal(endedOf(st), []string{"bob/phone"}) {
		t.Errorf("second absence: ended %q, want bob/phone at its own expiry", endedOf(st))
	}
}

// Without an expiry a lost connection ends the session at once.
func TestSuspendWithoutExpiryEnds(t *testing.T) {
	k := kernel.New(kernel.Config{})
	k.Apply(at(secs(0)), kernel.Connect("bob", "tab"))
	st := k.Apply(at(secs(1)), kernel.Suspend("bob", "tab"))
	if !slices.Equal(endedOf(st), []string{"bob/tab"}) || k.Online("bob") {
		t.Errorf("suspend without expiry: ended %q, online %v; want bob/tab, offline", endedOf(st), k.Online("bob"))
	}
	if st := k.Apply(at(secs(2)), kernel.Disconnect("bob", "gone")); st.Log || len(st.Ended) != 0 {
		t.Errorf("disconnect of no session: Log %v, ended %q", st.Log, endedOf(st))
	}
}

// A session away still receives events and counts for ONL-1, but not for
// offline push: an invitee whose every session is away gets the push
// request (SYN-2, REM preamble).
func TestAwaySessionsGetPush(t *testing.T) {
	k := kernel.New(kernel.Config{})
	k.Apply(at(secs(0)), connectFor("bob", "phone", 60))
	k.Apply(at(secs(0)), connectFor("bob", "tab", 60))
	k.Apply(at(secs(1)), kernel.Suspend("bob", "phone"))
	in := kernel.Invite("alice", "bob", "d", 0)
	in.Push = &kernel.PushInfo{Desc: "call"}
	if st := k.Apply(at(secs(2)), in); len(st.Pushes) != 0 {
		t.Errorf("one session of bob still connected: got %d push requests, want 0", len(st.Pushes))
	}
	k.Apply(at(secs(3)), kernel.Suspend("bob", "tab"))
	st := k.Apply(at(secs(4)), in)
	if len(st.Pushes) != 1 || len(st.Events) != 2 {
		t.Errorf("every session of bob away: got %d pushes, %d events; want 1 push and the events to both sessions", len(st.Pushes), len(st.Events))
	}
	online := kernel.Invite("alice", "bob", "o", 0)
	online.OnlineUserOnly = true
	if st := k.Apply(at(secs(5)), online); len(st.Events) != 2 {
		t.Errorf("online-only invite to bob with sessions away: %d events, want 2 (away sessions are connected for ONL-1)", len(st.Events))
	}
}

// A snapshot keeps sessions' seqs, expiries and absences: the restored
// kernel numbers on and ends an away session at the same time.
func TestSessionsSurviveSnapshot(t *testing.T) {
	k := kernel.New(kernel.Config{})
	k.Apply(at(secs(0)), connectFor("bob", "phone", 10))
	k.Apply(at(secs(0)), kernel.Connect("alice", "a"))
	id := k.Apply(at(secs(1)), kernel.Invite("alice", "bob", "d", 0)).InviteID
	k.Apply(at(secs(2)), kernel.Suspend("bob", "phone"))
	r := mustRestore(t, kernel.Config{}, k.Snapshot())
	for _, kk := range []*kernel.Kernel{k, r} {
		st := kk.Apply(at(secs(3)), kernel.Modify("alice", id, "m"))
		if got, want := seqsOf(st), []string{"alice/a#1", "bob/phone#2r"}; !slices.Equal(got, want) {
			t.Errorf("modify: got %q, want %q", got, want)
		}
		if st := kk.Tick(at(secs(12))); !slices.Equal(endedOf(st), []string{"bob/phone"}) {
			t.Errorf("expiry: ended %q, want bob/phone", endedOf(st))
		}
	}
	var infos []kernel.SessionInfo
	k2 := kernel.New(kernel.Config{})
	k2.Apply(at(secs(0)), connectFor("bob", "phone", 10))
	k2.Apply(at(secs(2)), kernel.Suspend("bob", "phone"))
	for s := range mustRestore(t, kernel.Config{}, k2.Snapshot()).Sessions() {
		infos = append(infos, s)
	}
	if len(infos) != 1 || infos[0].Expiry != 10 || !infos[0].Away.Equal(at(secs(2))) {
		t.Errorf("Sessions after restore: got %+v, want bob/phone, expiry 10, away since %v", infos, at(secs(2)).Format(time.RFC3339))
	}
}

// A session event round-trips its encoding; damaged bytes are ErrCorrupt.
func TestSessionEventCodec(t *testing.T) {
	e := kernel.SessionEvent{User: "bob", Session: "phone", Seq: 1 << 40, Resumable: true,
		Event: kernel.Event{Type: kernel.EventNewInvitation, InviteID: "i", Inviter: "alice", GroupID: "g",
			Invitees: list("bob", "carol"), Data: "ünï"}}
	b := kernel.AppendSessionEvent(nil, e)
	got, err := kernel.DecodeSessionEvent(b)
	if err != nil || !reflect.DeepEqual(got, e) {
		t.Fatalf("round trip: got %+v, %v; want %+v", got, err, e)
	}
	for n := range len(b) {
		if _, err := kernel.DecodeSessionEvent(b[:n]); !errors.Is(err, kernel.ErrCorrupt) {
			t.Errorf("truncated to %d bytes: got %v, want ErrCorrupt", n, err)
		}
	}
	if _, err := kernel.DecodeSessionEvent(append(bytes.Clone(b), 0)); !errors.Is(err, kernel.ErrCorrupt) {
		t.Errorf("trailing byte: got %v, want ErrCorrupt", err)
	}
}

// A Connect of a session away ends it and starts a new one (its device came
// back without resuming); of a connected one, it changes nothing.
func TestConnectOfAnAwaySession(t *testing.T) {
	k := kernel.New(kernel.Config{})
	k.Apply(at(secs(0)), connectFor("bob", "phone", 60))
	k.Apply(at(secs(0)), kernel.Connect("alice", "a"))
	k.Apply(at(secs(1)), kernel.Invite("alice", "bob", "d", 0))
	if st := k.Apply(at(secs(2)), connectFor("bob", "phone", 60)); st.Log || len(st.Events) != 0 {
		t.Errorf("Connect of a connected session: Log %v, events %q; want nothing", st.Log, seqsOf(st))
	}
	k.Apply(at(secs(3)), kernel.Suspend("bob", "phone"))
	st := k.Apply(at(secs(4)), connectFor("bob", "phone", 60))
	if !slices.Equal(endedOf(st), []string{"bob/phone"}) || !slices.Equal(seqsOf(st), []string{"bob/phone#1r"}) {
		t.Errorf("Connect of a session away: ended %q, events %q; want bob/phone ended and the new one's SYN-1 as #1", endedOf(st), seqsOf(st))
	}
	if len(st.Ended) == 1 && st.Ended[0].After != 0 {
		t.Errorf("Connect of a session away: the old one ended after %d events, want 0 (before the new one's)", st.Ended[0].After)
	}
	if st := k.Tick(at(secs(64))); len(st.Ended) != 0 {
		t.Errorf("the new session ended at the old one's expiry: %q", endedOf(st))
	}
}

// A connection lost at any time, Unix time 0 included, leaves the session
// away until its expiry (and a snapshot says so).
func TestSessionLostAtTheEpoch(t *testing.T) {
	k := kernel.New(kernel.Config{})
	epoch := time.Unix(0, 0)
	k.Apply(epoch, connectFor("bob", "phone", 10))
	k.Apply(epoch, kernel.Suspend("bob", "phone"))
	in := kernel.Invite("alice", "bob", "d", 0)
	in.Push = &kernel.PushInfo{Desc: "call"}
	if st := k.Apply(epoch, in); len(st.Pushes) != 1 {
		t.Errorf("invite to bob, away since the epoch: %d push requests, want 1", len(st.Pushes))
	}
	r := mustRestore(t, kernel.Config{}, k.Snapshot())
	for _, kk := range []*kernel.Kernel{k, r} {
		if st := kk.Tick(epoch.Add(10 * time.Second)); !slices.Equal(endedOf(st), []string{"bob/phone"}) {
			t.Errorf("expiry of a session away since the epoch: ended %q, want bob/phone", endedOf(st))
		}
	}
}
