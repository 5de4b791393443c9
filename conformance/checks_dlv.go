package conformance

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Checks of DLV (delivery), SYN (coming online) and HIS (history).

func init() {
	register("DLV-1", "every-session-of-participants-only", func(s *sys) {
		T := s.tmo(3)
		s.group(G, A, B, C, E)
		s.on(A, "phone", "laptop")
		s.on(B, "phone", "laptop", "tablet")
		s.on(E, "phone", "laptop") // a group member, never a participant
		s.on("stranger", "phone")
		bob := []string{"phone", "laptop", "tablet"}
		alice := []string{"phone", "laptop"}
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), Data: "d", Timeout: T})
		s.expectAll(B, bob, evNew(id, A, G, ids(B, C), "d"))
		s.do(opModify, Caller{User: A, Session: "laptop"}, id, "m", 0)
		s.expectAll(A, alice, evModify(id, "m"))
		s.expectAll(B, bob, evModify(id, "m"))
		s.do(opAccept, Caller{User: B, Session: "tablet"}, id, "yes", 0) // the acting session too
		s.expectAll(A, alice, evAccept(id, B, "yes"))
		s.expectAll(B, bob, evAccept(id, B, "yes"))
		s.off(B, "laptop")
		s.advance(sec(T))
		s.expectAll(A, alice, evTimeout(id, C))
		s.expect(B, "laptop") // offline: nothing
		s.quiet()             // bob answered: no timeout event for him; eve and the stranger got nothing
		id2 := s.invite(A, B, InviteArgs{})
		s.reject(B, id2, "no", 0)
		id3 := s.invite(A, B, InviteArgs{})
		s.cancel(A, id3, "", 0)
		for _, ss := range []string{"phone", "tablet"} {
			s.expect(B, ss, evNew(id2, A, "", ids(B), ""), evReject(id2, B, "no"), evNew(id3, A, "", ids(B), ""), evCancel(id3, A, ""))
		}
		s.expect(E, "phone")
		s.expect(E, "laptop")
		s.expect("stranger", "phone")
	})

	register("DLV-2", "order-per-invitation", func(s *sys) {
		s.group(G, A, B, C, D)
		s.on(A, "phone")
		s.on(B, "phone")
		s.on(C, "phone")
		s.on(D, "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C, D), Data: "0"})
		s.modify(A, id, "1", 0)
		s.accept(B, id, "b", 0)
		s.modify(C, id, "2", 0)
		s.reject(C, id, "c", 0)
		s.modify(D, id, "3", 0)
		s.cancel(A, id, "end", 0)
		s.modify(A, id, "after", CodeInvalidInviteID)
		s.on(D, "laptop")
		s.on(B, "laptop")
		tail := []Event{evModify(id, "1"), evAccept(id, B, "b"), evModify(id, "2"), evReject(id, C, "c"), evModify(id, "3"), evCancel(id, A, "end")}
		s.expect(A, "phone", tail...)
		for _, u := range []string{B, C, D} {
			s.expect(u, "phone", append([]Event{evNew(id, A, G, ids(B, C, D), "0")}, tail...)...)
		}
		s.quiet()
	})

	register("DLV-2", "nothing-after-close", func(s *sys) {
		T := s.tmo(2)
		s.on(A, "phone")
		s.on(B, "phone")
		id := s.invite(A, B, InviteArgs{Timeout: T})
		s.accept(B, id, "", 0)
		s.advance(sec(T + 1))
		s.modify(A, id, "", CodeInvalidInviteID)
		s.cancel(A, id, "", CodeInvalidInviteID)
		s.on(B, "laptop")
		s.expect(A, "phone", evAccept(id, B, ""))
		s.expect(B, "phone", evNew(id, A, "", ids(B), ""), evAccept(id, B, ""))
		s.quiet()
	})

	register("DLV-3", "effects-visible-on-return", func(s *sys) {
		s.on(A, "phone")
		s.on(B, "phone")
		id := s.invite(A, B, InviteArgs{Data: "d", Push: &PushInfo{Desc: "x"}})
		s.expect(B, "phone", evNew(id, A, "", ids(B), "d"))
		s.expectHistory(C2C(A, B), env(ActionInvite, id, "", A, ids(B), "d", 0))
		s.accept(B, id, "", 0)
		s.expect(A, "phone", evAccept(id, B, ""))
		id2 := s.invite(A, C, InviteArgs{Push: &PushInfo{Desc: "x"}})
		s.expectPushes(PushRequest{To: C, InviteID: id2, Inviter: A, Info: PushInfo{Desc: "x"}})
	})

	register("DLV-3", "durable-across-restart", func(s *sys) {
		s.restarter()
		s.group(G, A, B, C)
		s.on(A, "phone")
		s.on(B, "phone")
		c := Caller{User: A, RequestID: "r-durable"}
		id := s.inviteAs(c, InviteArgs{Invitee: B, Data: "d"}, 0)
		gid := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), Data: "g"})
		s.accept(B, gid, "", 0)
		s.modify(A, id, "d2", 0)
		s.h.TakeEvents(A, "phone")
		s.h.TakeEvents(B, "phone")
		s.h.Restart(0)
		// the state, the history, the request-ID memory and the group are all still there
		if got := s.inviteAs(c, InviteArgs{Invitee: B, Data: "d"}, 0); got != id {
			s.failf("retried Invite after restart", fmt.Sprintf("invite ID %q", got), fmt.Sprintf("%q", id))
		}
		s.quiet()
		s.on(C, "phone")
		s.expect(C, "phone", evNew(gid, A, G, ids(B, C), "g"))
		s.accept(B, gid, "", CodeInvalidInviteID)
		s.expectHistory(C2C(A, B),
			env(ActionInvite, id, "", A, ids(B), "d", 0),
			env(ActionModify, id, "", A, ids(B), "d2", 0))
		s.h.Restart(0)
		s.accept(B, id, "ok", 0)
		s.expect(A, "phone", evAccept(id, B, "ok"))
		s.expect(B, "phone", evAccept(id, B, "ok"))
		s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(C)})
	})

	register("SYN-1", "redelivery-on-connect", func(s *sys) {
		s.on(A, "phone")
		x := s.invite(A, B, InviteArgs{Data: "x1"})
		y := s.invite(C, B, InviteArgs{Data: "y1"})
		z := s.invite(D, B, InviteArgs{Data: "z1"})
		s.modify(A, x, "x2", 0)
		s.cancel(D, z, "", 0)
		s.h.TakeEvents(A, "phone")
		s.on(B, "phone")
		s.expect(B, "phone", evNew(x, A, "", ids(B), "x2"), evNew(y, C, "", ids(B), "y1"))
		s.on(B, "phone") // already connected: not a new connection
		s.expect(B, "phone")
		s.on(B, "laptop")
		s.expect(B, "laptop", evNew(x, A, "", ids(B), "x2"), evNew(y, C, "", ids(B), "y1"))
		s.accept(B, x, "", 0)
		s.expect(A, "phone", evAccept(x, B, ""))
		s.h.TakeEvents(B, "phone")
		s.h.TakeEvents(B, "laptop")
		s.off(B, "phone")
		s.on(B, "phone")
		s.expect(B, "phone", evNew(y, C, "", ids(B), "y1"))
		s.reject(B, y, "", 0)
		s.h.TakeEvents(B, "phone")
		s.h.TakeEvents(B, "laptop")
		s.on(B, "tablet")
		s.quiet()
	})

	register("SYN-1", "group-pending-per-invitee", func(s *sys) {
		T := s.tmo(3)
		s.group(G, A, B, C, D)
		s.on(B, "phone")
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C, D), Data: "g", Timeout: T})
		s.accept(B, id, "", 0)
		s.h.TakeEvents(B, "phone")
		s.on(B, "laptop") // no longer pending for bob
		s.on(C, "phone")
		s.expect(C, "phone", evNew(id, A, G, ids(B, C, D), "g"))
		s.quiet()
		s.advance(sec(T))
		s.h.TakeEvents(B, "phone")
		s.h.TakeEvents(B, "laptop")
		s.h.TakeEvents(C, "phone")
		s.on(D, "phone") // timed out: closed
		s.quiet()
	})

	register("SYN-2", "push-for-offline-invitee", func(s *sys) {
		s.group(G, A, B, C)
		p := &PushInfo{Title: "Alice", Desc: "calling you", Ext: `{"k":1}`, Sound: "ring.mp3"}
		id := s.invite(A, B, InviteArgs{Data: "d", Push: p})
		s.expectPushes(PushRequest{To: B, InviteID: id, Inviter: A, Data: "d", Info: *p})
		s.on(B, "phone")
		s.h.TakeEvents(B, "phone")
		s.invite(A, B, InviteArgs{Push: p})                          // online: no push
		s.invite(A, C, InviteArgs{})                                 // no push info
		s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C)}) // group invites carry no push info
		// online-only invites take no push info (INV-7)
		s.inviteAs(by(A), InviteArgs{Invitee: C, Push: p, OnlineUserOnly: true}, CodeInvalidParameters)
		s.expectPushes()
		s.off(B, "phone") // offline again
		id2 := s.invite(C, B, InviteArgs{Push: p})
		s.expectPushes(PushRequest{To: B, InviteID: id2, Inviter: C, Info: *p})
		s.on(B, "phone") // coming online later does not push again
		s.expectPushes()
	})

	register("HIS-1", "one-message-per-operation", func(s *sys) {
		T := s.tmo(3)
		s.group(G, A, B, C)
		id := s.invite(A, B, InviteArgs{Data: "i", Timeout: T})
		s.modify(B, id, "m", 0)
		s.accept(B, id, "a", 0)
		id2 := s.invite(B, A, InviteArgs{Data: "i2"})
		s.reject(A, id2, "r", 0)
		id3 := s.invite(A, B, InviteArgs{Timeout: T})
		s.cancel(A, id3, "c", 0)
		id4 := s.invite(A, B, InviteArgs{Timeout: T})
		s.advance(sec(T))
		// failed operations write nothing
		s.cancel(B, id4, "", CodeInvalidInviteID)
		s.modify(C, id, "", CodeInvalidInviteID)
		want := []Envelope{
			env(ActionInvite, id, "", A, ids(B), "i", T),
			env(ActionModify, id, "", A, ids(B), "m", T),
			env(ActionAccept, id, "", A, ids(B), "a", T),
			env(ActionInvite, id2, "", B, ids(A), "i2", 0),
			env(ActionReject, id2, "", B, ids(A), "r", 0),
			env(ActionInvite, id3, "", A, ids(B), "", T),
			env(ActionCancel, id3, "", A, ids(B), "c", T),
			env(ActionInvite, id4, "", A, ids(B), "", T),
			env(ActionTimeout, id4, "", A, ids(B), "", T),
		}
		s.expectHistory(C2C(A, B), want...)
		s.expectHistory(C2C(B, A), want...)
		s.expectHistory(GroupConv(G))
		s.expectHistory(C2C(A, C))
		gid := s.ginvite(C, GroupInviteArgs{Group: G, Invitees: ids(A, B)})
		s.expectHistory(GroupConv(G), env(ActionInvite, gid, G, C, ids(A, B), "", 0))
		s.expectHistory(C2C(A, C))
		s.expectHistory(C2C(B, A), want...)
	})

	register("HIS-2", "envelope", func(s *sys) {
		T := s.tmo(7)
		s.group(G, A, B, C, D)
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C, D), Data: `{"room":1}`, Timeout: T})
		s.modify(A, id, "m", 0)
		s.accept(C, id, "yes", 0)
		s.reject(B, id, "no", 0)
		s.advance(sec(T))
		s.expectHistory(GroupConv(G),
			env(ActionInvite, id, G, A, ids(B, C, D), `{"room":1}`, T),
			env(ActionModify, id, G, A, ids(B, C, D), "m", T),
			env(ActionAccept, id, G, A, ids(C), "yes", T),
			env(ActionReject, id, G, A, ids(B), "no", T),
			env(ActionTimeout, id, G, A, ids(D), "", T))
		for i, b := range s.h.History(GroupConv(G)) {
			var raw map[string]any
			if err := json.Unmarshal(b, &raw); err != nil {
				s.failf(fmt.Sprintf("History(group)[%d]", i), err, "a JSON object")
			}
			if raw["businessID"] != float64(1) {
				s.failf(fmt.Sprintf("History(group)[%d] businessID", i), raw["businessID"], 1)
			}
			if _, ok := raw["onlineUserOnly"].(bool); !ok {
				s.failf(fmt.Sprintf("History(group)[%d] onlineUserOnly", i), raw["onlineUserOnly"], "a JSON boolean")
			}
			if _, ok := raw["inviteeList"].([]any); !ok {
				s.failf(fmt.Sprintf("History(group)[%d] inviteeList", i), raw["inviteeList"], "a JSON array")
			}
		}
	})

	register("HIS-3", "parses-history", func(s *sys) {
		T := s.tmo(2)
		s.group(G, A, B, C)
		id := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B, C), Data: "héllo \"quoted\" \u2028", Timeout: T})
		s.accept(B, id, "", 0)
		s.advance(sec(T))
		id2 := s.invite(A, B, InviteArgs{Data: "d"})
		s.cancel(A, id2, "", 0)
		var all [][]byte
		all = append(all, s.h.History(GroupConv(G))...)
		all = append(all, s.h.History(C2C(A, B))...)
		if len(all) != 5 {
			s.failf("history messages", len(all), 5)
		}
		for i, b := range all {
			want, err := decodeEnvelope(b)
			if err != nil {
				s.failf(fmt.Sprintf("history message %d", i), err, "an envelope")
			}
			got, ok := s.parse(b)
			if !ok || !sameEnvelopes([]Envelope{got}, []Envelope{want}) {
				s.failf(fmt.Sprintf("ParseSignalingInfo(history message %d)", i), fmt.Sprintf("%v ok=%v", got, ok), want)
			}
		}
		hand := []byte(`{"onlineUserOnly":false,"actionType":4,"timeout":30,"data":"x","inviteeList":["b"],"inviter":"a","groupID":"","inviteID":"abc","businessID":1}`)
		want := env(ActionReject, "abc", "", "a", ids("b"), "x", 30)
		if got, ok := s.parse(hand); !ok || !sameEnvelopes([]Envelope{got}, []Envelope{want}) {
			s.failf("ParseSignalingInfo(hand-written envelope)", fmt.Sprintf("%v ok=%v", got, ok), want)
		}
	})

	register("HIS-3", "not-signaling", func(s *sys) {
		valid := encodeEnvelope(env(ActionInvite, "inv-1", "", "alice", ids("bob"), "data", 30))
		huge := max(4<<20, 4*s.lim.MaxDataBytes)
		bad := map[string][]byte{
			"empty":             {},
			"null":              []byte("null"),
			"number":            []byte("1"),
			"string":            []byte(`"businessID"`),
			"array":             []byte(`[1,2,3]`),
			"empty object":      []byte(`{}`),
			"other JSON":        []byte(`{"text":"hello","businessID_":1}`),
			"wrong businessID":  []byte(strings.Replace(string(valid), `"businessID":1`, `"businessID":2`, 1)),
			"businessID 0":      []byte(strings.Replace(string(valid), `"businessID":1`, `"businessID":0`, 1)),
			"string businessID": []byte(strings.Replace(string(valid), `"businessID":1`, `"businessID":"1"`, 1)),
			"no businessID":     []byte(strings.Replace(string(valid), `"businessID":1,`, ``, 1)),
			"trailing garbage":  append(append([]byte{}, valid...), []byte("}}")...),
			"binary":            {0xff, 0xfe, 0x00, 0x01, '{'},
			"deep nesting":      []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000)),
			"huge":              []byte(`{"businessID":1,"inviteID":"x","groupID":"","inviter":"a","inviteeList":["b"],"timeout":0,"actionType":1,"onlineUserOnly":false,"data":"` + strings.Repeat("x", huge) + `"}`),
			"huge garbage":      []byte(strings.Repeat("\x00{\"", huge/3)),
		}
		for n := 0; n < len(valid); n++ {
			bad[fmt.Sprintf("truncated to %d bytes", n)] = valid[:n]
		}
		if _, ok := s.parse(valid); !ok {
			s.failf("ParseSignalingInfo(valid envelope)", "not a signaling message", "ok")
		}
		for _, name := range sortedKeys(bad) {
			if got, ok := s.parse(bad[name]); ok {
				s.failf(fmt.Sprintf("ParseSignalingInfo(%s)", name), fmt.Sprintf("ok: %v", got), "not a signaling message")
			}
		}
	})

	register("HIS-3", "number-forms", func(s *sys) {
		msg := func(business, timeout, action string) []byte {
			return []byte(`{"businessID":` + business + `,"inviteID":"abc","groupID":"","inviter":"a","inviteeList":["b"],` +
				`"data":"x","timeout":` + timeout + `,"actionType":` + action + `,"onlineUserOnly":false}`)
		}
		want := env(ActionReject, "abc", "", "a", ids("b"), "x", 30)
		for _, f := range [][3]string{{"1.0", "30", "4"}, {"1e0", "3e1", "4.0"}, {"10e-1", "30.0", "40e-1"},
			{"0.1E1", "300e-1", "4e0"}, {"1.000", "3.0e+1", "0.4e1"}} {
			b := msg(f[0], f[1], f[2])
			if got, ok := s.parse(b); !ok || !sameEnvelopes([]Envelope{got}, []Envelope{want}) {
				s.failf(fmt.Sprintf("ParseSignalingInfo(%s)", b), fmt.Sprintf("%v ok=%v", got, ok), want)
			}
		}
		for _, f := range [][3]string{{"1.5", "30", "4"}, {"1e1", "30", "4"}, {"0.1", "30", "4"},
			{"1.0000000000000000000001", "30", "4"}, {`"1"`, "30", "4"}, {"1", "2.5", "4"}, {"1", "1e400", "4"},
			{"1", "-1.0", "4"}, {"1", "30", "4.5"}, {"1", "30", "7e0"}} {
			if got, ok := s.parse(msg(f[0], f[1], f[2])); ok {
				s.failf(fmt.Sprintf("ParseSignalingInfo(%s)", msg(f[0], f[1], f[2])), fmt.Sprintf("ok: %v", got), "not a signaling message")
			}
		}
	})

	register("HIS-4", "own-users-only", func(s *sys) {
		s.on(A, "phone") // a harness may read as a logged-in session, or as the user
		s.on(E, "phone")
		s.group(G, A, B, C)
		gid := s.ginvite(A, GroupInviteArgs{Group: G, Invitees: ids(B)})
		id := s.invite(A, B, InviteArgs{})
		group := []Envelope{env(ActionInvite, gid, G, A, ids(B), "", 0)}
		c2c := []Envelope{env(ActionInvite, id, "", A, ids(B), "", 0)}
		for _, u := range []string{A, B, C} { // carol: a member, not a participant
			s.readHistory(u, GroupConv(G), 0, group...)
		}
		s.readHistory(E, GroupConv(G), CodeNotGroupMember)
		s.readHistory(A, GroupConv("nosuchgroup"), CodeGroupNotFound)
		s.readHistory(A, C2C(A, B), 0, c2c...)
		s.readHistory(B, C2C(B, A), 0, c2c...)
		s.readHistory(C, C2C(A, B), -1)
		// the current members: one who left reads no more, one who joined reads it all
		if code := s.h.LeaveGroup(G, C); code != 0 {
			s.failf(fmt.Sprintf("LeaveGroup(%q, %q)", G, C), codeString(code), codeString(0))
		}
		s.readHistory(C, GroupConv(G), CodeNotGroupMember)
		if code := s.h.JoinGroup(G, D); code != 0 {
			s.failf(fmt.Sprintf("JoinGroup(%q, %q)", G, D), codeString(code), codeString(0))
		}
		s.readHistory(D, GroupConv(G), 0, group...)
		s.h.TakeEvents(A, "phone")
		s.quiet()
	})
}

// readHistory reads the history of conv as user (HIS-4) and checks the
// code (-1: any failure) and, on success, the messages.
func (s *sys) readHistory(user string, conv Conversation, want int, msgs ...Envelope) {
	s.t.Helper()
	r, ok := s.h.h.(HistoryReader)
	if !ok {
		s.t.Skipf("%s: skipped: the harness has no HistoryReader capability", s.rule)
	}
	raw, code := r.ReadHistory(user, conv)
	op := fmt.Sprintf("ReadHistory(as %q, %s)", user, conv)
	s.h.logf("%s -> %s, %d messages", op, codeString(code), len(raw))
	switch {
	case want < 0 && code == 0:
		s.failf(op, codeString(code), "a failure")
	case want >= 0 && code != want:
		s.failf(op, codeString(code), codeString(want))
	case code != 0 && len(raw) > 0:
		s.failf(op+" on failure", fmt.Sprintf("%d messages", len(raw)), "none")
	case code == 0:
		got := make([]Envelope, len(raw))
		for i, b := range raw {
			e, err := decodeEnvelope(b)
			if err != nil {
				s.failf(fmt.Sprintf("%s[%d]", op, i), err, "a signaling envelope")
			}
			got[i] = e
		}
		if !sameEnvelopes(got, msgs) {
			s.failf(op, envsString(got), envsString(msgs))
		}
	}
}

// parse calls ParseSignalingInfo and turns a panic into a failure.
func (s *sys) parse(b []byte) (e Envelope, ok bool) {
	s.t.Helper()
	defer func() {
		if p := recover(); p != nil {
			s.failf(fmt.Sprintf("ParseSignalingInfo(%s)", short(string(b))), fmt.Sprintf("panic: %v", p), "no panic")
		}
	}()
	return s.h.ParseSignalingInfo(b)
}
