package conformance

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Checks of IDM-1, DET-1, LIM-1 and LIM-2.

func sortedKeys[V any](m map[string]V) []string {
	l := make([]string, 0, len(m))
	for k := range m {
		l = append(l, k)
	}
	sort.Strings(l)
	return l
}

func init() {
	register("IDM-1", "retried-invite", func(s *sys) {
		s.group(G, A, B, C)
		s.on(A, "phone")
		s.on(B, "phone")
		c := Caller{User: A, Session: "phone", RequestID: "req-1"}
		a := InviteArgs{Invitee: B, Data: "d", Push: &PushInfo{Desc: "x"}}
		id := s.inviteAs(c, a, 0)
		s.expect(B, "phone", evNew(id, A, "", ids(B), "d"))
		for i := 0; i < 2; i++ {
			if got := s.inviteAs(c, a, 0); got != id {
				s.failf("retried "+inviteString(c, a), fmt.Sprintf("invite ID %q", got), fmt.Sprintf("the first result %q", id))
			}
		}
		gc := Caller{User: A, RequestID: "req-g"}
		gid := s.ginviteAs(gc, GroupInviteArgs{Group: G, Invitees: ids(B, C)}, 0)
		s.expect(B, "phone", evNew(gid, A, G, ids(B, C), ""))
		if got := s.ginviteAs(gc, GroupInviteArgs{Group: G, Invitees: ids(B, C)}, 0); got != gid {
			s.failf("retried InviteInGroup", fmt.Sprintf("invite ID %q", got), fmt.Sprintf("%q", gid))
		}
		s.quiet()
		s.expectHistory(C2C(A, B), env(ActionInvite, id, "", A, ids(B), "d", 0))
		s.expectHistory(GroupConv(G), env(ActionInvite, gid, G, A, ids(B, C), "", 0))
		s.expectPushes()
		// another user with the same request ID is another request
		id2 := s.inviteAs(Caller{User: C, RequestID: "req-1"}, InviteArgs{Invitee: B}, 0)
		if id2 == id {
			s.failf("Invite by another user with the same request ID", fmt.Sprintf("invite ID %q", id2), "a new invitation")
		}
		s.expect(B, "phone", evNew(id2, C, "", ids(B), ""))
	})

	register("IDM-1", "retried-responses", func(s *sys) {
		s.group(G, A, B, C)
		s.on(A, "phone")
		s.on(B, "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C)})
		s.h.TakeEvents(B, "phone")
		mc := Caller{User: B, RequestID: "m"}
		s.do(opModify, mc, id, "v2", 0)
		s.do(opModify, mc, id, "v2", 0)
		s.expect(A, "phone", evModify(id, "v2"))
		s.expect(B, "phone", evModify(id, "v2"))
		ac := Caller{User: B, RequestID: "a"}
		s.do(opAccept, ac, id, "ok", 0)
		s.do(opAccept, ac, id, "ok", 0) // not 8010: the first result
		s.expect(A, "phone", evAccept(id, B, "ok"))
		s.expect(B, "phone", evAccept(id, B, "ok"))
		rc := Caller{User: C, RequestID: "r"}
		s.do(opReject, rc, id, "no", 0) // closes it
		s.do(opReject, rc, id, "no", 0)
		s.h.TakeEvents(A, "phone")
		s.h.TakeEvents(B, "phone")
		id2 := s.invite(A, B, InviteArgs{})
		s.h.TakeEvents(B, "phone")
		cc := Caller{User: A, RequestID: "c"}
		s.do(opCancel, cc, id2, "", 0)
		s.do(opCancel, cc, id2, "", 0)
		s.expect(A, "phone", evCancel(id2, A, ""))
		s.expect(B, "phone", evCancel(id2, A, ""))
		s.quiet()
		if n := len(s.history(GroupConv(G))); n != 4 {
			s.failf("History(group) length", n, 4)
		}
	})

	register("IDM-1", "failures-not-remembered", func(s *sys) {
		s.on(B, "phone")
		c := Caller{User: A, RequestID: "try"}
		s.inviteAs(c, InviteArgs{Invitee: B, Data: strings.Repeat("x", s.lim.MaxDataBytes+1)}, CodeBodySizeLimit)
		s.inviteAs(c, InviteArgs{Invitee: B, Timeout: -1}, CodeInvalidParameters)
		id := s.inviteAs(c, InviteArgs{Invitee: B, Data: "ok"}, 0)
		s.expect(B, "phone", evNew(id, A, "", ids(B), "ok"))
		rc := Caller{User: B, RequestID: "r"}
		s.do(opAccept, rc, "no-such-invite", "", CodeInvalidInviteID)
		s.do(opAccept, rc, id, "", 0)
		s.expect(B, "phone", evAccept(id, B, ""))
	})

	register("IDM-2", "reused-for-another-call", func(s *sys) {
		s.group(G, A, B, C)
		s.on(A, "phone")
		s.on(B, "phone")
		c := Caller{User: A, RequestID: "r1"}
		a := InviteArgs{Invitee: B, Data: "d"}
		id := s.inviteAs(c, a, 0)
		s.expect(B, "phone", evNew(id, A, "", ids(B), "d"))
		// another operation, or the same with other arguments: 6017, nothing applied
		s.do(opCancel, c, id, "", CodeInvalidParameters)
		s.do(opModify, c, id, "d", CodeInvalidParameters)
		s.ginviteAs(c, GroupInviteArgs{Group: G, Invitees: ids(B), Data: "d"}, CodeInvalidParameters)
		for _, other := range []InviteArgs{
			{Invitee: C, Data: "d"}, {Invitee: B, Data: "e"}, {Invitee: B, Data: "d", Timeout: s.tmo(5)},
			{Invitee: B, Data: "d", OnlineUserOnly: true}, {Invitee: B, Data: "d", Push: &PushInfo{Desc: "x"}},
			{Invitee: B, Data: "d", InviteID: "chosen"},
		} {
			s.inviteAs(c, other, CodeInvalidParameters)
		}
		s.quiet()
		s.expectPushes()
		s.expectHistory(C2C(A, B), env(ActionInvite, id, "", A, ids(B), "d", 0))
		// the same call still gets the first result
		if got := s.inviteAs(c, a, 0); got != id {
			s.failf("retried "+inviteString(c, a), fmt.Sprintf("invite ID %q", got), fmt.Sprintf("the first result %q", id))
		}
		bc := Caller{User: B, RequestID: "a1"}
		s.do(opAccept, bc, id, "yes", 0)
		s.do(opAccept, bc, id, "no", CodeInvalidParameters)
		s.do(opReject, bc, id, "yes", CodeInvalidParameters)
		s.do(opAccept, bc, id, "yes", 0)
		s.expect(A, "phone", evAccept(id, B, "yes"))
		s.expect(B, "phone", evAccept(id, B, "yes"))
		// request IDs are per user: another user's r1 is another request
		id2 := s.inviteAs(Caller{User: C, RequestID: "r1"}, InviteArgs{Invitee: B, Data: "c"}, 0)
		if id2 == id {
			s.failf("Invite by another user with the same request ID", fmt.Sprintf("invite ID %q", id2), "a new invitation")
		}
		s.expect(B, "phone", evNew(id2, C, "", ids(B), "c"))
		s.quiet()
	})

	register("IDM-2", "free-after-the-window", func(s *sys) {
		w := s.lim.RequestIDWindow
		s.require(w > 0, "the harness does not report RequestIDWindow")
		s.require(w <= 7*24*time.Hour, "RequestIDWindow above a week")
		s.on(B, "phone")
		c := Caller{User: A, RequestID: "r1"}
		id := s.inviteAs(c, InviteArgs{Invitee: B}, 0)
		s.advance(w + time.Second)
		s.do(opCancel, c, id, "", 0)
		s.expect(B, "phone", evNew(id, A, "", ids(B), ""), evCancel(id, A, ""))
	})

	register("DET-1", "same-script-same-observations", func(s *sys) {
		first := runDetScript(s, s.h, nil)
		h2 := newRecorder(s.newHarness(s.t))
		second := runDetScript(s, h2, nil)
		compareObservations(s, "second fresh system", second, first, h2)
	})

	register("DET-1", "restart-after-any-prefix", func(s *sys) {
		s.restarter()
		want := runDetScript(s, s.h, nil)
		n := len(detSteps)
		for _, at := range []int{-1, 1, n / 3, n / 2, n - 2} {
			h := newRecorder(s.newHarness(s.t))
			got := runDetScript(s, h, func(i int) bool { return at < 0 || i == at })
			what := fmt.Sprintf("system restarted after step %d", at)
			if at < 0 {
				what = "system restarted after every step"
			}
			compareObservations(s, what, got, want, h)
		}
	})

	register("LIM-1", "limits-reported", func(s *sys) {
		l := s.lim
		for name, v := range map[string]int{"MaxIDBytes": l.MaxIDBytes, "MaxInvitees": l.MaxInvitees,
			"MaxDataBytes": l.MaxDataBytes, "MaxOpenPerInviter": l.MaxOpenPerInviter, "MaxTimeoutSeconds": l.MaxTimeoutSeconds} {
			if v <= 0 {
				s.failf("Limits()."+name, v, "a positive limit")
			}
		}
	})

	register("LIM-1", "id-length", func(s *sys) {
		n := s.lim.MaxIDBytes
		okUser, longUser := strings.Repeat("u", n), strings.Repeat("u", n+1)
		okSess, longSess := strings.Repeat("s", n), strings.Repeat("s", n+1)
		okGroup, longGroup := strings.Repeat("g", n), strings.Repeat("g", n+1)
		okReq, longReq := strings.Repeat("r", n), strings.Repeat("r", n+1)
		if code := s.h.Connect(longUser, "phone"); code != CodeInvalidParameters {
			s.failf(fmt.Sprintf("Connect(%d-byte user)", n+1), codeString(code), codeString(CodeInvalidParameters))
		}
		if code := s.h.Connect(B, longSess); code != CodeInvalidParameters {
			s.failf(fmt.Sprintf("Connect(%d-byte session)", n+1), codeString(code), codeString(CodeInvalidParameters))
		}
		if code := s.h.SetGroup(longGroup, []string{A, B}); code != CodeInvalidParameters {
			s.failf(fmt.Sprintf("SetGroup(%d-byte group)", n+1), codeString(code), codeString(CodeInvalidParameters))
		}
		s.on(okUser, okSess)
		s.group(okGroup, A, okUser)
		s.inviteAs(by(longUser), InviteArgs{Invitee: okUser}, CodeInvalidParameters)
		s.inviteAs(by(A), InviteArgs{Invitee: longUser}, CodeInvalidParameters)
		s.inviteAs(Caller{User: A, Session: longSess}, InviteArgs{Invitee: okUser}, CodeInvalidParameters)
		s.inviteAs(Caller{User: A, RequestID: longReq}, InviteArgs{Invitee: okUser}, CodeInvalidParameters)
		s.ginviteAs(by(A), GroupInviteArgs{Group: longGroup, Invitees: ids(okUser)}, CodeInvalidParameters)
		s.quiet()
		id := s.inviteAs(Caller{User: A, Session: okSess, RequestID: okReq}, InviteArgs{Invitee: okUser}, 0)
		s.expect(okUser, okSess, evNew(id, A, "", ids(okUser), ""))
		s.do(opAccept, Caller{User: longUser}, id, "", CodeInvalidParameters)
		s.do(opAccept, Caller{User: okUser, Session: longSess}, id, "", CodeInvalidParameters)
		s.do(opAccept, Caller{User: okUser, Session: okSess, RequestID: okReq}, id, "", 0)
		s.ginvite(A, GroupInviteArgs{Group: okGroup, Invitees: ids(okUser)})
	})

	register("LIM-1", "data-size-every-operation", func(s *sys) {
		s.group(G, A, B, C)
		s.on(A, "phone")
		big := strings.Repeat("x", s.lim.MaxDataBytes+1)
		full := big[1:]
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C)})
		for _, op := range []respOp{opModify, opCancel} {
			s.do(op, by(A), id, big, CodeBodySizeLimit)
		}
		s.do(opAccept, by(B), id, big, CodeBodySizeLimit)
		s.do(opReject, by(C), id, big, CodeBodySizeLimit)
		s.quiet()
		s.expectHistory(GroupConv(G), env(ActionInvite, id, G, A, ids(B, C), "", 0))
		s.modify(A, id, full, 0)
		s.accept(B, id, full, 0)
		s.expect(A, "phone", evModify(id, full), evAccept(id, B, full))
		s.reject(C, id, full, 0)
		id2 := s.invite(A, B, InviteArgs{})
		s.cancel(A, id2, full, 0)
	})

	register("LIM-1", "open-invitations-per-inviter", func(s *sys) {
		n := s.lim.MaxOpenPerInviter
		s.require(n <= 2000, "MaxOpenPerInviter above 2000 is too slow to fill")
		s.group(G, A, B)
		s.on(B, "phone")
		var open []string
		for i := 0; i < n; i++ {
			open = append(open, s.invite(A, B, InviteArgs{}))
		}
		s.h.TakeEvents(B, "phone")
		s.inviteAs(by(A), InviteArgs{Invitee: B}, CodeInvalidParameters)
		s.ginviteAs(by(A), GroupInviteArgs{Group: G, Invitees: ids(B)}, CodeInvalidParameters)
		s.quiet()
		s.invite(C, B, InviteArgs{}) // other inviters are not affected
		s.h.TakeEvents(B, "phone")
		s.accept(B, open[0], "", 0) // closing one makes room
		id := s.invite(A, B, InviteArgs{})
		s.inviteAs(by(A), InviteArgs{Invitee: B}, CodeInvalidParameters)
		s.cancel(A, id, "", 0)
		s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B)})
	})

	register("LIM-1", "timeout-maximum", func(s *sys) {
		max := s.lim.MaxTimeoutSeconds
		s.inviteAs(by(A), InviteArgs{Invitee: B, Timeout: max + 1}, CodeInvalidParameters)
		s.on(A, "phone")
		id := s.invite(A, B, InviteArgs{Timeout: max})
		s.advance(sec(max) - time.Second)
		s.quiet()
		s.advance(time.Second)
		s.expect(A, "phone", evTimeout(id, B))
	})

	register("LIM-1", "check-order", func(s *sys) {
		// kernel/doc.go: form (6017), then data size (8001), then state
		big := strings.Repeat("x", s.lim.MaxDataBytes+1)
		s.group(G, A, B)
		s.inviteAs(by(A), InviteArgs{Invitee: B, Data: big, Timeout: -1}, CodeInvalidParameters)
		s.inviteAs(by(A), InviteArgs{Invitee: A, Data: big}, CodeInvalidParameters)
		s.ginviteAs(by(A), GroupInviteArgs{Group: "nosuchgroup", Invitees: ids(B), Data: big}, CodeBodySizeLimit)
		s.ginviteAs(by(A), GroupInviteArgs{Group: "nosuchgroup", Invitees: ids(B, B)}, CodeInvalidParameters)
		s.ginviteAs(by(E), GroupInviteArgs{Group: G, Invitees: ids(B), Data: big}, CodeBodySizeLimit)
		s.do(opAccept, by(B), "no-such-invite", big, CodeBodySizeLimit)
		s.do(opAccept, by(""), "no-such-invite", "", CodeInvalidParameters)
		id := s.invite(A, B, InviteArgs{InviteID: "taken", OnlineUserOnly: true})
		s.inviteAs(by(A), InviteArgs{Invitee: B, InviteID: "taken", Data: big}, CodeBodySizeLimit)
		s.do(opModify, by(E), id, big, CodeBodySizeLimit)
		s.do(opModify, by(E), id, "", CodeInvalidInviteID)
		s.do(opCancel, by(B), id, big, CodeBodySizeLimit)
	})

	register("LIM-2", "closed-invitations-leave", func(s *sys) {
		T := s.tmo(1)
		s.group(G, A, B, C)
		s.on(A, "phone")
		var closed []string
		rounds := 60
		for i := 0; i < rounds; i++ {
			var id string
			if i%2 == 0 {
				id = s.invite(A, B, InviteArgs{Timeout: T})
			} else {
				id = s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), Timeout: T})
			}
			switch i % 4 {
			case 0:
				s.accept(B, id, "", 0)
			case 1:
				s.reject(B, id, "", 0)
				s.accept(C, id, "", 0)
			case 2:
				s.cancel(A, id, "", 0)
			case 3:
				s.advance(sec(T))
			}
			closed = append(closed, id)
		}
		s.h.TakeEvents(A, "phone")
		for _, id := range closed {
			s.cancel(A, id, "", CodeInvalidInviteID)
			s.accept(B, id, "", CodeInvalidInviteID)
			s.modify(A, id, "", CodeInvalidInviteID)
		}
		s.quiet()
		if ic, ok := s.h.h.(InvitationCounter); ok {
			if n := ic.OpenInvitations(); n != 0 {
				s.failf("OpenInvitations()", n, 0)
			}
			s.invite(A, B, InviteArgs{})
			if n := ic.OpenInvitations(); n != 1 {
				s.failf("OpenInvitations()", n, 1)
			}
		}
	})

	register("LIM-2", "request-id-window", func(s *sys) {
		w := s.lim.RequestIDWindow
		s.require(w > 0, "the harness does not report RequestIDWindow")
		s.require(w <= 7*24*time.Hour, "RequestIDWindow above a week")
		s.on(B, "phone")
		c := Caller{User: A, RequestID: "r"}
		id := s.inviteAs(c, InviteArgs{Invitee: B}, 0)
		s.expect(B, "phone", evNew(id, A, "", ids(B), ""))
		step := w / 2
		if step > time.Second {
			step = time.Second
		}
		s.advance(w - step)
		if got := s.inviteAs(c, InviteArgs{Invitee: B}, 0); got != id {
			s.failf("Invite retried within the window", fmt.Sprintf("invite ID %q", got), fmt.Sprintf("%q", id))
		}
		s.expect(B, "phone")
		s.cancel(A, id, "", 0)
		s.h.TakeEvents(B, "phone")
		s.advance(2 * step)
		id2 := s.inviteAs(c, InviteArgs{Invitee: B}, 0)
		if id2 == id {
			s.failf("Invite retried after the window", fmt.Sprintf("invite ID %q again", id2), "a new invitation")
		}
		s.expect(B, "phone", evNew(id2, A, "", ids(B), ""))
	})

	register("LIM-2", "request-id-count", func(s *sys) {
		n := s.lim.MaxRequestIDs
		s.require(n > 0, "the harness does not report MaxRequestIDs")
		s.require(n <= 5000, "MaxRequestIDs above 5000 is too slow to fill")
		s.on(A, "phone")
		id := s.invite(A, B, InviteArgs{})
		for i := 0; i <= n; i++ {
			s.do(opModify, Caller{User: A, RequestID: fmt.Sprintf("q%d", i)}, id, fmt.Sprint(i), 0)
		}
		s.h.TakeEvents(A, "phone")
		// the newest is remembered, the oldest was dropped
		s.do(opModify, Caller{User: A, RequestID: fmt.Sprintf("q%d", n)}, id, fmt.Sprint(n), 0)
		s.expect(A, "phone")
		s.do(opModify, Caller{User: A, RequestID: "q0"}, id, "new", 0)
		s.expect(A, "phone", evModify(id, "new"))
	})
}
