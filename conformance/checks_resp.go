package conformance

// Checks of CAN (cancel), ACC (accept), REJ (reject) and END-1.

// respondEvent is the event of an accept or reject.
func respondEvent(op respOp, id, invitee, data string) Event {
	if op == opAccept {
		return evAccept(id, invitee, data)
	}
	return evReject(id, invitee, data)
}

func respondAction(op respOp) int {
	if op == opAccept {
		return ActionAccept
	}
	return ActionReject
}

// registerRespond registers the checks shared by ACC-n and REJ-n.
func registerRespond(prefix string, op respOp, other respOp) {
	register(prefix+"-1", "invitees-only", func(s *sys) {
		s.group(G, A, B, C)
		s.on(A, "phone")
		s.on(B, "phone")
		id := s.invite(A, B, InviteArgs{})
		s.do(op, by(A), id, "", CodeInvalidInviteID) // the inviter
		s.do(op, by(E), id, "", CodeInvalidInviteID) // a stranger
		s.do(op, by(B), "no-such-invite", "", CodeInvalidInviteID)
		s.do(op, by(B), "", "", CodeInvalidParameters)
		gid := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B)})
		s.do(op, by(C), gid, "", CodeInvalidInviteID) // a group member who is not invited
		s.h.TakeEvents(B, "phone")
		s.quiet()
		s.do(op, by(B), id, "", 0)
	})

	register(prefix+"-2", "pending-only", func(s *sys) {
		T := s.tmo(3)
		s.group(G, A, B, C)
		// after its own op and its own other op, while others keep the invitation open
		for _, first := range []respOp{op, other} {
			id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C)})
			s.do(first, by(B), id, "", 0)
			s.do(op, by(B), id, "", CodeInvalidInviteID)
			s.modify(C, id, "still open", 0)
			s.cancel(A, id, "", 0)
		}
		// after its own timeout
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), Timeout: T})
		s.advance(sec(T))
		s.do(op, by(B), id, "", CodeInvalidInviteID)
		// after cancel
		id = s.invite(A, B, InviteArgs{})
		s.cancel(A, id, "", 0)
		s.do(op, by(B), id, "", CodeInvalidInviteID)
	})

	register(prefix+"-3", "every-participant-hears", func(s *sys) {
		s.group(G, A, B, C)
		s.on(A, "phone", "laptop")
		s.on(B, "phone", "laptop")
		s.on(C, "phone")
		s.on(E, "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), Data: "d", Timeout: s.tmo(30)})
		s.h.TakeEvents(B, "phone")
		s.h.TakeEvents(B, "laptop")
		s.h.TakeEvents(C, "phone")
		s.do(op, Caller{User: B, Session: "phone"}, id, "answer", 0)
		want := respondEvent(op, id, B, "answer")
		s.expectAll(A, []string{"phone", "laptop"}, want)
		s.expectAll(B, []string{"phone", "laptop"}, want)
		s.expect(C, "phone", want)
		s.quiet()
		s.expectHistory(GroupConv(G),
			env(ActionInvite, id, G, A, ids(B, C), "d", s.tmo(30)),
			env(respondAction(op), id, G, A, ids(B), "answer", s.tmo(30)))
		// the invitation stays open for carol; bob's state is final
		s.do(other, by(B), id, "", CodeInvalidInviteID)
		s.do(op, by(C), id, "", 0)
	})
}

func init() {
	register("CAN-1", "inviter-only", func(s *sys) {
		s.group(G, A, B, C)
		s.on(B, "phone")
		id := s.invite(A, B, InviteArgs{})
		s.cancel(B, id, "", CodeNoPermission)
		s.cancel(E, id, "", CodeInvalidInviteID)
		gid := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C)})
		s.cancel(C, gid, "", CodeNoPermission)
		s.cancel(E, gid, "", CodeInvalidInviteID)
		s.h.TakeEvents(B, "phone")
		s.quiet()
		s.cancel(A, id, "", 0)
		s.cancel(A, gid, "", 0)
	})

	register("CAN-2", "closed-by-answers", func(s *sys) {
		s.group(G, A, B, C)
		s.on(A, "phone")
		id := s.invite(A, B, InviteArgs{})
		s.accept(B, id, "", 0)
		s.cancel(A, id, "", CodeInvalidInviteID)
		id = s.invite(A, B, InviteArgs{})
		s.reject(B, id, "", 0)
		s.cancel(A, id, "", CodeInvalidInviteID)
		gid := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C)})
		s.accept(B, gid, "", 0)
		s.reject(C, gid, "", 0)
		s.h.TakeEvents(A, "phone")
		s.cancel(A, gid, "", CodeInvalidInviteID)
		s.quiet()
	})

	register("CAN-2", "closed-by-timeout", func(s *sys) {
		T := s.tmo(2)
		s.group(G, A, B, C)
		s.on(A, "phone")
		gid := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), Timeout: T})
		s.accept(B, gid, "", 0)
		s.advance(sec(T))
		s.h.TakeEvents(A, "phone")
		s.cancel(A, gid, "", CodeInvalidInviteID)
		s.quiet()
	})

	register("CAN-3", "cancels-pending-notifies-all", func(s *sys) {
		s.group(G, A, B, C, D)
		for _, u := range []string{A, B, C, D, E} {
			s.on(u, "phone")
		}
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C, D), Data: "d"})
		s.accept(B, id, "", 0)
		s.reject(C, id, "", 0)
		for _, u := range []string{A, B, C, D} {
			s.h.TakeEvents(u, "phone")
		}
		s.cancel(A, id, "bye", 0)
		for _, u := range []string{A, B, C, D} {
			s.expect(u, "phone", evCancel(id, A, "bye"))
		}
		s.quiet()
		s.accept(D, id, "", CodeInvalidInviteID)
		s.reject(D, id, "", CodeInvalidInviteID)
		s.expectHistory(GroupConv(G),
			env(ActionInvite, id, G, A, ids(B, C, D), "d", 0),
			env(ActionAccept, id, G, A, ids(B), "", 0),
			env(ActionReject, id, G, A, ids(C), "", 0),
			env(ActionCancel, id, G, A, ids(B, C, D), "bye", 0))
	})

	register("CAN-3", "one-to-one", func(s *sys) {
		T := s.tmo(3)
		s.on(A, "phone")
		s.on(B, "phone", "laptop")
		id := s.invite(A, B, InviteArgs{Data: "ring", Timeout: T})
		s.cancel(A, id, "stop", 0)
		s.expect(A, "phone", evCancel(id, A, "stop"))
		s.expectAll(B, []string{"phone", "laptop"}, evNew(id, A, "", ids(B), "ring"), evCancel(id, A, "stop"))
		s.cancel(A, id, "again", CodeInvalidInviteID)
		s.advance(sec(T + 1)) // a cancelled invitation never times out
		s.quiet()
	})

	registerRespond("ACC", opAccept, opReject)
	registerRespond("REJ", opReject, opAccept)

	register("END-1", "last-answer-closes", func(s *sys) {
		s.group(G, A, B, C)
		s.on(A, "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C)})
		s.accept(B, id, "", 0)
		s.modify(A, id, "open", 0) // still open
		s.reject(C, id, "", 0)
		s.h.TakeEvents(A, "phone")
		s.cancel(A, id, "", CodeInvalidInviteID)
		s.accept(C, id, "", CodeInvalidInviteID)
		s.reject(B, id, "", CodeInvalidInviteID)
		s.modify(A, id, "", CodeInvalidInviteID)
		s.modify(B, id, "", CodeInvalidInviteID)
		s.quiet()
	})

	register("END-1", "one-to-one-and-timeout", func(s *sys) {
		T := s.tmo(2)
		for _, how := range []string{"accept", "reject", "timeout"} {
			id := s.invite(A, B, InviteArgs{Timeout: T})
			switch how {
			case "accept":
				s.accept(B, id, "", 0)
			case "reject":
				s.reject(B, id, "", 0)
			case "timeout":
				s.advance(sec(T))
			}
			s.cancel(A, id, "", CodeInvalidInviteID)
			s.accept(B, id, "", CodeInvalidInviteID)
			s.reject(B, id, "", CodeInvalidInviteID)
			s.modify(A, id, "", CodeInvalidInviteID)
		}
	})
}
