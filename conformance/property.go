package conformance

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// RunProperties runs the property-based state-machine test: random
// sequences of operations (small alphabets, so IDs collide; invalid inputs
// too) applied to a fresh harness and to the reference model side by side,
// comparing after every step the results, error codes, every session's
// events, every conversation's history and the push requests (and, where
// the harness has them, OutputLog's global order, OpenInvitations, and
// the users' open invitations and call records: OpenLister, RecordLister).
// Time moves mostly by seconds, and also exactly onto the next deadline, a
// nanosecond before or after it, by hours, and by days beyond the longest
// timeout. A failure reads "RULE[,RULE...] op: what: got X, want Y", naming
// the rules whose check failed, most specific first (blame.go).
//
// The depth follows rapid's settings: the environment variables
// RAPID_CHECKS (default 100 runs) and RAPID_STEPS (default 30 steps on
// average), or the -rapid.checks / -rapid.steps flags. A failure is shrunk
// to a short sequence and saved under testdata/rapid/<test name>/ of the
// package running the test; rapid replays saved failures first.
func RunProperties(t *testing.T, newHarness func(t TB) Harness) {
	t.Helper()
	defaultRapidFlag(t, "rapid.checks", "RAPID_CHECKS", DefaultChecks)
	defaultRapidFlag(t, "rapid.steps", "RAPID_STEPS", DefaultSteps)
	rapid.Check(t, StateMachine(newHarness))
}

// The depth of RunProperties unless RAPID_CHECKS / RAPID_STEPS or the
// -rapid.checks / -rapid.steps flags say otherwise (rapid's own defaults,
// 100 and 30, are shallow for this state machine).
const (
	DefaultChecks = "500"
	DefaultSteps  = "100"
)

var setByUs = map[string]bool{}

// defaultRapidFlag sets a rapid flag for the duration of t, unless the user
// chose its value with the environment variable or on the command line.
func defaultRapidFlag(t *testing.T, name, env, value string) {
	if _, ok := os.LookupEnv(env); ok {
		return
	}
	f := flag.Lookup(name)
	if f == nil {
		return
	}
	userSet := false
	flag.Visit(func(f *flag.Flag) { userSet = userSet || (f.Name == name && !setByUs[name]) })
	if userSet {
		return
	}
	old := f.Value.String()
	if err := flag.Set(name, value); err != nil {
		return
	}
	setByUs[name] = true
	t.Cleanup(func() { _ = flag.Set(name, old) })
}

// StateMachine is the property of RunProperties, for rapid.Check or, in a
// fuzz target, rapid.MakeFuzz(StateMachine(newHarness)).
func StateMachine(newHarness func(t TB) Harness) func(*rapid.T) {
	return func(t *rapid.T) {
		h := newHarness(t)
		if h == nil {
			t.Fatalf("the harness constructor returned nil")
		}
		p := newProp(h)
		p.setup(t)
		t.Repeat(p.actions())
	}
}

type prop struct {
	raw   Harness
	h     *recorder
	m     *model
	lim   Limits
	users []string // valid users
	bad   []string // malformed user IDs
	sess  []string
	grps  []string
	data  []string
	known []string // invite IDs seen so far, in order
	due   []string // invitations whose deadline the last move of time landed on exactly

	sessions []sessKey // every session ever connected
	// Sessions connected with ConnectFor (SessionResumer) and not since
	// disconnected, which may be dropped; those dropped and not back yet.
	resumable, dropped map[sessKey]bool
	events             map[sessKey][]wantEv
	hist               map[Conversation][]Envelope
	seenRaw            map[Conversation][][]byte // history messages already checked
	convs              []Conversation
	pushes             []PushRequest
	outs               []Output
	retries            []func(t *rapid.T) // successful operations with a request ID, to retry
	restarts           int                // Restarts so far
	restartSeq         int                // the model's calls closed before the last Restart
	callsSeen          int                // the model's calls closed when records were last compared
	reqEpoch           map[[2]string]int  // (user, request ID) remembered -> Restarts before

	step      stepInfo            // the current step, to name the rules a difference belongs to
	sinceRead []stepInfo          // the steps since events were last read
	meta      map[string]*invMeta // the invitations seen made, by invite ID (the latest of an ID)
}

func newProp(h Harness) *prop {
	lim := h.Limits()
	p := &prop{raw: h, h: newRecorder(h), m: newModel(lim), lim: lim,
		users:  []string{"u1", "u2", "u3", "u4"},
		bad:    []string{"", strings.Repeat("u", lim.MaxIDBytes+1), "u\x01"},
		sess:   []string{"a", "b", "c"},
		grps:   []string{"g1", "g2"},
		data:   []string{"", "d1", "d2", strings.Repeat("x", lim.MaxDataBytes), strings.Repeat("y", lim.MaxDataBytes+1)},
		events: map[sessKey][]wantEv{}, hist: map[Conversation][]Envelope{}, seenRaw: map[Conversation][][]byte{},
		reqEpoch: map[[2]string]int{}, meta: map[string]*invMeta{},
		resumable: map[sessKey]bool{}, dropped: map[sessKey]bool{},
	}
	for i, a := range p.users {
		for _, b := range p.users[i+1:] {
			p.convs = append(p.convs, C2C(a, b))
		}
	}
	for _, g := range p.grps {
		p.convs = append(p.convs, GroupConv(g))
	}
	return p
}

func (p *prop) actions() map[string]func(*rapid.T) {
	// Some actions are listed twice to be drawn twice as often.
	a := map[string]func(*rapid.T){
		"Invite":        p.invite,
		"Invite2":       p.invite,
		"InviteInGroup": p.inviteInGroup,
		"Cancel":        func(t *rapid.T) { p.respond(t, opCancel) },
		"Accept":        func(t *rapid.T) { p.respond(t, opAccept) },
		"Accept2":       func(t *rapid.T) { p.respond(t, opAccept) },
		"Reject":        func(t *rapid.T) { p.respond(t, opReject) },
		"Modify":        func(t *rapid.T) { p.respond(t, opModify) },
		"Connect":       p.connect,
		"Connect2":      p.connect,
		"Disconnect":    p.disconnect,
		"SetGroup":      p.setGroup,
		"JoinLeave":     p.joinLeave,
		"Advance":       p.advance,
		"Advance2":      p.advance,
		"Retry":         p.retry,
		"Parse":         p.parse,
	}
	if _, ok := p.raw.(Restarter); ok {
		a["Restart"] = p.restart
	}
	if _, ok := p.raw.(SessionResumer); ok {
		a["ConnectFor"] = p.connectFor
		a["Drop"] = p.drop
		a["Reconnect"] = p.reconnect
	}
	return a
}

// setup draws a starting point: some sessions online, some group members.
func (p *prop) setup(t *rapid.T) {
	for _, u := range p.users {
		n := rapid.IntRange(0, 2).Draw(t, "initialSessions")
		for _, s := range p.sess[:n] {
			p.doConnect(t, u, s)
		}
	}
	for _, g := range p.grps {
		p.doSetGroup(t, g, p.drawMembers(t))
	}
}

// Draw helpers. Alphabets are small so that IDs collide. Operations are
// well-formed most of the time; fault draws which one part is malformed,
// if any. Every draw shrinks towards the plain, valid choice.

func (p *prop) fault(t *rapid.T, kinds ...string) string {
	if rapid.IntRange(0, 5).Draw(t, "faulty") < 5 {
		return ""
	}
	return rapid.SampledFrom(kinds).Draw(t, "fault")
}

func (p *prop) long() string { return strings.Repeat("z", p.lim.MaxIDBytes+1) }

func (p *prop) caller(t *rapid.T, user, fault string) Caller {
	c := Caller{User: user}
	if rapid.IntRange(0, 3).Draw(t, "withSession") == 3 {
		c.Session = rapid.SampledFrom(p.sess).Draw(t, "session")
	}
	if rapid.IntRange(0, 2).Draw(t, "withRequestID") == 2 {
		c.RequestID = rapid.SampledFrom([]string{"r1", "r2"}).Draw(t, "requestID")
	}
	switch fault {
	case "user":
		c.User = rapid.SampledFrom(p.bad).Draw(t, "badUser")
	case "session":
		c.Session = p.long()
	case "requestID":
		c.RequestID = p.long()
	}
	return c
}

func (p *prop) drawData(t *rapid.T, fault string) string {
	switch fault {
	case "data":
		return p.data[4] // above the limit
	case "utf8":
		return "ok\xff\xfe" // not UTF-8: the envelope is JSON text
	}
	if i := rapid.IntRange(0, 9).Draw(t, "data"); i < 9 {
		return p.data[i%3]
	}
	return p.data[3] // exactly the limit
}

// drawTimeout draws short timeouts mostly, and any up to the maximum
// (hours, days) sometimes, so that long horizons are reached too.
func (p *prop) drawTimeout(t *rapid.T, fault string) int {
	max := p.lim.MaxTimeoutSeconds
	if fault == "timeout" {
		return rapid.SampledFrom([]int{-1, max + 1}).Draw(t, "badTimeout")
	}
	if max > 0 && rapid.IntRange(0, 4).Draw(t, "longTimeout") == 4 {
		return rapid.IntRange(1, max).Draw(t, "timeout")
	}
	return min(rapid.SampledFrom([]int{0, 2, 1, 3, 5, 3600, 3601, max}).Draw(t, "timeout"), max)
}

// drawDuration draws how far time moves: mostly a few seconds; else
// exactly onto the next deadline of an open invitation, a nanosecond before
// or after it, hours, or days beyond the longest timeout, so that the
// timing of timeouts is checked at their boundaries and over long horizons.
func (p *prop) drawDuration(t *rapid.T, label string) time.Duration {
	next, ok := p.nextDeadline()
	k := rapid.IntRange(0, 9).Draw(t, label+"Kind")
	switch {
	case k >= 4 && k <= 7 && ok:
		return next + [...]time.Duration{0, 0, -time.Nanosecond, time.Nanosecond}[k-4]
	case k == 8:
		return rapid.SampledFrom([]time.Duration{time.Hour, time.Hour + time.Second, 25 * time.Hour}).Draw(t, label+"Hours")
	case k == 9:
		return sec(p.lim.MaxTimeoutSeconds) + time.Duration(rapid.IntRange(1, 3).Draw(t, label+"Days"))*24*time.Hour
	}
	return rapid.SampledFrom([]time.Duration{time.Second, 0, 500 * time.Millisecond, 2 * time.Second, 3 * time.Second, 7 * time.Second}).Draw(t, label)
}

// nextDeadline is how long until the earliest deadline of an open
// invitation, if one has a deadline.
func (p *prop) nextDeadline() (time.Duration, bool) {
	var next time.Duration
	ok := false
	for _, v := range p.m.invs {
		if v.timeout > 0 && (!ok || v.deadline < next) {
			next, ok = v.deadline, true
		}
	}
	return next - p.m.now, ok
}

func (p *prop) drawInviteID(t *rapid.T, fault string) string {
	if fault == "inviteID" {
		return strings.Repeat("i", MaxInviteIDBytes+1)
	}
	return rapid.SampledFrom([]string{"", "", "", "x1", "x2"}).Draw(t, "inviteID")
}

func (p *prop) others(user string) []string {
	var l []string
	for _, u := range p.users {
		if u != user {
			l = append(l, u)
		}
	}
	return l
}

func (p *prop) learn(id string) {
	if id == "" {
		return
	}
	for _, k := range p.known {
		if k == id {
			return
		}
	}
	p.known = append(p.known, id)
}

func (p *prop) invite(t *rapid.T) {
	f := p.fault(t, "user", "session", "requestID", "inviteID", "invitee", "self", "timeout", "push", "data", "utf8")
	inviter := rapid.SampledFrom(p.users).Draw(t, "inviter")
	c := p.caller(t, inviter, f)
	a := InviteArgs{Invitee: rapid.SampledFrom(p.others(inviter)).Draw(t, "invitee")}
	switch f {
	case "invitee":
		a.Invitee = rapid.SampledFrom(p.bad).Draw(t, "badInvitee")
	case "self":
		a.Invitee = inviter
	}
	a.InviteID = p.drawInviteID(t, f)
	a.Data = p.drawData(t, f)
	a.OnlineUserOnly = rapid.IntRange(0, 3).Draw(t, "onlineOnly") == 3
	a.Timeout = p.drawTimeout(t, f)
	if f == "push" {
		a.Push = &PushInfo{Title: "no desc"}
	} else if rapid.IntRange(0, 2).Draw(t, "push") == 2 {
		a.Push = &PushInfo{Title: "t", Desc: "ring", Ext: "e", Sound: "s"}
	}
	p.doInvite(t, c, a)
}

func (p *prop) inviteInGroup(t *rapid.T) {
	f := p.fault(t, "user", "session", "requestID", "inviteID", "group", "unknownGroup", "inviterNotMember",
		"inviteeNotMember", "empty", "duplicate", "self", "badInvitee", "tooMany", "timeout", "push", "data", "utf8")
	group := rapid.SampledFrom(p.grps).Draw(t, "group")
	var members []string
	for _, u := range p.users {
		if p.m.groups[group][u] {
			members = append(members, u)
		}
	}
	inviter := rapid.SampledFrom(p.users).Draw(t, "inviter")
	if len(members) > 0 && f != "inviterNotMember" {
		inviter = rapid.SampledFrom(members).Draw(t, "inviter")
	}
	c := p.caller(t, inviter, f)
	var cands, outsiders []string
	for _, u := range p.others(inviter) {
		if p.m.groups[group][u] {
			cands = append(cands, u)
		} else {
			outsiders = append(outsiders, u)
		}
	}
	var invitees []string
	if len(cands) > 0 {
		n := rapid.IntRange(1, len(cands)).Draw(t, "invitees")
		invitees = rapid.Permutation(cands).Draw(t, "order")[:n]
	} else {
		invitees = []string{rapid.SampledFrom(p.others(inviter)).Draw(t, "invitee")}
	}
	switch f {
	case "group":
		group = ""
	case "unknownGroup":
		group = "nosuchgroup"
	case "inviteeNotMember":
		if len(outsiders) > 0 {
			invitees = append(invitees, rapid.SampledFrom(outsiders).Draw(t, "outsider"))
		}
	case "empty":
		invitees = nil
	case "duplicate":
		invitees = append(invitees, invitees[0])
	case "self":
		invitees = append(invitees, inviter)
	case "badInvitee":
		invitees = append(invitees, rapid.SampledFrom(p.bad).Draw(t, "badInvitee"))
	case "tooMany":
		for i := len(invitees); i <= p.lim.MaxInvitees; i++ {
			invitees = append(invitees, fmt.Sprintf("m%d", i))
		}
	}
	a := GroupInviteArgs{InviteID: p.drawInviteID(t, f), Group: group, Invitees: invitees, Data: p.drawData(t, f),
		OnlineUserOnly: rapid.IntRange(0, 3).Draw(t, "onlineOnly") == 3, Timeout: p.drawTimeout(t, f)}
	if f == "push" {
		a.Push = &PushInfo{Title: "t", Desc: "ring"}
		// Without a request ID: beckon's Client refuses the option before it
		// looks the request ID up, where the model answers a known one with
		// its first result (IDM-1).
		c.RequestID = ""
	}
	p.doInviteInGroup(t, c, a)
}

func (p *prop) doInvite(t *rapid.T, c Caller, a InviteArgs) {
	p.guardBoundary(t, c)
	id, code := p.h.Invite(c, a)
	r := p.m.invite(c, a, func() string { return id })
	p.checkInviteResult(t, stepInfo{kind: stepInvite, op: inviteString(c, a), id: a.InviteID}, c, id, code, r)
	if code == 0 && c.RequestID != "" && !r.dup {
		p.addRetry(func(t *rapid.T) { p.doInvite(t, c, a) })
	}
}

func (p *prop) doInviteInGroup(t *rapid.T, c Caller, a GroupInviteArgs) {
	p.guardBoundary(t, c)
	id, code := p.h.InviteInGroup(c, a)
	r := p.m.inviteInGroup(c, a, func() string { return id })
	p.checkInviteResult(t, stepInfo{kind: stepGroupInvite, op: groupInviteString(c, a), id: a.InviteID}, c, id, code, r)
	if code == 0 && c.RequestID != "" && !r.dup {
		p.addRetry(func(t *rapid.T) { p.doInviteInGroup(t, c, a) })
	}
}

// addRetry keeps a successful operation with a request ID to retry later.
func (p *prop) addRetry(op func(t *rapid.T)) { p.retries = append(p.retries, op) }

// begin starts a step: st is what the model answered, c the caller.
func (p *prop) begin(st stepInfo, c Caller, r mres) {
	st.code, st.rule, st.dup = r.code, r.rule, r.dup
	st.reqID, st.user = c.RequestID != "", c.User
	key := [2]string{c.User, c.RequestID}
	switch {
	case r.dup:
		st.afterRestart = p.restarts > p.reqEpoch[key]
	case r.code == 0 && st.reqID:
		p.reqEpoch[key] = p.restarts
	}
	p.beginStep(st)
}

func (p *prop) beginStep(st stepInfo) {
	p.step = st
	p.sinceRead = append(p.sinceRead, st)
	// invitations the model closed in this step, and why
	for id, m := range p.meta {
		if m.ended == nil && p.m.invs[id] != m.v {
			m.ended = p.closedBy(st, id, m)
		}
	}
}

func (p *prop) checkInviteResult(t *rapid.T, st stepInfo, c Caller, id string, code int, r mres) {
	t.Helper()
	chosen := st.id != ""
	if st.id == "" && code == 0 {
		st.id = id
	}
	p.begin(st, c, r)
	if code != r.code {
		p.fail(t, p.codeRules(p.step, code), "code", codeString(code), codeString(r.code))
	}
	if r.badID != "" {
		p.fail(t, p.idRules(p.step, chosen), "invite ID", fmt.Sprintf("%q", id), "a usable one: "+r.badID)
	}
	if code == 0 && id != r.inviteID {
		p.fail(t, p.idRules(p.step, chosen), "invite ID", fmt.Sprintf("%q", id), fmt.Sprintf("%q", r.inviteID))
	}
	if code == 0 {
		p.learn(id)
		if v := p.m.invs[id]; v != nil && !r.dup {
			p.meta[id] = newMeta(v, p.restarts)
		}
	}
	p.absorb(r.outs)
	p.compare(t)
}

func (p *prop) respond(t *rapid.T, op respOp) {
	f := p.fault(t, "user", "session", "requestID", "unknown", "empty", "long", "data", "utf8")
	open := p.m.sortedInvs()
	var id string
	k := rapid.IntRange(0, 5).Draw(t, "targetKind")
	switch {
	case len(p.due) > 0 && rapid.IntRange(0, 2).Draw(t, "atDeadline") == 2:
		id = rapid.SampledFrom(p.due).Draw(t, "due") // at exactly its deadline
	case k < 4 && len(open) > 0:
		id = open[rapid.IntRange(0, len(open)-1).Draw(t, "target")].id
	case k < 5 && len(p.known) > 0:
		id = rapid.SampledFrom(p.known).Draw(t, "known")
	default:
		id = "x1"
	}
	user := rapid.SampledFrom(p.users).Draw(t, "user")
	if v := p.m.invs[id]; v != nil && rapid.IntRange(0, 4).Draw(t, "byParticipant") < 4 {
		// mostly the role the operation wants: the inviter cancels, a
		// pending invitee answers
		var likely []string
		switch op {
		case opCancel:
			likely = []string{v.inviter}
		case opAccept, opReject:
			for i, u := range v.invitees {
				if v.states[i] == stPending {
					likely = append(likely, u)
				}
			}
		}
		if len(likely) > 0 && rapid.IntRange(0, 3).Draw(t, "likelyRole") < 3 {
			user = rapid.SampledFrom(likely).Draw(t, "participant")
		} else {
			user = rapid.SampledFrom(v.participants()).Draw(t, "participant")
		}
	}
	c := p.caller(t, user, f)
	switch f {
	case "unknown":
		id = "nope"
	case "empty":
		id = ""
	case "long":
		id = strings.Repeat("i", MaxInviteIDBytes+1)
	}
	p.doRespond(t, op, c, id, p.drawData(t, f))
}

func (p *prop) doRespond(t *rapid.T, op respOp, c Caller, id, data string) {
	p.guardBoundary(t, c)
	code := op.call(p.h, c, id, data)
	r := p.m.respond(op, c, id, data)
	p.begin(stepInfo{kind: respKinds[op], op: respString(op.String(), c, id, data), id: id}, c, r)
	if code != r.code {
		p.fail(t, p.codeRules(p.step, code), "code", codeString(code), codeString(r.code))
	}
	if m := p.meta[id]; m != nil && op == opModify && r.code == 0 && !r.dup {
		m.modified = true
	}
	if code == 0 && c.RequestID != "" && !r.dup {
		p.addRetry(func(t *rapid.T) { p.doRespond(t, op, c, id, data) })
	}
	p.absorb(r.outs)
	p.compare(t)
}

// guardBoundary skips an operation whose request ID would be looked up at
// exactly the end of its window, where the rules leave the answer open.
func (p *prop) guardBoundary(t *rapid.T, c Caller) {
	if p.m.reqAtBoundary(c) {
		t.Skip("request ID looked up exactly at the end of its window")
	}
}

func (p *prop) retry(t *rapid.T) {
	if len(p.retries) == 0 {
		t.Skip("nothing to retry")
	}
	i := rapid.IntRange(0, len(p.retries)-1).Draw(t, "retry")
	p.retries[len(p.retries)-1-i](t)
}

func (p *prop) connect(t *rapid.T) {
	p.doConnect(t, rapid.SampledFrom(p.users).Draw(t, "user"), rapid.SampledFrom(p.sess).Draw(t, "session"))
}

func (p *prop) doConnect(t *rapid.T, user, sess string) {
	if p.dropped[sessKey{user, sess}] {
		t.Skip("the session is dropped: its device comes back with Reconnect")
	}
	code := p.h.Connect(user, sess)
	want, outs := p.m.connect(user, sess)
	p.beginStep(stepInfo{kind: stepConnect, op: fmt.Sprintf("Connect(%q, %q)", user, sess), code: want, rule: "LIM-1", sess: sessKey{user, sess}})
	if code != want {
		p.fail(t, p.codeRules(p.step, code), "code", codeString(code), codeString(want))
	}
	p.saw(sessKey{user, sess})
	p.absorb(outs)
	p.compare(t)
}

// saw adds k to the sessions whose events are read.
func (p *prop) saw(k sessKey) {
	if !slices.Contains(p.sessions, k) {
		p.sessions = append(p.sessions, k)
	}
}

func (p *prop) disconnect(t *rapid.T) {
	user := rapid.SampledFrom(p.users).Draw(t, "user")
	sess := rapid.SampledFrom(p.sess).Draw(t, "session")
	if p.dropped[sessKey{user, sess}] {
		t.Skip("the session is dropped: its device comes back with Reconnect")
	}
	delete(p.resumable, sessKey{user, sess})
	code := p.h.Disconnect(user, sess)
	want, outs := p.m.disconnect(user, sess)
	p.beginStep(stepInfo{kind: stepDisconnect, op: fmt.Sprintf("Disconnect(%q, %q)", user, sess), code: want, rule: "LIM-1"})
	if code != want {
		p.fail(t, p.codeRules(p.step, code), "code", codeString(code), codeString(want))
	}
	p.absorb(outs)
	p.compare(t)
}

func (p *prop) setGroup(t *rapid.T) {
	group := rapid.SampledFrom(p.grps).Draw(t, "group")
	p.doSetGroup(t, group, p.drawMembers(t))
}

// drawMembers draws a membership: each user in it with probability 3/4.
func (p *prop) drawMembers(t *rapid.T) []string {
	var members []string
	for _, u := range p.users {
		if rapid.IntRange(0, 3).Draw(t, "member") < 3 {
			members = append(members, u)
		}
	}
	return members
}

func (p *prop) doSetGroup(t *rapid.T, group string, members []string) {
	code := p.h.SetGroup(group, members)
	want, outs := p.m.setGroup(group, members)
	p.beginStep(stepInfo{kind: stepMembership, op: fmt.Sprintf("SetGroup(%q, %v)", group, members), code: want, rule: "LIM-1"})
	if code != want {
		p.fail(t, p.codeRules(p.step, code), "code", codeString(code), codeString(want))
	}
	p.absorb(outs)
	p.compare(t)
}

func (p *prop) joinLeave(t *rapid.T) {
	group := rapid.SampledFrom(append(append([]string{}, p.grps...), "nosuchgroup")).Draw(t, "group")
	user := rapid.SampledFrom(p.users).Draw(t, "user")
	join := rapid.Bool().Draw(t, "join")
	var code int
	var op string
	if join {
		code = p.h.JoinGroup(group, user)
		op = fmt.Sprintf("JoinGroup(%q, %q)", group, user)
	} else {
		code = p.h.LeaveGroup(group, user)
		op = fmt.Sprintf("LeaveGroup(%q, %q)", group, user)
	}
	want, outs := p.m.joinLeave(group, user, join)
	rule := "INV-2" // 10010: an unknown group
	if want == CodeInvalidParameters {
		rule = "LIM-1"
	}
	p.beginStep(stepInfo{kind: stepMembership, op: op, code: want, rule: rule})
	if code != want {
		p.fail(t, p.codeRules(p.step, code), "code", codeString(code), codeString(want))
	}
	p.absorb(outs)
	p.compare(t)
}

// landOn notes the invitations whose deadline is exactly d from now, for
// operations at exactly their deadline (which must find them closed).
func (p *prop) landOn(d time.Duration) {
	p.due = p.due[:0]
	for _, v := range p.m.sortedInvs() {
		if v.timeout > 0 && v.deadline == p.m.now+d {
			p.due = append(p.due, v.id)
		}
	}
}

func (p *prop) advance(t *rapid.T) {
	d := p.drawDuration(t, "by")
	p.landOn(d)
	p.h.Advance(d)
	outs := p.m.advance(d)
	p.beginStep(stepInfo{kind: stepAdvance, op: fmt.Sprintf("Advance(%v)", d)})
	p.absorb(outs)
	p.compare(t)
}

func (p *prop) restart(t *rapid.T) {
	d := p.drawDuration(t, "downtime")
	p.landOn(d)
	p.h.Restart(d)
	p.restarts++
	p.restartSeq = len(p.m.calls)
	outs := p.m.advance(d)
	p.beginStep(stepInfo{kind: stepRestart, op: fmt.Sprintf("Restart(%v)", d)})
	p.absorb(outs)
	p.compare(t)
}

// parse feeds ParseSignalingInfo a history message, whole or damaged.
func (p *prop) parse(t *rapid.T) {
	conv := rapid.SampledFrom(p.convs).Draw(t, "conv")
	msgs := p.h.History(conv)
	if len(msgs) == 0 {
		t.Skip("no history there")
	}
	msg := rapid.SampledFrom(msgs).Draw(t, "message")
	p.beginStep(stepInfo{kind: stepParse, op: "ParseSignalingInfo"})
	switch rapid.IntRange(0, 2).Draw(t, "damage") {
	case 1:
		msg = msg[:rapid.IntRange(0, len(msg)-1).Draw(t, "cut")]
	case 2:
		msg = []byte(strings.Replace(string(msg), `"businessID":1`, `"businessID":7`, 1))
	}
	want, wantOK := parseEnvelope(msg)
	got, ok := p.raw.ParseSignalingInfo(msg)
	if ok != wantOK || (ok && !sameEnvelopes([]Envelope{got}, []Envelope{want})) {
		p.fail(t, []string{"HIS-3"}, fmt.Sprintf("ParseSignalingInfo(%s)", short(string(msg))), fmt.Sprintf("%v ok=%v", got, ok), fmt.Sprintf("%v ok=%v", want, wantOK))
	}
}

// connectFor connects a session with an expiry (SessionResumer): of a few
// seconds mostly, so that Advance passes it.
func (p *prop) connectFor(t *rapid.T) {
	user := rapid.SampledFrom(p.users).Draw(t, "user")
	sess := rapid.SampledFrom(p.sess).Draw(t, "session")
	expiry := rapid.SampledFrom([]time.Duration{2 * time.Second, time.Second, 5 * time.Second, time.Hour}).Draw(t, "expiry")
	k := sessKey{user, sess}
	if _, s := p.m.session(user, sess); s != nil && !s.away {
		t.Skip("connected already") // ConnectFor changes nothing, not even the expiry
	}
	code := p.h.ConnectFor(user, sess, expiry)
	want, outs := p.m.connectFor(user, sess, expiry)
	p.beginStep(stepInfo{kind: stepConnect, op: fmt.Sprintf("ConnectFor(%q, %q, %v)", user, sess, expiry), code: want, rule: "REM-4", sess: k})
	if code != want {
		p.fail(t, p.codeRules(p.step, code), "code", codeString(code), codeString(want))
	}
	p.resumable[k], p.dropped[k] = true, false
	p.saw(k)
	p.absorb(outs)
	p.compare(t)
}

// drop loses the connection of a session connected with ConnectFor.
func (p *prop) drop(t *rapid.T) {
	var l []sessKey
	for _, k := range p.sessions {
		if p.resumable[k] && !p.dropped[k] {
			l = append(l, k)
		}
	}
	if len(l) == 0 {
		t.Skip("no session connected with ConnectFor")
	}
	k := rapid.SampledFrom(l).Draw(t, "dropped")
	p.h.Drop(k.user, k.session)
	outs := p.m.drop(k.user, k.session)
	p.dropped[k] = true
	p.beginStep(stepInfo{kind: stepDrop, op: fmt.Sprintf("Drop(%q, %q)", k.user, k.session), rule: "REM-4", sess: k})
	p.absorb(outs)
	p.compare(t)
}

// reconnect brings a dropped session's device back.
func (p *prop) reconnect(t *rapid.T) {
	var l []sessKey
	for _, k := range p.sessions {
		if p.dropped[k] {
			l = append(l, k)
		}
	}
	if len(l) == 0 {
		t.Skip("no session dropped")
	}
	k := rapid.SampledFrom(l).Draw(t, "back")
	resumed, code := p.h.Reconnect(k.user, k.session)
	want, wantCode, outs := p.m.reconnect(k.user, k.session)
	rule := "REM-6"
	if want {
		rule = "REM-5"
	}
	p.dropped[k] = false
	p.beginStep(stepInfo{kind: stepReconnect, op: fmt.Sprintf("Reconnect(%q, %q)", k.user, k.session), code: wantCode, rule: rule, sess: k})
	if code != wantCode {
		p.fail(t, p.codeRules(p.step, code), "code", codeString(code), codeString(wantCode))
	}
	if resumed != want {
		p.fail(t, []string{rule, "REM-4"}, "resumed", resumed, want)
	}
	p.absorb(outs)
	p.compare(t)
}

// absorb adds the model's outputs of one step to what the harness must
// show (OutputLog: the step's events, then its history, then its pushes).
func (p *prop) absorb(outs []mout) {
	for _, o := range stepOrder(outs) {
		switch o.kind {
		case OutEvent:
			k := sessKey{o.user, o.session}
			switch {
			case o.released: // held for the session while it was away
				w := p.tagEvent(p.step, o.ev)
				w.missing = rules(append([]string{"REM-5"}, w.missing...)...)
				p.events[k] = append(p.events[k], w)
			case !o.held:
				p.events[k] = append(p.events[k], p.tagEvent(p.step, o.ev))
			}
			if !o.released {
				p.outs = append(p.outs, Output{Kind: OutEvent, User: o.user, Session: o.session, Event: o.ev})
			}
		case OutHistory:
			p.hist[o.conv] = append(p.hist[o.conv], o.env)
			p.outs = append(p.outs, Output{Kind: OutHistory, Conv: o.conv, Payload: encodeEnvelope(o.env)})
			known := false
			for _, c := range p.convs {
				known = known || c == o.conv
			}
			if !known {
				p.convs = append(p.convs, o.conv)
			}
		case OutPush:
			p.pushes = append(p.pushes, o.push)
			p.outs = append(p.outs, Output{Kind: OutPush, Push: o.push})
		}
	}
}

// fail reports a difference: "RULE[,RULE...] op: what: got X, want Y",
// the rules whose check failed first.
func (p *prop) fail(t *rapid.T, rules []string, what string, got, want any) {
	t.Helper()
	t.Fatalf("%s %s: %s: got %v, want %v (reference model)\n%s", strings.Join(rules, ","), p.step.op, what, got, want, p.h.trace())
}

// compare checks everything observable against the model.
func (p *prop) compare(t *rapid.T) {
	t.Helper()
	if last := len(p.h.lines); last > 0 {
		t.Logf("%s", p.h.lines[last-1])
	}
	// Events are read after most steps; sometimes they are left to pile up,
	// so that the order of several events of one invitation is checked too.
	if rapid.IntRange(0, 3).Draw(t, "readEvents") < 3 {
		for _, k := range p.sessions {
			got := p.h.TakeEvents(k.user, k.session)
			want := p.events[k]
			delete(p.events, k)
			wantEvs := make([]Event, len(want))
			for i, w := range want {
				wantEvs[i] = w.ev
			}
			if !sameEvents(got, wantEvs) {
				p.fail(t, p.eventRules(k, got, want), fmt.Sprintf("events of %s/%s", k.user, k.session), eventsString(got), eventsString(wantEvs))
			}
		}
		for k, evs := range p.events {
			if len(evs) > 0 {
				p.fail(t, []string{p.step.rule}, fmt.Sprintf("events of never connected %s/%s (model bug)", k.user, k.session), "-", evs[0].ev)
			}
		}
		p.sinceRead = p.sinceRead[:0]
	}
	for _, c := range p.convs {
		// History only grows: the messages seen before must be there
		// unchanged, and only the new ones need decoding.
		raw := p.h.History(c)
		seen := p.seenRaw[c]
		want := p.hist[c]
		ok := len(raw) == len(want) && len(raw) >= len(seen)
		for i := 0; ok && i < len(seen); i++ {
			ok = bytes.Equal(raw[i], seen[i])
		}
		for i := len(seen); ok && i < len(raw); i++ {
			e, err := decodeEnvelope(raw[i])
			if err != nil {
				p.fail(t, []string{"HIS-2"}, fmt.Sprintf("History(%s)[%d]", c, i), fmt.Sprintf("%q (%v)", short(string(raw[i])), err), "a signaling envelope")
			}
			ok = sameEnvelopes([]Envelope{e}, want[i:i+1])
		}
		if !ok {
			got := make([]Envelope, len(raw))
			for i, b := range raw {
				got[i], _ = decodeEnvelope(b)
			}
			blame := []string{"HIS-1"} // a message seen before changed: history is only appended to
			if changed := len(raw) < len(seen) || !sameRaw(raw[:len(seen)], seen); !changed {
				blame = p.historyRules(got, want)
			} else if len(raw) >= len(seen) {
				blame = append(blame, "HIS-2") // and its payload with it
			}
			p.fail(t, blame, fmt.Sprintf("History(%s)", c), envsString(got), envsString(want))
		}
		for i := len(seen); i < len(raw); i++ {
			seen = append(seen, append([]byte(nil), raw[i]...))
		}
		p.seenRaw[c] = seen
	}
	gotPush := p.h.TakePushes()
	if len(gotPush) != len(p.pushes) || (len(gotPush) > 0 && !reflect.DeepEqual(gotPush, p.pushes)) {
		p.fail(t, p.pushRules(), "TakePushes", pushesString(gotPush), pushesString(p.pushes))
	}
	p.pushes = nil
	if ol, ok := p.raw.(OutputLog); ok {
		got := ol.TakeOutputs()
		if !sameOutputs(got, p.outs) {
			p.fail(t, []string{"DLV-2"}, "global output order (OutputLog, kernel/doc.go)", outputsString(got), outputsString(p.outs))
		}
	}
	p.outs = nil
	if ic, ok := p.raw.(InvitationCounter); ok {
		if got, want := ic.OpenInvitations(), len(p.m.invs); got != want {
			p.fail(t, []string{"LIM-2"}, "OpenInvitations()", got, fmt.Sprintf("%d %v", want, sortedKeys(p.m.invs)))
		}
	}
	p.compareLists(t)
}

// compareLists compares users' open invitations (QRY-1) and call records
// (REC-1, REC-2) with the model's, where the harness lists them, after the
// steps that can change them: an invite, answer or modify those of its
// invitation's users, a timeout or a restart everyone's; records only
// after a step that closed an invitation, or a restart. Records beyond the
// retention of the harness's Limits may be missing, the oldest first.
func (p *prop) compareLists(t *rapid.T) {
	t.Helper()
	closed := len(p.m.calls) > p.callsSeen
	p.callsSeen = len(p.m.calls)
	users := p.users
	switch p.step.kind {
	case stepConnect, stepDisconnect, stepMembership, stepParse, stepDrop, stepReconnect:
		return
	case stepAdvance:
		if !closed {
			return
		}
	case stepRestart:
		closed = true
	default:
		m := p.meta[p.step.id]
		if m == nil {
			return
		}
		users = slices.DeleteFunc(slices.Clone(users), func(u string) bool { return !m.members[u] })
	}
	if l, ok := p.raw.(OpenLister); ok {
		for _, u := range users {
			got, want := l.ListOpen(u), p.m.listOpen(u)
			if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
				p.fail(t, p.openRules(u, got, want), fmt.Sprintf("ListOpen(%q)", u), fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want))
			}
		}
	}
	if l, ok := p.raw.(RecordLister); ok && closed {
		for _, u := range users {
			got, calls := l.Records(u), p.m.records(u)
			want := make([]CallRecord, len(calls))
			for i, c := range calls {
				want[i] = c.record(u)
			}
			if kept := p.m.kept(calls); !keptRecords(got, want, kept) {
				p.fail(t, p.recordRules(u, got, want, calls, kept), fmt.Sprintf("Records(%q)", u), fmt.Sprintf("%+v", got),
					fmt.Sprintf("%+v (the first %d at least)", want, kept))
			}
		}
	}
}

func sameRaw(got, want [][]byte) bool {
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			return false
		}
	}
	return true
}

func sameOutputs(got, want []Output) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Kind != w.Kind {
			return false
		}
		switch g.Kind {
		case OutEvent:
			if g.User != w.User || g.Session != w.Session || !sameEvents([]Event{g.Event}, []Event{w.Event}) {
				return false
			}
		case OutHistory:
			ge, err1 := decodeEnvelope(g.Payload)
			we, err2 := decodeEnvelope(w.Payload)
			if err1 != nil || err2 != nil || g.Conv != w.Conv || !sameEnvelopes([]Envelope{ge}, []Envelope{we}) {
				return false
			}
		case OutPush:
			if !reflect.DeepEqual(g.Push, w.Push) {
				return false
			}
		}
	}
	return true
}

func outputsString(l []Output) string { return joined(l, "[\n        ", "\n        ") }
