package conformance

import (
	"fmt"
	"strings"
	"time"
)

// The DET-1 script: a fixed list of operations with everything the rules
// let an implementation do, observed completely after each step. Invite IDs
// drawn by the implementation are renamed by order of appearance (#1, #2,
// ...) so that unguessable IDs compare equal.

type detObserver struct {
	h     *recorder
	names map[string]string
	obs   []string
}

func (o *detObserver) ren(id string) string {
	if n, ok := o.names[id]; ok {
		return n
	}
	return id
}

// drawn records a drawn invite ID.
func (o *detObserver) drawn(id string, code int) string {
	if code == 0 {
		if _, ok := o.names[id]; !ok {
			o.names[id] = fmt.Sprintf("#%d", len(o.names)+1)
		}
	}
	return fmt.Sprintf("id=%s code=%d", o.ren(id), code)
}

// id returns the real invite ID of the n-th drawn one.
func (o *detObserver) id(n int) string {
	want := fmt.Sprintf("#%d", n)
	for real, name := range o.names {
		if name == want {
			return real
		}
	}
	return "missing-" + want
}

var detSessions = []sessKey{{A, "phone"}, {B, "phone"}, {B, "laptop"}, {C, "phone"}, {D, "phone"}}
var detConvs = []Conversation{C2C(A, B), C2C(A, C), C2C(C, D), C2C(B, A), GroupConv(G)}

var detSteps = []func(o *detObserver) string{
	func(o *detObserver) string {
		return fmt.Sprint(o.h.Connect(A, "phone"), o.h.Connect(B, "phone"), o.h.Connect(B, "laptop"))
	},
	func(o *detObserver) string { return fmt.Sprint(o.h.SetGroup(G, []string{A, B, C, D})) },
	func(o *detObserver) string {
		return o.drawn(o.h.Invite(by(A), InviteArgs{Invitee: B, Data: "one", Timeout: 3}))
	},
	func(o *detObserver) string {
		return o.drawn(o.h.InviteInGroup(Caller{User: A, RequestID: "q1"}, GroupInviteArgs{Group: G, Invitees: ids(B, C, D), Data: "two"}))
	},
	func(o *detObserver) string {
		return o.drawn(o.h.Invite(by(C), InviteArgs{Invitee: D, InviteID: "det-x", Push: &PushInfo{Title: "t", Desc: "d"}, Timeout: 2}))
	},
	func(o *detObserver) string { o.h.Advance(time.Second); return "" },
	func(o *detObserver) string { return fmt.Sprint(o.h.Modify(by(A), o.id(1), "one-b")) },
	func(o *detObserver) string {
		return fmt.Sprint(o.h.Accept(Caller{User: B, Session: "laptop"}, o.id(2), "ok"))
	},
	func(o *detObserver) string {
		return o.drawn(o.h.InviteInGroup(Caller{User: A, RequestID: "q1"}, GroupInviteArgs{Group: G, Invitees: ids(B, C, D), Data: "two"}))
	},
	func(o *detObserver) string { return fmt.Sprint(o.h.Connect(D, "phone"), o.h.Connect(C, "phone")) },
	func(o *detObserver) string { return fmt.Sprint(o.h.Reject(by(C), o.id(2), "busy")) },
	func(o *detObserver) string { return fmt.Sprint(o.h.Cancel(by(B), o.id(2), "")) },
	func(o *detObserver) string { o.h.Advance(2 * time.Second); return "" },
	func(o *detObserver) string { return fmt.Sprint(o.h.Disconnect(B, "laptop")) },
	func(o *detObserver) string { return fmt.Sprint(o.h.Cancel(by(A), o.id(2), "bye")) },
	func(o *detObserver) string { return fmt.Sprint(o.h.Accept(by(D), "det-x", "late")) },
	func(o *detObserver) string {
		return o.drawn(o.h.Invite(by(B), InviteArgs{Invitee: A, OnlineUserOnly: true, Timeout: 1}))
	},
	func(o *detObserver) string {
		return o.drawn(o.h.Invite(by(B), InviteArgs{Invitee: C, Data: "three", Timeout: 4}))
	},
	func(o *detObserver) string { return fmt.Sprint(o.h.Connect(B, "laptop"), o.h.Disconnect(C, "phone")) },
	func(o *detObserver) string { o.h.Advance(500 * time.Millisecond); return "" },
	func(o *detObserver) string { return fmt.Sprint(o.h.Modify(by(C), o.id(5), "three-b")) },
	func(o *detObserver) string { return fmt.Sprint(o.h.Connect(C, "phone")) },
	func(o *detObserver) string { o.h.Advance(5 * time.Second); return "" },
}

// runDetScript runs the DET-1 script on h, restarting it after the steps
// restartAfter says (if not nil), and returns the observations.
func runDetScript(s *sys, h *recorder, restartAfter func(i int) bool) []string {
	s.t.Helper()
	o := &detObserver{h: h, names: map[string]string{}}
	for i, step := range detSteps {
		res := step(o)
		o.obs = append(o.obs, fmt.Sprintf("step %d: %s", i, res))
		if restartAfter != nil && restartAfter(i) {
			h.Restart(0)
		}
		for _, k := range detSessions {
			for _, e := range h.TakeEvents(k.user, k.session) {
				e = e.Normalize()
				e.InviteID = o.ren(e.InviteID)
				o.obs = append(o.obs, fmt.Sprintf("step %d: event %s/%s %s", i, k.user, k.session, e))
			}
		}
		for _, p := range h.TakePushes() {
			p.InviteID = o.ren(p.InviteID)
			o.obs = append(o.obs, fmt.Sprintf("step %d: %s", i, p))
		}
		var hist []string
		for _, c := range detConvs {
			for _, b := range h.History(c) {
				e, err := decodeEnvelope(b)
				if err != nil {
					hist = append(hist, fmt.Sprintf("%s undecodable %q", c, b))
					continue
				}
				e.InviteID = o.ren(e.InviteID)
				hist = append(hist, fmt.Sprintf("%s %s", c, e))
			}
		}
		o.obs = append(o.obs, fmt.Sprintf("step %d: history %s", i, strings.Join(hist, " | ")))
	}
	return o.obs
}

func compareObservations(s *sys, what string, got, want []string, h *recorder) {
	s.t.Helper()
	for i := 0; i < len(got) || i < len(want); i++ {
		g, w := "<nothing>", "<nothing>"
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			s.t.Fatalf("%s %s observation %d: got %s, want %s (as the first system observed)\n%s", s.rule, what, i, g, w, h.trace())
		}
	}
}
