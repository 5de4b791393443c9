package conformance

import (
	"fmt"
	"strings"
)

// Checks of INV (invite) and ONL (online-only).

func init() {
	register("INV-1", "one-to-one", func(s *sys) {
		s.on(A, "phone")
		s.on(B, "phone")
		id := s.invite(A, B, InviteArgs{Data: "call"})
		s.expect(B, "phone", evNew(id, A, "", ids(B), "call"))
		s.expect(A, "phone")
		// it is open, with exactly one invitee
		s.reject(C, id, "", CodeInvalidInviteID)
		s.accept(B, id, "ok", 0)
		s.expect(A, "phone", evAccept(id, B, "ok"))
	})

	register("INV-1", "distinct-ids", func(s *sys) {
		s.require(s.lim.MaxOpenPerInviter >= 4, "needs MaxOpenPerInviter >= 4")
		seen := map[string]bool{}
		for _, to := range []string{B, C, D, B} {
			id := s.invite(A, to, InviteArgs{})
			if seen[id] {
				s.failf(fmt.Sprintf("Invite(by %q, to %q)", A, to), fmt.Sprintf("invite ID %q again", id), "a new invite ID")
			}
			seen[id] = true
		}
	})

	register("INV-1", "malformed-users", func(s *sys) {
		s.on(B, "phone")
		long := strings.Repeat("u", s.lim.MaxIDBytes+1)
		for _, bad := range []string{"", long, "a\x01b", "bad\xff"} {
			s.inviteAs(by(bad), InviteArgs{Invitee: B}, CodeInvalidParameters)
			s.inviteAs(by(A), InviteArgs{Invitee: bad}, CodeInvalidParameters)
		}
		s.inviteAs(by(A), InviteArgs{Invitee: A}, CodeInvalidParameters)
		s.expect(B, "phone")
		s.expectHistory(C2C(A, B))
		maxUser := strings.Repeat("m", s.lim.MaxIDBytes)
		id := s.invite(maxUser, B, InviteArgs{})
		s.expect(B, "phone", evNew(id, maxUser, "", ids(B), ""))
	})

	register("INV-2", "group-invite", func(s *sys) {
		s.group(G, A, B, C, D)
		for _, u := range []string{A, B, C, D, E} {
			s.on(u, "phone")
		}
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), Data: "meet"})
		s.expect(B, "phone", evNew(id, A, G, ids(B, C), "meet"))
		s.expect(C, "phone", evNew(id, A, G, ids(B, C), "meet"))
		s.quiet()
		s.expectHistory(GroupConv(G), env(ActionInvite, id, G, A, ids(B, C), "meet", 0))
		s.expectHistory(C2C(A, B))
	})

	register("INV-2", "malformed-invitee-lists", func(s *sys) {
		s.group(G, A, B, C, D)
		for _, u := range []string{A, B, C, D, E} {
			s.on(u, "phone")
		}
		for _, l := range [][]string{nil, {}, {B, B}, {B, ""}, {B, A}, {B, E}, {E}} {
			s.ginviteAs(by(A), GroupInviteArgs{Group: G, Invitees: l}, CodeInvalidParameters)
		}
		s.ginviteAs(by(A), GroupInviteArgs{Group: "nosuchgroup", Invitees: ids(B)}, CodeGroupNotFound)
		s.ginviteAs(by(E), GroupInviteArgs{Group: G, Invitees: ids(B)}, CodeNotGroupMember)
		// 10007 is checked before invitee membership
		s.ginviteAs(by(E), GroupInviteArgs{Group: G, Invitees: ids(B, "stranger")}, CodeNotGroupMember)
		s.ginviteAs(by(A), GroupInviteArgs{Group: "", Invitees: ids(B)}, CodeInvalidParameters)
		// no partial effect: nobody heard anything, nothing was written
		s.quiet()
		s.expectHistory(GroupConv(G))
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C, D)})
		s.expect(B, "phone", evNew(id, A, G, ids(B, C, D), ""))
	})

	register("INV-2", "no-push-info", func(s *sys) {
		s.group(G, A, B, C)
		s.on(A, "phone")
		s.on(B, "phone")
		// B is online, C offline: a push request would go to C
		for _, p := range []*PushInfo{{Title: "t", Desc: "ring", Ext: "e", Sound: "s"}, {Desc: "ring"}} {
			s.ginviteAs(by(A), GroupInviteArgs{Group: G, Invitees: ids(B, C), Data: "d", Timeout: s.tmo(5), Push: p}, CodeInvalidParameters)
		}
		s.quiet()
		s.expectHistory(GroupConv(G))
		s.expectPushes()
		// nothing was made: the same invite without push info is the first one
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), Data: "d"})
		s.expect(B, "phone", evNew(id, A, G, ids(B, C), "d"))
		s.expectHistory(GroupConv(G), env(ActionInvite, id, G, A, ids(B, C), "d", 0))
		s.expectPushes()
	})

	register("INV-2", "membership", func(s *sys) {
		s.group(G, A, B, C)
		s.on(E, "phone")
		s.on(B, "phone")
		if code := s.h.JoinGroup(G, E); code != 0 {
			s.failf(fmt.Sprintf("JoinGroup(%q, %q)", G, E), codeString(code), codeString(0))
		}
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, E)})
		s.expect(E, "phone", evNew(id, A, G, ids(B, E), ""))
		if code := s.h.LeaveGroup(G, B); code != 0 {
			s.failf(fmt.Sprintf("LeaveGroup(%q, %q)", G, B), codeString(code), codeString(0))
		}
		s.ginviteAs(by(A), GroupInviteArgs{Group: G, Invitees: ids(B)}, CodeInvalidParameters)
		// membership changes never touch invitations already made
		s.accept(B, id, "", 0)
		s.group(G, A, C)
		s.ginviteAs(by(A), GroupInviteArgs{Group: G, Invitees: ids(E)}, CodeInvalidParameters)
		if code := s.h.JoinGroup("nosuchgroup", E); code != CodeGroupNotFound {
			s.failf(fmt.Sprintf("JoinGroup(%q, %q)", "nosuchgroup", E), codeString(code), codeString(CodeGroupNotFound))
		}
		if code := s.h.LeaveGroup("nosuchgroup", E); code != CodeGroupNotFound {
			s.failf(fmt.Sprintf("LeaveGroup(%q, %q)", "nosuchgroup", E), codeString(code), codeString(CodeGroupNotFound))
		}
	})

	register("INV-3", "timeout-range", func(s *sys) {
		s.group(G, A, B)
		max := s.lim.MaxTimeoutSeconds
		for _, t := range []int{-1, -100, max + 1} {
			s.inviteAs(by(A), InviteArgs{Invitee: B, Timeout: t}, CodeInvalidParameters)
			s.ginviteAs(by(A), GroupInviteArgs{Group: G, Invitees: ids(B), Timeout: t}, CodeInvalidParameters)
		}
		s.expectHistory(C2C(A, B))
		s.inviteAs(by(A), InviteArgs{Invitee: B, Timeout: max}, 0)
		s.inviteAs(by(A), InviteArgs{Invitee: B, Timeout: 0}, 0)
		s.ginviteAs(by(A), GroupInviteArgs{Group: G, Invitees: ids(B), Timeout: max}, 0)
	})

	register("INV-3", "deadline-fixed-at-creation", func(s *sys) {
		T := s.tmo(4)
		s.require(T >= 2, "needs MaxTimeoutSeconds >= 2")
		s.on(A, "phone")
		s.on(B, "phone")
		id := s.invite(A, B, InviteArgs{Timeout: T})
		s.expect(B, "phone", evNew(id, A, "", ids(B), ""))
		s.advance(sec(T - 1))
		s.modify(A, id, "later", 0)
		s.expect(B, "phone", evModify(id, "later"))
		s.expect(A, "phone", evModify(id, "later"))
		s.advance(sec(1))
		s.expect(A, "phone", evTimeout(id, B))
		s.expect(B, "phone", evTimeout(id, B))
	})

	register("INV-4", "push-needs-desc", func(s *sys) {
		s.inviteAs(by(A), InviteArgs{Invitee: B, Push: &PushInfo{Title: "t", Ext: "x"}}, CodeInvalidParameters)
		s.expectPushes()
		id := s.invite(A, B, InviteArgs{Push: &PushInfo{Desc: "ring"}})
		s.expectPushes(PushRequest{To: B, InviteID: id, Inviter: A, Info: PushInfo{Desc: "ring"}})
	})

	register("INV-4", "data-size", func(s *sys) {
		s.group(G, A, B)
		s.on(B, "phone")
		big := strings.Repeat("d", s.lim.MaxDataBytes+1)
		s.inviteAs(by(A), InviteArgs{Invitee: B, Data: big}, CodeBodySizeLimit)
		s.ginviteAs(by(A), GroupInviteArgs{Group: G, Invitees: ids(B), Data: big}, CodeBodySizeLimit)
		s.expect(B, "phone")
		full := big[1:]
		id := s.invite(A, B, InviteArgs{Data: full})
		s.expect(B, "phone", evNew(id, A, "", ids(B), full))
		gid := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B), Data: full})
		s.expect(B, "phone", evNew(gid, A, G, ids(B), full))
	})

	register("INV-4", "too-many-invitees", func(s *sys) {
		n := s.lim.MaxInvitees
		s.require(n <= 5000, "MaxInvitees above 5000 is too slow to fill")
		members := []string{A}
		for i := 0; i <= n; i++ {
			members = append(members, fmt.Sprintf("m%04d", i))
		}
		s.group(G, members...)
		s.on(members[1], "phone")
		s.ginviteAs(by(A), GroupInviteArgs{Group: G, Invitees: members[1:]}, CodeInvalidParameters)
		s.expect(members[1], "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: members[1 : n+1]})
		s.expect(members[1], "phone", evNew(id, A, G, members[1:n+1], ""))
	})

	register("INV-5", "online-invitees-only", func(s *sys) {
		s.group(G, A, B, C, D)
		s.on(A, "phone", "laptop")
		s.on(B, "phone", "laptop")
		s.on(D, "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C, D), Data: "x"})
		want := evNew(id, A, G, ids(B, C, D), "x")
		s.expectAll(B, []string{"phone", "laptop"}, want)
		s.expect(D, "phone", want)
		s.quiet() // the inviter gets nothing; carol is offline
		id2 := s.invite(B, A, InviteArgs{Data: "y"})
		s.expectAll(A, []string{"phone", "laptop"}, evNew(id2, B, "", ids(A), "y"))
		s.quiet()
	})

	register("INV-6", "chosen-id-in-use", func(s *sys) {
		s.group(G, C, D)
		s.on(B, "phone")
		s.on(D, "phone")
		id := s.invite(A, B, InviteArgs{InviteID: "call-42"})
		if id != "call-42" {
			s.failf(`Invite(id="call-42")`, fmt.Sprintf("invite ID %q", id), `"call-42"`)
		}
		s.expect(B, "phone", evNew(id, A, "", ids(B), ""))
		s.inviteAs(by(C), InviteArgs{Invitee: D, InviteID: "call-42"}, CodeAlreadyExists)
		s.inviteAs(by(A), InviteArgs{Invitee: B, InviteID: "call-42"}, CodeAlreadyExists)
		s.ginviteAs(by(C), GroupInviteArgs{Group: G, Invitees: ids(D), InviteID: "call-42"}, CodeAlreadyExists)
		s.quiet()
		s.expectHistory(C2C(C, D))
		// the invitation is untouched
		s.accept(B, "call-42", "", 0)
	})

	register("INV-6", "closed-id-free-again", func(s *sys) {
		// decided: a closed invitation leaves memory (LIM-2), so its ID is no longer in use
		s.on(B, "phone")
		s.invite(A, B, InviteArgs{InviteID: "again"})
		s.cancel(A, "again", "", 0)
		s.h.TakeEvents(B, "phone")
		s.invite(C, B, InviteArgs{InviteID: "again"})
		s.expect(B, "phone", evNew("again", C, "", ids(B), ""))
	})

	register("INV-6", "chosen-id-length", func(s *sys) {
		s.inviteAs(by(A), InviteArgs{Invitee: B, InviteID: strings.Repeat("i", MaxInviteIDBytes+1)}, CodeInvalidParameters)
		long := strings.Repeat("i", MaxInviteIDBytes)
		if id := s.invite(A, B, InviteArgs{InviteID: long}); id != long {
			s.failf("Invite(id=127 bytes)", fmt.Sprintf("invite ID %q", id), "the chosen ID")
		}
		s.cancel(A, long+"i", "", CodeInvalidParameters)
		s.cancel(A, long, "", 0)
	})

	register("INV-6", "unless-retry", func(s *sys) {
		s.on(B, "phone")
		c := Caller{User: A, RequestID: "r1"}
		s.inviteAs(c, InviteArgs{Invitee: B, InviteID: "x"}, 0)
		s.expect(B, "phone", evNew("x", A, "", ids(B), ""))
		if id := s.inviteAs(c, InviteArgs{Invitee: B, InviteID: "x"}, 0); id != "x" {
			s.failf("retried Invite(id=x)", fmt.Sprintf("invite ID %q", id), `"x"`)
		}
		s.expect(B, "phone")
	})

	register("INV-7", "push-utf8", func(s *sys) {
		for _, field := range []string{"title", "desc", "ext", "sound"} {
			p := PushInfo{Title: "t", Desc: "d", Ext: "e", Sound: "s"}
			bad := "ok\xff"
			switch field {
			case "title":
				p.Title = bad
			case "desc":
				p.Desc = bad
			case "ext":
				p.Ext = bad
			case "sound":
				p.Sound = bad
			}
			s.inviteAs(by(A), InviteArgs{Invitee: B, Push: &p}, CodeInvalidParameters)
		}
		s.expectPushes()
		s.expectHistory(C2C(A, B))
		p := PushInfo{Title: "Zoë", Desc: "appel entrant ☎", Ext: `{"k":"ü"}`, Sound: "ring"}
		id := s.invite(A, B, InviteArgs{Push: &p})
		s.expectPushes(PushRequest{To: B, InviteID: id, Inviter: A, Info: p})
	})

	register("INV-7", "push-size", func(s *sys) {
		n := s.lim.MaxPushBytes
		s.require(n >= 4, "the harness does not report MaxPushBytes (or it is below 4)")
		full := PushInfo{Title: "t", Desc: strings.Repeat("d", n-3), Ext: "e", Sound: "s"} // n bytes together
		for _, over := range []PushInfo{
			{Title: "t", Desc: strings.Repeat("d", n-2), Ext: "e", Sound: "s"},
			{Title: "tt", Desc: full.Desc, Ext: "e", Sound: "s"},
			{Title: "t", Desc: full.Desc, Ext: "ee", Sound: "s"},
			{Title: "t", Desc: full.Desc, Ext: "e", Sound: "ss"},
		} {
			s.inviteAs(by(A), InviteArgs{Invitee: B, Push: &over}, CodeBodySizeLimit)
		}
		s.expectPushes()
		s.expectHistory(C2C(A, B))
		id := s.invite(A, B, InviteArgs{Push: &full})
		s.expectPushes(PushRequest{To: B, InviteID: id, Inviter: A, Info: full})
	})

	register("INV-7", "push-online-only", func(s *sys) {
		s.on(A, "phone")
		s.on(B, "phone")
		for _, to := range []string{B, C} { // online, offline
			s.inviteAs(by(A), InviteArgs{Invitee: to, OnlineUserOnly: true, Push: &PushInfo{Desc: "ring"}}, CodeInvalidParameters)
		}
		s.quiet()
		s.expectPushes()
		id := s.invite(A, B, InviteArgs{OnlineUserOnly: true})
		s.expect(B, "phone", evNew(id, A, "", ids(B), ""))
	})

	register("ONL-1", "offline-invitee-never", func(s *sys) {
		s.on(A, "phone")
		id := s.invite(A, B, InviteArgs{OnlineUserOnly: true, Data: "now"})
		s.on(B, "phone")
		s.on(B, "laptop")
		s.off(B, "phone")
		s.on(B, "phone")
		s.quiet()
		s.cancel(A, id, "bye", 0)
		s.expect(A, "phone", evCancel(id, A, "bye"))
		s.quiet() // nor any later event of the invitation it never received
	})

	register("ONL-1", "group", func(s *sys) {
		s.group(G, A, B, C)
		s.on(B, "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), OnlineUserOnly: true})
		s.expect(B, "phone", evNew(id, A, G, ids(B, C), ""))
		s.on(C, "phone")
		s.on(B, "laptop") // not a re-delivery either: online-only
		s.quiet()
		s.accept(B, id, "yes", 0)
		s.expect(B, "phone", evAccept(id, B, "yes"))
		s.expect(B, "laptop", evAccept(id, B, "yes"))
		s.quiet() // carol never received the invitation: she hears nothing of it
		s.cancel(A, id, "", 0)
		s.expect(B, "phone", evCancel(id, A, ""))
		s.expect(B, "laptop", evCancel(id, A, ""))
		s.quiet()
	})

	register("ONL-1", "unreached-invitee-hears-no-timeout", func(s *sys) {
		T := s.tmo(3)
		s.group(G, A, B, C)
		s.on(A, "phone")
		s.on(B, "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), OnlineUserOnly: true, Timeout: T})
		s.expect(B, "phone", evNew(id, A, G, ids(B, C), ""))
		s.on(C, "phone")
		s.advance(sec(T))
		s.expect(A, "phone", evTimeout(id, B, C))
		s.expect(B, "phone", evTimeout(id, B))
		s.quiet() // carol timed out too, but never received the invitation
	})

	register("ONL-2", "no-history", func(s *sys) {
		T := s.tmo(2)
		s.group(G, A, B, C)
		s.on(B, "phone")
		s.on(C, "phone")
		id1 := s.invite(A, B, InviteArgs{OnlineUserOnly: true})
		s.modify(A, id1, "m", CodeNoPermission)
		s.accept(B, id1, "", 0)
		id2 := s.invite(A, B, InviteArgs{OnlineUserOnly: true})
		s.cancel(A, id2, "", 0)
		id3 := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), OnlineUserOnly: true, Timeout: T})
		s.reject(B, id3, "", 0)
		s.advance(sec(T))
		s.expect(A, "phone")
		s.expect(C, "phone", evNew(id3, A, G, ids(B, C), ""), evReject(id3, B, ""), evTimeout(id3, C))
		s.expectHistory(C2C(A, B))
		s.expectHistory(GroupConv(G))
	})

	register("ONL-3", "modify-forbidden", func(s *sys) {
		s.on(A, "phone")
		s.on(B, "phone")
		id := s.invite(A, B, InviteArgs{OnlineUserOnly: true, Data: "d0"})
		s.expect(B, "phone", evNew(id, A, "", ids(B), "d0"))
		s.modify(A, id, "d1", CodeNoPermission)
		s.modify(B, id, "d1", CodeNoPermission)
		s.modify(E, id, "d1", CodeInvalidInviteID) // the participant check comes first
		s.quiet()
		s.accept(B, id, "", 0) // still open and unchanged
	})
}
