package conformance

import "time"

// Checks of TMO (timeout) and MOD (modify).

func init() {
	register("TMO-1", "at-the-deadline-exactly-once", func(s *sys) {
		T := s.tmo(5)
		s.on(A, "phone")
		s.on(B, "phone")
		id := s.invite(A, B, InviteArgs{Timeout: T, Data: "d"})
		s.expect(B, "phone", evNew(id, A, "", ids(B), "d"))
		s.advance(sec(T) - time.Millisecond)
		s.quiet()
		s.advance(time.Millisecond)
		s.expect(A, "phone", evTimeout(id, B))
		s.expect(B, "phone", evTimeout(id, B))
		s.accept(B, id, "", CodeInvalidInviteID)
		s.advance(sec(10 * T))
		s.quiet()
		s.expectHistory(C2C(A, B),
			env(ActionInvite, id, "", A, ids(B), "d", T),
			env(ActionTimeout, id, "", A, ids(B), "", T))
	})

	register("TMO-1", "op-at-the-deadline-fails", func(s *sys) {
		T := s.tmo(3)
		s.on(A, "phone")
		id := s.invite(A, B, InviteArgs{Timeout: T})
		s.advance(sec(T)) // one step straight onto the deadline
		s.accept(B, id, "", CodeInvalidInviteID)
		s.cancel(A, id, "", CodeInvalidInviteID)
		s.expect(A, "phone", evTimeout(id, B))
		s.quiet()
	})

	register("TMO-1", "only-pending-invitees", func(s *sys) {
		T := s.tmo(5)
		s.group(G, A, B, C, D)
		for _, u := range []string{A, B, C, D} {
			s.on(u, "phone")
		}
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C, D), Timeout: T})
		s.accept(B, id, "", 0)
		s.reject(C, id, "", 0)
		for _, u := range []string{A, B, C, D} {
			s.h.TakeEvents(u, "phone")
		}
		s.advance(sec(T))
		s.expect(A, "phone", evTimeout(id, D))
		s.expect(D, "phone", evTimeout(id, D))
		s.quiet()
		s.expectHistory(GroupConv(G),
			env(ActionInvite, id, G, A, ids(B, C, D), "", T),
			env(ActionAccept, id, G, A, ids(B), "", T),
			env(ActionReject, id, G, A, ids(C), "", T),
			env(ActionTimeout, id, G, A, ids(D), "", T))
	})

	register("TMO-2", "inviter-gets-list-invitees-themselves", func(s *sys) {
		T := s.tmo(4)
		s.group(G, A, B, C, D)
		s.on(A, "phone", "laptop")
		s.on(B, "phone")
		s.on(C, "phone", "laptop")
		s.on(E, "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C, D), Timeout: T})
		id2 := s.invite(A, C, InviteArgs{Timeout: T})
		s.h.TakeEvents(B, "phone")
		s.h.TakeEvents(C, "phone")
		s.h.TakeEvents(C, "laptop")
		s.advance(sec(T + 1))
		s.expectAll(A, []string{"phone", "laptop"}, evTimeout(id, B, C, D), evTimeout(id2, C))
		s.expect(B, "phone", evTimeout(id, B))
		s.expectAll(C, []string{"phone", "laptop"}, evTimeout(id, C), evTimeout(id2, C))
		s.quiet()
	})

	register("TMO-2", "answered-invitees-left-out", func(s *sys) {
		T := s.tmo(4)
		s.group(G, A, B, C, D)
		s.on(A, "phone")
		s.on(B, "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C, D), Timeout: T})
		s.accept(C, id, "", 0)
		s.h.TakeEvents(A, "phone")
		s.h.TakeEvents(B, "phone")
		s.advance(sec(T))
		s.expect(A, "phone", evTimeout(id, B, D))
		s.expect(B, "phone", evTimeout(id, B))
	})

	register("TMO-3", "zero-never", func(s *sys) {
		s.group(G, A, B, C)
		s.on(A, "phone")
		s.on(B, "phone")
		id := s.invite(A, B, InviteArgs{Timeout: 0})
		gid := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), Timeout: 0})
		s.h.TakeEvents(B, "phone")
		s.advance(sec(s.lim.MaxTimeoutSeconds + 1))
		s.advance(365 * 24 * time.Hour)
		s.quiet()
		s.accept(B, id, "", 0)
		s.accept(B, gid, "", 0)
		s.accept(C, gid, "", 0)
		for _, e := range append(s.history(C2C(A, B)), s.history(GroupConv(G))...) {
			if e.ActionType == ActionTimeout {
				s.failf("history", e, "no timeout message")
			}
		}
	})

	register("TMO-4", "deadline-passed-while-down", func(s *sys) {
		s.restarter()
		s.require(s.lim.MaxTimeoutSeconds >= 8, "needs MaxTimeoutSeconds >= 8")
		T := 3
		s.group(G, A, B, C)
		s.on(A, "phone")
		s.on(B, "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), Timeout: T})
		late := s.invite(A, B, InviteArgs{Timeout: T + 5})
		s.h.TakeEvents(B, "phone")
		s.advance(sec(1))
		s.h.Restart(sec(T + 1)) // the first deadline passes while down
		s.expect(A, "phone", evTimeout(id, B, C))
		s.expect(B, "phone", evTimeout(id, B))
		s.accept(B, id, "", CodeInvalidInviteID)
		s.h.Restart(0)
		s.advance(sec(1))
		s.h.Restart(sec(1))
		s.quiet()
		s.advance(sec(T + 5))
		s.expect(A, "phone", evTimeout(late, B))
		s.expect(B, "phone", evTimeout(late, B))
		s.h.Restart(sec(100))
		s.quiet()
		n := 0
		for _, e := range s.history(GroupConv(G)) {
			if e.ActionType == ActionTimeout {
				n++
			}
		}
		if n != 1 {
			s.failf("timeout messages in History(group)", n, 1)
		}
	})

	register("MOD-1", "only-data-changes", func(s *sys) {
		T := s.tmo(6)
		s.require(T >= 2, "needs MaxTimeoutSeconds >= 2")
		s.group(G, A, B, C)
		s.on(A, "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), Data: "v1", Timeout: T})
		s.advance(sec(1))
		s.modify(A, id, "v2", 0)
		s.expect(A, "phone", evModify(id, "v2"))
		// a new session of an invitee sees everything but the data unchanged
		s.on(C, "phone")
		s.expect(C, "phone", evNew(id, A, G, ids(B, C), "v2"))
		// the deadline did not move: creation + T, not modify + T
		s.advance(sec(T - 1))
		s.expect(A, "phone", evTimeout(id, B, C))
		s.expect(C, "phone", evTimeout(id, C))
		s.expectHistory(GroupConv(G),
			env(ActionInvite, id, G, A, ids(B, C), "v1", T),
			env(ActionModify, id, G, A, ids(B, C), "v2", T),
			env(ActionTimeout, id, G, A, ids(B, C), "", T))
	})

	register("MOD-2", "participants-while-open", func(s *sys) {
		s.group(G, A, B, C, E)
		s.on(A, "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C)})
		s.modify(E, id, "x", CodeInvalidInviteID) // a group member, not a participant
		s.modify("stranger", id, "x", CodeInvalidInviteID)
		s.modify(A, "no-such-invite", "x", CodeInvalidInviteID)
		s.quiet()
		s.modify(B, id, "by invitee", 0)
		s.accept(B, id, "", 0)
		s.modify(B, id, "answered, still a participant", 0)
		s.reject(C, id, "", 0)
		s.h.TakeEvents(A, "phone")
		s.modify(A, id, "closed", CodeInvalidInviteID)
		s.modify(B, id, "closed", CodeInvalidInviteID)
		s.quiet()
	})

	register("MOD-3", "every-participant-hears", func(s *sys) {
		s.group(G, A, B, C)
		s.on(A, "phone", "laptop")
		s.on(B, "phone")
		s.on(E, "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), Data: "v1"})
		s.h.TakeEvents(B, "phone")
		s.modify(B, id, "v2", 0)
		s.expectAll(A, []string{"phone", "laptop"}, evModify(id, "v2"))
		s.expect(B, "phone", evModify(id, "v2"))
		s.quiet()
		s.on(C, "phone", "laptop")
		s.expectAll(C, []string{"phone", "laptop"}, evNew(id, A, G, ids(B, C), "v2"))
		s.modify(A, id, "v3", 0)
		s.expectAll(A, []string{"phone", "laptop"}, evModify(id, "v3"))
		s.expect(B, "phone", evModify(id, "v3"))
		s.expectAll(C, []string{"phone", "laptop"}, evModify(id, "v3"))
		s.on(B, "laptop")
		s.expect(B, "laptop", evNew(id, A, G, ids(B, C), "v3"))
		s.quiet()
	})
}
