package conformance

import (
	"fmt"
	"reflect"
)

// Checks of QRY-1, REC-1 and REC-2.

func init() {
	register("QRY-1", "own-open-invitations", func(s *sys) {
		s.on(B, "phone")
		s.group(G, A, B, C)
		id := s.invite(A, B, InviteArgs{Data: "d", Timeout: s.tmo(30)})
		gid := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C)})
		onl := s.invite(A, C, InviteArgs{OnlineUserOnly: true}) // carol is offline: ONL-1
		s.modify(B, id, "d2", 0)
		one := OpenInvitation{InviteID: id, Inviter: A, Invitees: ids(B), States: ids("pending"), Data: "d2", Timeout: s.tmo(30)}
		grp := OpenInvitation{InviteID: gid, Inviter: A, Group: G, Invitees: ids(B, C), States: ids("pending", "pending")}
		o := OpenInvitation{InviteID: onl, Inviter: A, Invitees: ids(C), States: ids("pending")}
		in := func(x OpenInvitation) OpenInvitation { x.Incoming = true; return x }
		s.expectOpen(A, one, grp, o)
		s.expectOpen(B, in(one), in(grp))
		s.expectOpen(C, in(grp))
		s.expectOpen(E)
		s.accept(B, gid, "", 0)
		grp.States = ids("accepted", "pending")
		s.expectOpen(B, in(one))
		s.expectOpen(A, one, grp, o)
		s.cancel(A, id, "", 0)
		s.expectOpen(B)
	})

	register("REC-1", "one-per-participant-with-outcome", func(s *sys) {
		s.group(G, A, B, C, D)
		id := s.invite(A, B, InviteArgs{})
		s.accept(B, id, "", 0)
		gid := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C, D), Timeout: s.tmo(10)})
		s.reject(B, gid, "", 0)
		s.advance(sec(s.tmo(10))) // distinct close times: ties would go by invite ID
		cid := s.invite(C, D, InviteArgs{})
		s.advance(sec(1))
		s.cancel(C, cid, "", 0)
		s.advance(sec(1))
		rid := s.ginvite(D, GroupInviteArgs{Group: G, Invitees: ids(A, B)})
		s.reject(A, rid, "", 0)
		s.reject(B, rid, "", 0)
		onl := s.invite(A, B, InviteArgs{OnlineUserOnly: true}) // ONL-2: no record
		s.accept(B, onl, "", 0)
		call := func(id, inviter, group string, invitees, states []string, outcome string) CallRecord {
			return CallRecord{InviteID: id, Inviter: inviter, Group: group, Invitees: invitees, States: states, Outcome: outcome}
		}
		s.expectRecords(A,
			call(rid, D, G, ids(A, B), ids("rejected", "rejected"), "rejected"),
			call(gid, A, G, ids(B, C, D), ids("rejected", "timed_out", "timed_out"), "unanswered"),
			call(id, A, "", ids(B), ids("accepted"), "answered"))
		s.expectRecords(D,
			call(rid, D, G, ids(A, B), ids("rejected", "rejected"), "declined"),
			call(cid, C, "", ids(D), ids("cancelled"), "cancelled"),
			call(gid, A, G, ids(B, C, D), ids("rejected", "timed_out", "timed_out"), "missed"))
		s.expectRecords(C,
			call(cid, C, "", ids(D), ids("cancelled"), "cancelled"),
			call(gid, A, G, ids(B, C, D), ids("rejected", "timed_out", "timed_out"), "missed"))
		s.expectRecords(E)
	})

	register("REC-2", "newest-first-own-only-durable", func(s *sys) {
		var want []CallRecord
		for _, to := range []string{B, C, B} {
			id := s.invite(A, to, InviteArgs{})
			s.advance(sec(1))
			s.reject(to, id, "", 0)
			want = append([]CallRecord{{InviteID: id, Inviter: A, Invitees: ids(to), States: ids("rejected"), Outcome: "declined"}}, want...)
		}
		s.expectRecords(A, want...)
		s.expectRecords(B, CallRecord{InviteID: want[0].InviteID, Inviter: A, Invitees: ids(B), States: ids("rejected"), Outcome: "rejected"},
			CallRecord{InviteID: want[2].InviteID, Inviter: A, Invitees: ids(B), States: ids("rejected"), Outcome: "rejected"})
		s.expectRecords(E)
		if r, ok := s.h.restarter(); ok {
			r.Restart(sec(1))
			s.expectRecords(A, want...)
		}
	})
}

// expectOpen compares the open invitations user lists with want (QRY-1).
func (s *sys) expectOpen(user string, want ...OpenInvitation) {
	s.t.Helper()
	l, ok := s.h.h.(OpenLister)
	if !ok {
		s.t.Skipf("%s: skipped: the harness has no OpenLister capability", s.rule)
	}
	got := l.ListOpen(user)
	s.h.logf("ListOpen(%q) -> %d", user, len(got))
	if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
		s.failf(fmt.Sprintf("ListOpen(%q)", user), fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want))
	}
}

// expectRecords compares the call records user lists with want (REC-1),
// the newest RecordsPerUser of which at least (the checks' calls close
// within a minute: within any RecordMaxAge).
func (s *sys) expectRecords(user string, want ...CallRecord) {
	s.t.Helper()
	l, ok := s.h.h.(RecordLister)
	if !ok {
		s.t.Skipf("%s: skipped: the harness has no RecordLister capability", s.rule)
	}
	got := l.Records(user)
	s.h.logf("Records(%q) -> %d", user, len(got))
	kept := len(want)
	if s.lim.RecordsPerUser > 0 {
		kept = min(kept, s.lim.RecordsPerUser)
	}
	if !keptRecords(got, want, kept) {
		s.failf(fmt.Sprintf("Records(%q)", user), fmt.Sprintf("%+v", got), fmt.Sprintf("%+v (the first %d at least)", want, kept))
	}
}
