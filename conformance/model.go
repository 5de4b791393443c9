package conformance

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file is the reference model: the rules of RULES.md and the decisions
// of kernel/doc.go written down as plainly as possible, independently of any
// implementation. The property test runs it side by side with the harness.

type istate int

const (
	stPending istate = iota
	stAccepted
	stRejected
	stTimedOut
	stCancelled
)

// minv is an open invitation of the model. Closed invitations are dropped
// at once (LIM-2): later operations on them get 8010 as if unknown, and
// their invite ID is free again.
type minv struct {
	id, inviter, group string
	invitees           []string
	states             []istate
	data               string
	onlineOnly         bool
	unreached          []bool // online-only invitees offline at invite time: they hear nothing of it (ONL-1)
	timeout            int
	deadline           time.Duration // creation + timeout; meaningful when timeout > 0
	seq                int64         // creation order
}

func (v *minv) index(user string) int {
	for i, u := range v.invitees {
		if u == user {
			return i
		}
	}
	return -1
}

func (v *minv) open() bool {
	for _, s := range v.states {
		if s == stPending {
			return true
		}
	}
	return false
}

// participants are the users that hear of the invitation's events: the
// inviter and every invitee it reached.
func (v *minv) participants() []string {
	users := []string{v.inviter}
	for i, u := range v.invitees {
		if !v.unreached[i] {
			users = append(users, u)
		}
	}
	return users
}

// mout is one output of the model, in the order of kernel/doc.go.
type mout struct {
	kind    OutputKind
	user    string
	session string
	ev      Event
	// held: an event for a session whose connection is lost, in the
	// global order where it happened, delivered only if the session
	// resumes; released: such an event delivered at the resume, not a new
	// output (REM-5).
	held, released bool
	conv           Conversation
	env            Envelope
	push           PushRequest
}

// stepOrder returns the outputs of one step (an operation and the timeouts
// it let fire) in the order of a kernel.Step: its events, then its
// history, then its pushes, each kind in the order produced.
func stepOrder(outs []mout) []mout {
	return slices.SortedStableFunc(slices.Values(outs), func(a, b mout) int { return int(a.kind) - int(b.kind) })
}

// mres is the model's answer to one operation.
type mres struct {
	inviteID string
	code     int
	dup      bool   // answered from the request-ID memory (IDM-1)
	badID    string // why the ID the implementation drew is unusable, if it is
	rule     string // the rule that decided the answer
	outs     []mout
}

type reqEntry struct {
	user, req, inviteID string
	call                string // the operation and its arguments (IDM-2)
	at                  time.Duration
}

type model struct {
	lim      Limits
	now      time.Duration
	seq      int64
	invs     map[string]*minv
	groups   map[string]map[string]bool
	sessions map[string][]*msess       // user -> sessions, in connection order (model_sessions.go)
	asked    map[sessKey]time.Duration // the expiry each device asked for last (ConnectFor)
	reqs     []reqEntry                // remembered request IDs, oldest first
	calls    []mcall                   // every closed invitation that is not online-only, in close order (REC-1)
}

func newModel(lim Limits) *model {
	return &model{lim: lim, invs: map[string]*minv{}, groups: map[string]map[string]bool{}, sessions: map[string][]*msess{},
		asked: map[sessKey]time.Duration{}}
}

// validID: non-empty, at most max bytes, valid UTF-8, no control characters.
func validID(s string, max int) bool {
	if s == "" || len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func (m *model) id(s string) bool { return validID(s, m.lim.MaxIDBytes) }

func (m *model) callerOK(c Caller) bool {
	return m.id(c.User) && (c.Session == "" || m.id(c.Session)) && (c.RequestID == "" || m.id(c.RequestID))
}

func (m *model) conv(v *minv) Conversation {
	if v.group != "" {
		return GroupConv(v.group)
	}
	return C2C(v.inviter, v.invitees[0])
}

func (m *model) history(v *minv, action int, invitees []string, data string) []mout {
	if v.onlineOnly {
		return nil
	}
	return []mout{{kind: OutHistory, conv: m.conv(v), env: Envelope{
		BusinessID: 1, InviteID: v.id, GroupID: v.group, Inviter: v.inviter,
		InviteeList: append([]string{}, invitees...), Data: data, Timeout: v.timeout,
		ActionType: action, OnlineUserOnly: v.onlineOnly,
	}}}
}

func (m *model) closeIfDone(v *minv) {
	if v.open() {
		return
	}
	delete(m.invs, v.id)
	if !v.onlineOnly { // ONL-2: no record
		m.calls = append(m.calls, mcall{v: v, closed: m.now, seq: len(m.calls) + 1})
	}
}

// sortedInvs returns the open invitations in creation order.
func (m *model) sortedInvs() []*minv {
	l := make([]*minv, 0, len(m.invs))
	for _, v := range m.invs {
		l = append(l, v)
	}
	sort.Slice(l, func(i, j int) bool { return l[i].seq < l[j].seq })
	return l
}

// advance moves time by d and fires every timeout due (TMO-1, TMO-2),
// then ends the sessions whose expiry passed (REM-4).
func (m *model) advance(d time.Duration) []mout {
	if d > 0 {
		m.now += d
	}
	return m.fire()
}

func (m *model) fire() []mout {
	var due []*minv
	for _, v := range m.invs {
		if v.timeout > 0 && v.deadline <= m.now {
			due = append(due, v)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if due[i].deadline != due[j].deadline {
			return due[i].deadline < due[j].deadline
		}
		return due[i].seq < due[j].seq
	})
	var outs []mout
	for _, v := range due {
		var timedOut []string
		for i, s := range v.states {
			if s == stPending {
				v.states[i] = stTimedOut
				timedOut = append(timedOut, v.invitees[i])
			}
		}
		outs = append(outs, m.toUsers([]string{v.inviter}, Event{Type: EventTimeout, InviteID: v.id, Invitees: timedOut})...)
		for _, u := range timedOut {
			if !v.unreached[v.index(u)] {
				outs = append(outs, m.toUsers([]string{u}, Event{Type: EventTimeout, InviteID: v.id, Invitees: []string{u}})...)
			}
		}
		outs = append(outs, m.history(v, ActionTimeout, timedOut, "")...) // a timeout carries no data
		m.closeIfDone(v)
	}
	m.expireSessions()
	return outs
}

// Request-ID memory (IDM-1, LIM-2): an entry is remembered while
// now < at + RequestIDWindow, and only the newest MaxRequestIDs entries.
func (m *model) expireReqs() {
	if m.lim.RequestIDWindow <= 0 {
		return
	}
	i := 0
	for i < len(m.reqs) && m.reqs[i].at+m.lim.RequestIDWindow <= m.now {
		i++
	}
	m.reqs = m.reqs[i:]
}

// recall answers a call c makes with a request ID it used before: the first
// result for the same call (IDM-1), 6017 for another (IDM-2). call is the
// operation and its arguments, as callString writes them.
//
// An invite's chosen invite ID is not in call: an invite that chooses one
// is the same call only if it chose the ID the first call took; one that
// chooses none may retry one that did (kernel/doc.go).
func (m *model) recall(c Caller, call, chosenID string) (mres, bool) {
	if c.RequestID == "" {
		return mres{}, false
	}
	m.expireReqs()
	for _, e := range m.reqs {
		if e.user == c.User && e.req == c.RequestID {
			if e.call != call || (chosenID != "" && chosenID != e.inviteID) {
				return fail(CodeInvalidParameters, "IDM-2"), true
			}
			return mres{inviteID: e.inviteID, dup: true, rule: "IDM-1"}, true
		}
	}
	return mres{}, false
}

// callString is a call's operation and arguments: what makes two calls
// with one request ID the same call (IDM-2). Who acts (user, session) and
// the request ID are not arguments.
func callString(op string, args any) string { return fmt.Sprintf("%s%#v", op, args) }

// reqAtBoundary tells whether a request ID of c is remembered until exactly
// now, where the rules leave open whether it is still remembered.
func (m *model) reqAtBoundary(c Caller) bool {
	if c.RequestID == "" || m.lim.RequestIDWindow <= 0 {
		return false
	}
	for _, e := range m.reqs {
		if e.user == c.User && e.req == c.RequestID && e.at+m.lim.RequestIDWindow == m.now {
			return true
		}
	}
	return false
}

func (m *model) remember(c Caller, call, inviteID string) {
	if c.RequestID == "" {
		return
	}
	m.reqs = append(m.reqs, reqEntry{user: c.User, req: c.RequestID, call: call, inviteID: inviteID, at: m.now})
	if m.lim.MaxRequestIDs > 0 && len(m.reqs) > m.lim.MaxRequestIDs {
		m.reqs = m.reqs[len(m.reqs)-m.lim.MaxRequestIDs:]
	}
}

func (m *model) openBy(user string) int {
	n := 0
	for _, v := range m.invs {
		if v.inviter == user {
			n++
		}
	}
	return n
}

func fail(code int, rule string) mres { return mres{code: code, rule: rule} }

// invite is a 1:1 invite. gen draws the invite ID when the caller chose
// none; it is called only if the invite succeeds.
func (m *model) invite(c Caller, a InviteArgs, gen func() string) mres {
	outs := m.fire()
	args := inviteCall{a: a}
	args.a.InviteID = ""
	if a.Push != nil {
		args.a.Push, args.hasPush, args.push = nil, true, *a.Push
	}
	call := callString("Invite", args)
	if r, ok := m.recall(c, call, a.InviteID); ok {
		r.outs = outs
		return r
	}
	r := m.invite1(c, a, gen)
	if r.code == 0 && r.badID == "" {
		m.remember(c, call, r.inviteID)
	}
	r.outs = append(outs, r.outs...)
	return r
}

// inviteCall is a 1:1 invite's arguments with the push info itself in
// place of its pointer.
type inviteCall struct {
	a       InviteArgs
	hasPush bool
	push    PushInfo
}

func (m *model) invite1(c Caller, a InviteArgs, gen func() string) mres {
	switch {
	case !m.callerOK(c), !m.id(a.Invitee), a.Invitee == c.User:
		return fail(CodeInvalidParameters, "INV-1")
	case a.InviteID != "" && !validID(a.InviteID, MaxInviteIDBytes):
		return fail(CodeInvalidParameters, "INV-6")
	case a.Timeout < 0, a.Timeout > m.lim.MaxTimeoutSeconds:
		return fail(CodeInvalidParameters, "INV-3")
	case a.Push != nil && a.Push.Desc == "":
		return fail(CodeInvalidParameters, "INV-4")
	case a.Push != nil && a.OnlineUserOnly:
		return fail(CodeInvalidParameters, "INV-7")
	case a.Push != nil && m.lim.MaxPushBytes > 0 && len(a.Push.Title+a.Push.Desc+a.Push.Ext+a.Push.Sound) > m.lim.MaxPushBytes:
		return fail(CodeBodySizeLimit, "INV-7")
	case a.Push != nil && !utf8.ValidString(a.Push.Title+a.Push.Desc+a.Push.Ext+a.Push.Sound):
		return fail(CodeInvalidParameters, "INV-7")
	case len(a.Data) > m.lim.MaxDataBytes:
		return fail(CodeBodySizeLimit, "INV-4")
	case !utf8.ValidString(a.Data):
		return fail(CodeInvalidParameters, "HIS-2")
	case m.openBy(c.User) >= m.lim.MaxOpenPerInviter:
		return fail(CodeInvalidParameters, "LIM-1")
	case a.InviteID != "" && m.invs[a.InviteID] != nil:
		return fail(CodeAlreadyExists, "INV-6")
	}
	return m.create(c, a.InviteID, gen, "", []string{a.Invitee}, a.Data, a.OnlineUserOnly, a.Timeout, a.Push)
}

func (m *model) inviteInGroup(c Caller, a GroupInviteArgs, gen func() string) mres {
	outs := m.fire()
	args := a
	args.InviteID = ""
	call := callString("InviteInGroup", args)
	if r, ok := m.recall(c, call, a.InviteID); ok {
		r.outs = outs
		return r
	}
	r := m.inviteInGroup1(c, a, gen)
	if r.code == 0 && r.badID == "" {
		m.remember(c, call, r.inviteID)
	}
	r.outs = append(outs, r.outs...)
	return r
}

func (m *model) inviteInGroup1(c Caller, a GroupInviteArgs, gen func() string) mres {
	if !m.callerOK(c) || (a.InviteID != "" && !validID(a.InviteID, MaxInviteIDBytes)) || !m.id(a.Group) ||
		len(a.Invitees) == 0 {
		return fail(CodeInvalidParameters, "INV-2")
	}
	if len(a.Invitees) > m.lim.MaxInvitees {
		return fail(CodeInvalidParameters, "INV-4")
	}
	seen := map[string]bool{}
	for _, u := range a.Invitees {
		if !m.id(u) || seen[u] || u == c.User {
			return fail(CodeInvalidParameters, "INV-2")
		}
		seen[u] = true
	}
	if a.Timeout < 0 || a.Timeout > m.lim.MaxTimeoutSeconds {
		return fail(CodeInvalidParameters, "INV-3")
	}
	if a.Push != nil {
		return fail(CodeInvalidParameters, "INV-2")
	}
	if len(a.Data) > m.lim.MaxDataBytes {
		return fail(CodeBodySizeLimit, "INV-4")
	}
	if !utf8.ValidString(a.Data) {
		return fail(CodeInvalidParameters, "HIS-2")
	}
	members, ok := m.groups[a.Group]
	if !ok {
		return fail(CodeGroupNotFound, "INV-2")
	}
	if !members[c.User] {
		return fail(CodeNotGroupMember, "INV-2")
	}
	for _, u := range a.Invitees {
		if !members[u] {
			return fail(CodeInvalidParameters, "INV-2")
		}
	}
	if m.openBy(c.User) >= m.lim.MaxOpenPerInviter {
		return fail(CodeInvalidParameters, "LIM-1")
	}
	if a.InviteID != "" && m.invs[a.InviteID] != nil {
		return fail(CodeAlreadyExists, "INV-6")
	}
	return m.create(c, a.InviteID, gen, a.Group, a.Invitees, a.Data, a.OnlineUserOnly, a.Timeout, nil)
}

func (m *model) create(c Caller, id string, gen func() string, group string, invitees []string, data string, onlineOnly bool, timeout int, push *PushInfo) mres {
	r := mres{rule: "INV-1"}
	if id == "" {
		id = gen()
		switch {
		case id == "":
			r.badID = "the drawn invite ID is empty"
		case len(id) > MaxInviteIDBytes:
			r.badID = "the drawn invite ID is longer than 127 bytes"
		case m.invs[id] != nil:
			r.badID = "the drawn invite ID is that of an open invitation"
		}
		if r.badID != "" {
			r.inviteID = id
			return r
		}
	}
	m.seq++
	v := &minv{id: id, inviter: c.User, group: group, invitees: append([]string{}, invitees...),
		states: make([]istate, len(invitees)), data: data, onlineOnly: onlineOnly, timeout: timeout,
		deadline: m.now + time.Duration(timeout)*time.Second, seq: m.seq}
	v.unreached = make([]bool, len(invitees))
	for i, u := range invitees {
		v.unreached[i] = onlineOnly && !m.online(u)
	}
	m.invs[id] = v
	r.inviteID = id
	for _, u := range v.invitees {
		r.outs = append(r.outs, m.toUsers([]string{u}, Event{Type: EventNewInvitation, InviteID: id, Inviter: c.User,
			GroupID: group, Invitees: append([]string{}, invitees...), Data: data})...)
	}
	r.outs = append(r.outs, m.history(v, ActionInvite, v.invitees, data)...)
	if group == "" && push != nil && !onlineOnly && !m.reachable(invitees[0]) {
		r.outs = append(r.outs, mout{kind: OutPush, push: PushRequest{To: invitees[0], InviteID: id, Inviter: c.User, Data: data, Info: *push}})
	}
	return r
}

type respOp int

const (
	opCancel respOp = iota
	opAccept
	opReject
	opModify
)

var respNames = [...]string{"Cancel", "Accept", "Reject", "Modify"}

func (o respOp) String() string { return respNames[o] }

// call runs the operation o on h and returns its code.
func (o respOp) call(h Harness, c Caller, id, data string) int {
	switch o {
	case opCancel:
		return h.Cancel(c, id, data)
	case opAccept:
		return h.Accept(c, id, data)
	case opReject:
		return h.Reject(c, id, data)
	default:
		return h.Modify(c, id, data)
	}
}

// respond is cancel, accept, reject or modify.
func (m *model) respond(op respOp, c Caller, id, data string) mres {
	outs := m.fire()
	call := callString(op.String(), [2]string{id, data})
	if r, ok := m.recall(c, call, ""); ok {
		r.outs = outs
		return r
	}
	r := m.respond1(op, c, id, data)
	if r.code == 0 {
		m.remember(c, call, r.inviteID)
	}
	r.outs = append(outs, r.outs...)
	return r
}

func (m *model) respond1(op respOp, c Caller, id, data string) mres {
	rules := [...][3]string{opCancel: {"CAN-2", "CAN-1", "CAN-3"}, opAccept: {"ACC-2", "ACC-1", "ACC-3"},
		opReject: {"REJ-2", "REJ-1", "REJ-3"}, opModify: {"MOD-2", "MOD-2", "MOD-3"}}[op]
	if !m.callerOK(c) || !validID(id, MaxInviteIDBytes) {
		return fail(CodeInvalidParameters, "LIM-1")
	}
	if len(data) > m.lim.MaxDataBytes {
		return fail(CodeBodySizeLimit, "LIM-1")
	}
	if !utf8.ValidString(data) {
		return fail(CodeInvalidParameters, "HIS-2")
	}
	v := m.invs[id]
	if v == nil {
		return fail(CodeInvalidInviteID, rules[0])
	}
	idx := v.index(c.User)
	r := mres{inviteID: id, rule: rules[2]}
	switch op {
	case opCancel:
		if c.User != v.inviter {
			if idx >= 0 {
				return fail(CodeNoPermission, rules[1])
			}
			return fail(CodeInvalidInviteID, rules[1])
		}
		for i, s := range v.states {
			if s == stPending {
				v.states[i] = stCancelled
			}
		}
		r.outs = m.toUsers(v.participants(), Event{Type: EventCancelled, InviteID: id, Inviter: v.inviter, Data: data})
		r.outs = append(r.outs, m.history(v, ActionCancel, v.invitees, data)...)
	case opAccept, opReject:
		if idx < 0 {
			return fail(CodeInvalidInviteID, rules[1])
		}
		if v.states[idx] != stPending {
			return fail(CodeInvalidInviteID, rules[0])
		}
		typ, st, action := EventAccepted, stAccepted, ActionAccept
		if op == opReject {
			typ, st, action = EventRejected, stRejected, ActionReject
		}
		v.states[idx] = st
		r.outs = m.toUsers(v.participants(), Event{Type: typ, InviteID: id, Invitee: c.User, Data: data})
		r.outs = append(r.outs, m.history(v, action, []string{c.User}, data)...)
	case opModify:
		if c.User != v.inviter && idx < 0 {
			return fail(CodeInvalidInviteID, rules[1])
		}
		if v.onlineOnly {
			return fail(CodeNoPermission, "ONL-3")
		}
		v.data = data
		r.outs = m.toUsers(v.participants(), Event{Type: EventModified, InviteID: id, Data: data})
		r.outs = append(r.outs, m.history(v, ActionModify, v.invitees, data)...)
	}
	m.closeIfDone(v)
	return r
}

func (m *model) setGroup(group string, members []string) (int, []mout) {
	outs := m.fire()
	if !m.id(group) {
		return CodeInvalidParameters, outs
	}
	set := map[string]bool{}
	for _, u := range members {
		if !m.id(u) || set[u] {
			return CodeInvalidParameters, outs
		}
		set[u] = true
	}
	m.groups[group] = set
	return 0, outs
}

func (m *model) joinLeave(group, user string, join bool) (int, []mout) {
	outs := m.fire()
	if !m.id(group) || !m.id(user) {
		return CodeInvalidParameters, outs
	}
	g, ok := m.groups[group]
	if !ok {
		return CodeGroupNotFound, outs
	}
	if join {
		g[user] = true
	} else {
		delete(g, user)
	}
	return 0, outs
}

// canRead is who may read a conversation's history (HIS-4): the two users
// of a 1:1 conversation, the current members of a group.
func (m *model) canRead(user string, conv Conversation) int {
	switch {
	case !m.id(user):
		return CodeInvalidParameters
	case conv.Group == "" && user != conv.A && user != conv.B:
		return CodeInvalidParameters
	case conv.Group == "":
		return 0
	case m.groups[conv.Group] == nil:
		return CodeGroupNotFound
	case !m.groups[conv.Group][user]:
		return CodeNotGroupMember
	}
	return 0
}

// What a user can look up (QRY-1, REC-1, REC-2).

var stateNames = [...]string{stPending: "pending", stAccepted: "accepted", stRejected: "rejected", stTimedOut: "timed_out", stCancelled: "cancelled"}

func (v *minv) stateNames() []string {
	l := make([]string, len(v.states))
	for i, s := range v.states {
		l[i] = stateNames[s]
	}
	return l
}

// listOpen returns the open invitations user made, and those pending for
// it that reached it (ONL-1), in creation order (QRY-1).
func (m *model) listOpen(user string) []OpenInvitation {
	var l []OpenInvitation
	for _, v := range m.sortedInvs() {
		i := v.index(user)
		incoming := i >= 0 && v.states[i] == stPending && !v.unreached[i]
		if v.inviter == user || incoming {
			l = append(l, OpenInvitation{InviteID: v.id, Inviter: v.inviter, Group: v.group, Invitees: slices.Clone(v.invitees),
				States: v.stateNames(), Data: v.data, Timeout: v.timeout, Incoming: incoming})
		}
	}
	return l
}

// mcall is a closed invitation as its participants' call records tell it.
type mcall struct {
	v      *minv // as it closed
	closed time.Duration
	seq    int // close order, from 1
}

// outcome is what the call was for user (REC-1); ok is false for a user
// who took no part in it.
func (c mcall) outcome(user string) (outcome string, ok bool) {
	if user == c.v.inviter {
		rejected := 0
		for _, s := range c.v.states {
			switch s {
			case stCancelled:
				return "cancelled", true
			case stAccepted:
				outcome = "answered"
			case stRejected:
				rejected++
			}
		}
		switch {
		case outcome != "":
			return outcome, true
		case rejected == len(c.v.states):
			return "declined", true
		}
		return "unanswered", true
	}
	if i := c.v.index(user); i >= 0 {
		return [...]string{stAccepted: "accepted", stRejected: "rejected", stTimedOut: "missed", stCancelled: "cancelled"}[c.v.states[i]], true
	}
	return "", false
}

// records returns user's calls, newest first: by close time, ties by
// invite ID, then the later closed first (REC-2).
func (m *model) records(user string) []mcall {
	var l []mcall
	for _, c := range m.calls {
		if _, ok := c.outcome(user); ok {
			l = append(l, c)
		}
	}
	slices.SortFunc(l, func(a, b mcall) int {
		switch {
		case a.closed != b.closed:
			return cmp.Compare(b.closed, a.closed)
		case a.v.id != b.v.id:
			return strings.Compare(a.v.id, b.v.id)
		}
		return b.seq - a.seq
	})
	return l
}

// record is user's call record of c.
func (c mcall) record(user string) CallRecord {
	o, _ := c.outcome(user)
	return CallRecord{InviteID: c.v.id, Inviter: c.v.inviter, Group: c.v.group, Invitees: slices.Clone(c.v.invitees),
		States: c.v.stateNames(), Outcome: o}
}

// kept is how many of user's newest records (records(user)) an
// implementation must still list: those within the retention of its
// Limits (RecordsPerUser, RecordMaxAge).
func (m *model) kept(recs []mcall) int {
	n := len(recs)
	if m.lim.RecordsPerUser > 0 {
		n = min(n, m.lim.RecordsPerUser)
	}
	if m.lim.RecordMaxAge > 0 {
		for i, c := range recs[:n] {
			if c.closed < m.now-m.lim.RecordMaxAge {
				return i
			}
		}
	}
	return n
}
