package conformance

import (
	"fmt"
	"reflect"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
	"time"
)

// A check is one example-based check of one rule.
type check struct {
	rule string
	name string
	fn   func(s *sys)
}

var registry []check

// register adds a check; Run orders them by the rule's place in Rules.
func register(rule, name string, fn func(s *sys)) {
	registry = append(registry, check{rule: rule, name: name, fn: fn})
}

func ruleIndex(id string) int {
	for i, r := range Rules {
		if r.ID == id {
			return i
		}
	}
	return len(Rules)
}

// checks returns every check in the fixed order of Rules (registration
// order within a rule).
func checks() []check {
	l := append([]check(nil), registry...)
	sort.SliceStable(l, func(i, j int) bool { return ruleIndex(l[i].rule) < ruleIndex(l[j].rule) })
	return l
}

// uncovered lists the rule IDs without a check, and check rules that are not
// in Rules.
func uncovered() []string {
	have := map[string]bool{}
	var bad []string
	for _, c := range registry {
		have[c.rule] = true
		if ruleIndex(c.rule) == len(Rules) {
			bad = append(bad, c.rule+" (a check names a rule that is not in Rules)")
		}
	}
	for _, r := range Rules {
		if !have[r.ID] {
			bad = append(bad, r.ID+" (no check)")
		}
	}
	return bad
}

// Run runs every example-based check against fresh systems made by
// newHarness, one per check, as subtests named "RULE-ID/what". Rules run in
// the order of Rules. A failure reads "RULE op: got X, want Y" and prints the
// trace of operations that led there.
func Run(t *testing.T, newHarness func(t TB) Harness) {
	t.Helper()
	t.Run("RULES/coverage", func(t *testing.T) {
		if bad := uncovered(); len(bad) > 0 {
			t.Errorf("RULES coverage: got rules without checks %v, want none", bad)
		}
	})
	for _, c := range checks() {
		t.Run(c.rule+"/"+c.name, func(t *testing.T) { runCheck(t, c, newHarness) })
	}
}

// runCheck runs one check with t, which may be a *testing.T or a
// recording stand-in (the mutant tests use one).
func runCheck(t TB, c check, newHarness func(t TB) Harness) {
	h := newHarness(t)
	if h == nil {
		t.Fatalf("%s: the harness constructor returned nil", c.rule)
	}
	s := &sys{t: t, rule: c.rule, h: newRecorder(h), lim: h.Limits(), newHarness: newHarness}
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s panic: %v\n%s\n%s", c.rule, p, debug.Stack(), s.h.trace())
		}
	}()
	c.fn(s)
}

// sys is the context of one check: the harness (behind its trace recorder),
// its limits, and the rule failures are reported under.
type sys struct {
	t          TB
	rule       string
	h          *recorder
	lim        Limits
	newHarness func(t TB) Harness
	sessions   []sessKey // every session connected so far, first connection order
}

type sessKey struct{ user, session string }

// The cast of the example checks.
const (
	A = "alice"
	B = "bob"
	C = "carol"
	D = "dave"
	E = "eve" // never a participant unless said
	G = "g1"
)

func by(user string) Caller { return Caller{User: user} }

func codeString(code int) string {
	name := map[int]string{0: "success", 6017: "invalid parameters", 8001: "body size limit", 8010: "invalid invite ID",
		8011: "no permission", 8012: "already exists", 10010: "group not found", 10007: "not a group member"}[code]
	if name == "" {
		name = "unknown"
	}
	return fmt.Sprintf("%d (%s)", code, name)
}

// failf reports "RULE op: got X, want Y" with the trace, and stops the check.
func (s *sys) failf(op string, got, want any) {
	s.t.Helper()
	s.t.Fatalf("%s %s: got %v, want %v\n%s", s.rule, op, got, want, s.h.trace())
}

// require skips the check when the harness's limits do not allow it.
func (s *sys) require(ok bool, why string) {
	s.t.Helper()
	if !ok {
		s.t.Skipf("%s: skipped: %s", s.rule, why)
	}
}

func (s *sys) restarter() Restarter {
	s.t.Helper()
	x, ok := s.h.restarter()
	if !ok {
		s.t.Skipf("%s: skipped: the harness has no Restarter capability (durable implementations only)", s.rule)
	}
	return x
}

// tmo returns n seconds, or the maximum timeout if that is smaller.
func (s *sys) tmo(n int) int {
	if s.lim.MaxTimeoutSeconds < n {
		return s.lim.MaxTimeoutSeconds
	}
	return n
}

func sec(n int) time.Duration { return time.Duration(n) * time.Second }

func (s *sys) on(user string, sessions ...string) {
	s.t.Helper()
	for _, ss := range sessions {
		if code := s.h.Connect(user, ss); code != 0 {
			s.failf(fmt.Sprintf("Connect(%q, %q)", user, ss), codeString(code), codeString(0))
		}
		k := sessKey{user, ss}
		known := false
		for _, x := range s.sessions {
			known = known || x == k
		}
		if !known {
			s.sessions = append(s.sessions, k)
		}
	}
}

func (s *sys) off(user string, sessions ...string) {
	s.t.Helper()
	for _, ss := range sessions {
		if code := s.h.Disconnect(user, ss); code != 0 {
			s.failf(fmt.Sprintf("Disconnect(%q, %q)", user, ss), codeString(code), codeString(0))
		}
	}
}

func (s *sys) group(g string, members ...string) {
	s.t.Helper()
	if code := s.h.SetGroup(g, members); code != 0 {
		s.failf(fmt.Sprintf("SetGroup(%q, %v)", g, members), codeString(code), codeString(0))
	}
}

func (s *sys) advance(d time.Duration) { s.h.Advance(d) }

// invite makes a 1:1 invite that must succeed and returns its ID.
func (s *sys) invite(from, to string, a InviteArgs) string {
	s.t.Helper()
	a.Invitee = to
	return s.inviteAs(by(from), a, 0)
}

// inviteAs makes a 1:1 invite and checks its code.
func (s *sys) inviteAs(c Caller, a InviteArgs, want int) string {
	s.t.Helper()
	id, code := s.h.Invite(c, a)
	return s.checkInvite(inviteString(c, a), id, code, want)
}

// checkInvite checks the code and invite ID an invite answered with.
func (s *sys) checkInvite(op, id string, code, want int) string {
	s.t.Helper()
	if code != want {
		s.failf(op, codeString(code), codeString(want))
	}
	if code == 0 && (id == "" || len(id) > MaxInviteIDBytes) {
		s.failf(op+" invite ID", fmt.Sprintf("%q", id), "a non-empty ID of at most 127 bytes")
	}
	return id
}

// ginvite makes a group invite that must succeed and returns its ID.
func (s *sys) ginvite(from string, a GroupInviteArgs) string {
	s.t.Helper()
	return s.ginviteAs(by(from), a, 0)
}

// ginviteAs makes a group invite and checks its code.
func (s *sys) ginviteAs(c Caller, a GroupInviteArgs, want int) string {
	s.t.Helper()
	id, code := s.h.InviteInGroup(c, a)
	return s.checkInvite(groupInviteString(c, a), id, code, want)
}

// do runs cancel, accept, reject or modify and checks its code.
func (s *sys) do(op respOp, c Caller, id, data string, want int) {
	s.t.Helper()
	code := op.call(s.h, c, id, data)
	if code != want {
		s.failf(respString(op.String(), c, id, data), codeString(code), codeString(want))
	}
}

func (s *sys) cancel(user, id, data string, want int) {
	s.t.Helper()
	s.do(opCancel, by(user), id, data, want)
}
func (s *sys) accept(user, id, data string, want int) {
	s.t.Helper()
	s.do(opAccept, by(user), id, data, want)
}
func (s *sys) reject(user, id, data string, want int) {
	s.t.Helper()
	s.do(opReject, by(user), id, data, want)
}
func (s *sys) modify(user, id, data string, want int) {
	s.t.Helper()
	s.do(opModify, by(user), id, data, want)
}

func evNew(id, inviter, group string, invitees []string, data string) Event {
	return Event{Type: EventNewInvitation, InviteID: id, Inviter: inviter, GroupID: group, Invitees: invitees, Data: data}
}
func evCancel(id, inviter, data string) Event {
	return Event{Type: EventCancelled, InviteID: id, Inviter: inviter, Data: data}
}
func evAccept(id, invitee, data string) Event {
	return Event{Type: EventAccepted, InviteID: id, Invitee: invitee, Data: data}
}
func evReject(id, invitee, data string) Event {
	return Event{Type: EventRejected, InviteID: id, Invitee: invitee, Data: data}
}
func evTimeout(id string, invitees ...string) Event {
	return Event{Type: EventTimeout, InviteID: id, Invitees: invitees}
}
func evModify(id, data string) Event { return Event{Type: EventModified, InviteID: id, Data: data} }

// joined formats l as open, its elements separated by sep, then "]"; an
// empty l as "nothing".
func joined[T fmt.Stringer](l []T, open, sep string) string {
	if len(l) == 0 {
		return "nothing"
	}
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.String()
	}
	return open + strings.Join(parts, sep) + "]"
}

func eventsString(l []Event) string { return joined(l, "[", "; ") }

func sameEvents(got, want []Event) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !reflect.DeepEqual(got[i].Normalize(), want[i].Normalize()) {
			return false
		}
	}
	return true
}

// expect takes the events of a session and compares them with want.
func (s *sys) expect(user, session string, want ...Event) {
	s.t.Helper()
	got := s.h.TakeEvents(user, session)
	if !sameEvents(got, want) {
		s.failf(fmt.Sprintf("events of %s/%s", user, session), eventsString(got), eventsString(want))
	}
}

// expectAll expects the same events on each of the sessions of user.
func (s *sys) expectAll(user string, sessions []string, want ...Event) {
	s.t.Helper()
	for _, ss := range sessions {
		s.expect(user, ss, want...)
	}
}

// quiet expects no events on every session connected so far.
func (s *sys) quiet() {
	s.t.Helper()
	for _, k := range s.sessions {
		s.expect(k.user, k.session)
	}
}

func env(action int, id, group, inviter string, invitees []string, data string, timeout int) Envelope {
	return Envelope{BusinessID: 1, ActionType: action, InviteID: id, GroupID: group, Inviter: inviter,
		InviteeList: invitees, Data: data, Timeout: timeout}
}

func envsString(l []Envelope) string { return joined(l, "[", "; ") }

// history reads and decodes the history of a conversation.
func (s *sys) history(conv Conversation) []Envelope {
	s.t.Helper()
	raw := s.h.History(conv)
	out := make([]Envelope, 0, len(raw))
	for i, b := range raw {
		e, err := decodeEnvelope(b)
		if err != nil {
			s.t.Fatalf("HIS-2 History(%s)[%d]: got %q (%v), want a JSON signaling envelope with keys %v\n%s",
				conv, i, short(string(b)), err, envelopeKeys, s.h.trace())
		}
		out = append(out, e)
	}
	return out
}

func sameEnvelopes(got, want []Envelope) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.InviteeList == nil {
			g.InviteeList = []string{}
		}
		if w.InviteeList == nil {
			w.InviteeList = []string{}
		}
		if !reflect.DeepEqual(g, w) {
			return false
		}
	}
	return true
}

// expectHistory compares the whole history of a conversation with want.
func (s *sys) expectHistory(conv Conversation, want ...Envelope) {
	s.t.Helper()
	got := s.history(conv)
	if !sameEnvelopes(got, want) {
		s.failf(fmt.Sprintf("History(%s)", conv), envsString(got), envsString(want))
	}
}

// expectPushes takes the push requests and compares them with want.
func (s *sys) expectPushes(want ...PushRequest) {
	s.t.Helper()
	got := s.h.TakePushes()
	if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
		s.failf("TakePushes", pushesString(got), pushesString(want))
	}
}

func pushesString(l []PushRequest) string { return joined(l, "[", "; ") }

func ids(l ...string) []string { return l }
