package conformance

import (
	"fmt"
	"time"
)

// Checks of REM-4, REM-5 and REM-6: sessions that outlive a lost
// connection (SessionResumer). Events of a dropped session are read only
// after its Reconnect: until then they may still be on their way.

// resumer skips the check when the harness has no SessionResumer.
func (s *sys) resumer() {
	s.t.Helper()
	if _, ok := s.h.resumer(); !ok {
		s.t.Skipf("%s: skipped: the harness has no SessionResumer capability (sessions that outlive a lost connection)", s.rule)
	}
}

// onFor connects sessions of user with an expiry.
func (s *sys) onFor(user string, expiry time.Duration, sessions ...string) {
	s.t.Helper()
	for _, ss := range sessions {
		if code := s.h.ConnectFor(user, ss, expiry); code != 0 {
			s.failf(fmt.Sprintf("ConnectFor(%q, %q, %v)", user, ss, expiry), codeString(code), codeString(0))
		}
		s.known(sessKey{user, ss})
	}
}

// known adds a session to those quiet checks.
func (s *sys) known(k sessKey) {
	for _, x := range s.sessions {
		if x == k {
			return
		}
	}
	s.sessions = append(s.sessions, k)
}

// back reconnects a dropped session and checks whether it was resumed.
func (s *sys) back(user, session string, resumed bool) {
	s.t.Helper()
	got, code := s.h.Reconnect(user, session)
	op := fmt.Sprintf("Reconnect(%q, %q)", user, session)
	if code != 0 {
		s.failf(op, codeString(code), codeString(0))
	}
	if got != resumed {
		s.failf(op+" resumed", got, resumed)
	}
}

const (
	expiry = 20 * time.Second // the sessions' expiry in these checks
	ring   = "ring"
)

func init() {
	register("REM-4", "dropped-session-still-receives", func(s *sys) {
		s.resumer()
		s.on(A, "a")
		s.onFor(B, expiry, "b")
		s.h.Drop(B, "b")
		id := s.invite(A, B, InviteArgs{Data: "d"})
		s.modify(A, id, "d2", 0)
		s.advance(expiry - time.Second)
		s.back(B, "b", true)
		s.expect(B, "b", evNew(id, A, "", ids(B), "d"), evModify(id, "d2"))
		s.expect(A, "a", evModify(id, "d2"))
		s.accept(B, id, "", 0)
		s.expect(B, "b", evAccept(id, B, ""))
		s.expect(A, "a", evAccept(id, B, ""))
		s.quiet()
	})

	register("REM-4", "online-only-reaches-dropped-session", func(s *sys) {
		s.resumer()
		s.onFor(B, expiry, "b")
		s.h.Drop(B, "b")
		id := s.invite(A, B, InviteArgs{OnlineUserOnly: true, Data: "d"}) // connected for ONL-1
		s.back(B, "b", true)
		s.expect(B, "b", evNew(id, A, "", ids(B), "d"))
		s.expectPushes()
	})

	register("REM-4", "push-when-every-session-dropped", func(s *sys) {
		s.resumer()
		p := &PushInfo{Desc: ring}
		s.onFor(B, expiry, "b", "c")
		s.h.Drop(B, "b")
		id := s.invite(A, B, InviteArgs{Push: p}) // "c" still has its connection
		s.expectPushes()
		s.h.Drop(B, "c")
		id2 := s.invite(A, B, InviteArgs{Data: "d", Push: p})
		s.expectPushes(PushRequest{To: B, InviteID: id2, Inviter: A, Data: "d", Info: *p})
		s.back(B, "c", true)
		s.back(B, "b", true)
		s.expect(B, "b", evNew(id, A, "", ids(B), ""), evNew(id2, A, "", ids(B), "d"))
		s.expect(B, "c", evNew(id, A, "", ids(B), ""), evNew(id2, A, "", ids(B), "d"))
		s.expectPushes()
	})

	register("REM-4", "gone-after-expiry", func(s *sys) {
		s.resumer()
		s.on(A, "a")
		s.onFor(B, expiry, "b")
		s.h.Drop(B, "b")
		s.advance(expiry - time.Second)
		early := s.invite(A, B, InviteArgs{OnlineUserOnly: true}) // reaches it, still there
		s.advance(2 * time.Second)
		late := s.invite(A, B, InviteArgs{OnlineUserOnly: true}) // B has no session: ONL-1
		s.cancel(A, early, "", 0)                                // lost with the session
		s.back(B, "b", false)
		s.expect(B, "b") // neither online-only invitation is re-delivered
		s.expect(A, "a", evCancel(early, A, ""))
		s.cancel(A, late, "", 0)
		s.expect(B, "b") // it never reached B
		s.expect(A, "a", evCancel(late, A, ""))
		s.quiet()
	})

	register("REM-4", "no-expiry-ends-at-once", func(s *sys) {
		s.resumer()
		p := &PushInfo{Desc: ring}
		s.onFor(B, 0, "b")
		s.h.Drop(B, "b")
		onl := s.invite(A, B, InviteArgs{OnlineUserOnly: true})
		id := s.invite(A, B, InviteArgs{Push: p})
		s.expectPushes(PushRequest{To: B, InviteID: id, Inviter: A, Info: *p})
		s.back(B, "b", false)
		s.expect(B, "b", evNew(id, A, "", ids(B), ""))
		s.cancel(A, onl, "", 0)
		s.expect(B, "b")
	})

	register("REM-4", "clean-disconnect-ends-at-once", func(s *sys) {
		s.resumer()
		p := &PushInfo{Desc: ring}
		s.onFor(B, expiry, "b")
		id := s.invite(A, B, InviteArgs{Push: p})
		s.expectPushes()
		s.expect(B, "b", evNew(id, A, "", ids(B), ""))
		s.off(B, "b")
		id2 := s.invite(A, B, InviteArgs{Push: p})
		s.expectPushes(PushRequest{To: B, InviteID: id2, Inviter: A, Info: *p})
		onl := s.invite(A, B, InviteArgs{OnlineUserOnly: true})
		s.back(B, "b", false)
		s.expect(B, "b", evNew(id, A, "", ids(B), ""), evNew(id2, A, "", ids(B), ""))
		s.cancel(A, onl, "", 0)
		s.expect(B, "b")
	})

	register("REM-4", "one-session-per-session-id", func(s *sys) {
		s.resumer()
		s.on(A, "a")
		s.onFor(B, expiry, "b")
		id := s.invite(A, B, InviteArgs{})
		s.expect(B, "b", evNew(id, A, "", ids(B), ""))
		s.onFor(B, expiry, "b") // connected already: nothing
		s.expect(B, "b")
		s.modify(A, id, "m", 0)
		s.expect(B, "b", evModify(id, "m"))
		s.h.Drop(B, "b")
		s.modify(A, id, "lost", 0)
		s.onFor(B, expiry, "b") // a new connection that does not resume: a new session
		s.expect(B, "b", evNew(id, A, "", ids(B), "lost"))
		s.cancel(A, id, "", 0)
		s.expect(B, "b", evCancel(id, A, ""))
		s.h.TakeEvents(A, "a")
		s.quiet()
	})

	register("REM-5", "dropped-events-in-order-once", func(s *sys) {
		s.resumer()
		s.on(A, "a")
		s.onFor(B, expiry, "b")
		s.on(B, "desk")
		id := s.invite(A, B, InviteArgs{})
		s.expectAll(B, ids("b", "desk"), evNew(id, A, "", ids(B), ""))
		s.h.Drop(B, "b")
		s.modify(A, id, "m1", 0)
		id2 := s.invite(A, B, InviteArgs{Timeout: s.tmo(5)})
		s.advance(sec(s.tmo(5)) + time.Second)
		s.modify(A, id, "m2", 0)
		want := []Event{evModify(id, "m1"), evNew(id2, A, "", ids(B), ""), evTimeout(id2, B), evModify(id, "m2")}
		s.expect(B, "desk", want...)
		s.back(B, "b", true) // no SYN-1 re-delivery of id either
		s.expect(B, "b", want...)
		s.h.Drop(B, "b") // and again
		s.cancel(A, id, "", 0)
		s.back(B, "b", true)
		s.expectAll(B, ids("b", "desk"), evCancel(id, A, ""))
		s.h.TakeEvents(A, "a")
		s.quiet()
	})

	register("REM-5", "restart-while-dropped", func(s *sys) {
		s.resumer()
		s.restarter()
		s.on(A, "a")
		s.onFor(B, expiry, "b")
		T := s.tmo(5)
		id := s.invite(A, B, InviteArgs{Timeout: T})
		s.expect(B, "b", evNew(id, A, "", ids(B), ""))
		s.h.Drop(B, "b")
		s.modify(A, id, "m", 0)
		s.h.Restart(sec(T) + time.Second) // the timeout fires on recovery (TMO-4)
		s.back(B, "b", true)
		s.expect(B, "b", evModify(id, "m"), evTimeout(id, B))
		s.expect(A, "a", evModify(id, "m"), evTimeout(id, B))
		id2 := s.invite(A, B, InviteArgs{})
		s.expect(B, "b", evNew(id2, A, "", ids(B), ""))
		s.quiet()
	})

	register("REM-5", "restart-while-connected", func(s *sys) {
		s.resumer()
		s.restarter()
		s.on(A, "a")
		s.onFor(B, expiry, "b")
		T := s.tmo(5)
		id := s.invite(A, B, InviteArgs{Timeout: T})
		keep := s.invite(A, B, InviteArgs{})
		s.expect(B, "b", evNew(id, A, "", ids(B), ""), evNew(keep, A, "", ids(B), ""))
		s.h.Restart(sec(T) + time.Second)
		s.expect(B, "b", evTimeout(id, B)) // and no SYN-1 of keep: the same session
		s.expect(A, "a", evTimeout(id, B))
		s.h.Drop(B, "b")
		s.modify(A, keep, "m", 0)
		s.back(B, "b", true)
		s.expect(B, "b", evModify(keep, "m"))
		s.h.TakeEvents(A, "a")
		s.quiet()
	})

	register("REM-6", "back-after-expiry-is-new", func(s *sys) {
		s.resumer()
		s.on(A, "a")
		s.onFor(B, expiry, "b")
		id := s.invite(A, B, InviteArgs{})
		s.expect(B, "b", evNew(id, A, "", ids(B), ""))
		s.h.Drop(B, "b")
		id2 := s.invite(A, B, InviteArgs{Data: "d"})
		s.modify(A, id, "m", 0)
		s.advance(expiry + time.Second)
		s.back(B, "b", false)
		s.expect(B, "b", evNew(id, A, "", ids(B), "m"), evNew(id2, A, "", ids(B), "d")) // SYN-1, not what was lost
		s.cancel(A, id, "", 0)
		s.expect(B, "b", evCancel(id, A, ""))
		s.h.TakeEvents(A, "a")
		s.quiet()
	})

	register("REM-6", "back-after-expiry-across-restart", func(s *sys) {
		s.resumer()
		s.restarter()
		s.onFor(B, expiry, "b")
		id := s.invite(A, B, InviteArgs{})
		s.expect(B, "b", evNew(id, A, "", ids(B), ""))
		s.h.Drop(B, "b")
		s.modify(A, id, "m", 0)
		s.h.Restart(expiry + time.Second)
		s.back(B, "b", false)
		s.expect(B, "b", evNew(id, A, "", ids(B), "m"))
	})
}
