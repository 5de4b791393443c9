package conformance

import (
	"encoding/json"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// Mutants: deliberately broken harnesses, each wrapping a correct
// implementation and breaking one rule the way a careless implementation
// would. The suite must fail on each, naming the rule.

// tinv is what a mutant knows of an invitation from watching the calls.
type tinv struct {
	id, inviter, group string
	invitees           []string
	answered           map[string]bool
	data               string
	onlineOnly         bool
	timeout            int
	created            time.Duration
	cancelled, closed  bool
}

func (v *tinv) isInvitee(u string) bool {
	for _, x := range v.invitees {
		if x == u {
			return true
		}
	}
	return false
}

func (v *tinv) participant(u string) bool { return u == v.inviter || v.isInvitee(u) }

func (v *tinv) allAnswered() bool { return len(v.answered) == len(v.invitees) }

// tracked passes every call to the correct implementation and keeps track
// of invitations, sessions, groups and time, for the mutants built on it.
type tracked struct {
	Harness
	invs      map[string]*tinv
	sessions  []sessKey
	connected map[sessKey]bool
	dropped   map[sessKey]bool // SessionResumer: dropped and not back yet
	members   map[string]map[string]bool
	now       time.Duration
}

func track(h Harness) *tracked {
	return &tracked{Harness: h, invs: map[string]*tinv{}, connected: map[sessKey]bool{}, dropped: map[sessKey]bool{},
		members: map[string]map[string]bool{}}
}

func (t *tracked) online(u string) bool {
	for k, on := range t.connected {
		if on && k.user == u {
			return true
		}
	}
	return false
}

func (t *tracked) Invite(c Caller, a InviteArgs) (string, int) {
	id, code := t.Harness.Invite(c, a)
	if code == 0 && (t.invs[id] == nil || t.invs[id].closed) {
		t.invs[id] = &tinv{id: id, inviter: c.User, invitees: []string{a.Invitee}, answered: map[string]bool{},
			data: a.Data, onlineOnly: a.OnlineUserOnly, timeout: a.Timeout, created: t.now}
	}
	return id, code
}

func (t *tracked) InviteInGroup(c Caller, a GroupInviteArgs) (string, int) {
	id, code := t.Harness.InviteInGroup(c, a)
	if code == 0 && (t.invs[id] == nil || t.invs[id].closed) {
		t.invs[id] = &tinv{id: id, inviter: c.User, group: a.Group, invitees: append([]string{}, a.Invitees...),
			answered: map[string]bool{}, data: a.Data, onlineOnly: a.OnlineUserOnly, timeout: a.Timeout, created: t.now}
	}
	return id, code
}

func (t *tracked) Cancel(c Caller, id, data string) int {
	code := t.Harness.Cancel(c, id, data)
	if v := t.invs[id]; code == 0 && v != nil && !v.closed {
		v.cancelled, v.closed = true, true
	}
	return code
}

func (t *tracked) answer(c Caller, id string, code int) {
	if v := t.invs[id]; code == 0 && v != nil && !v.closed && v.isInvitee(c.User) {
		v.answered[c.User] = true
		v.closed = v.allAnswered()
	}
}

func (t *tracked) Accept(c Caller, id, data string) int {
	code := t.Harness.Accept(c, id, data)
	t.answer(c, id, code)
	return code
}

func (t *tracked) Reject(c Caller, id, data string) int {
	code := t.Harness.Reject(c, id, data)
	t.answer(c, id, code)
	return code
}

func (t *tracked) Modify(c Caller, id, data string) int {
	code := t.Harness.Modify(c, id, data)
	if v := t.invs[id]; code == 0 && v != nil {
		v.data = data
	}
	return code
}

func (t *tracked) Connect(user, session string) int {
	code := t.Harness.Connect(user, session)
	k := sessKey{user, session}
	if code == 0 {
		if _, ok := t.connected[k]; !ok {
			t.sessions = append(t.sessions, k)
		}
		t.connected[k] = true
	}
	return code
}

func (t *tracked) Disconnect(user, session string) int {
	code := t.Harness.Disconnect(user, session)
	if code == 0 {
		t.connected[sessKey{user, session}] = false
	}
	return code
}

func (t *tracked) SetGroup(group string, members []string) int {
	code := t.Harness.SetGroup(group, members)
	if code == 0 {
		t.members[group] = map[string]bool{}
		for _, u := range members {
			t.members[group][u] = true
		}
	}
	return code
}

func (t *tracked) JoinGroup(group, user string) int {
	code := t.Harness.JoinGroup(group, user)
	if code == 0 {
		t.members[group][user] = true
	}
	return code
}

func (t *tracked) LeaveGroup(group, user string) int {
	code := t.Harness.LeaveGroup(group, user)
	if code == 0 {
		delete(t.members[group], user)
	}
	return code
}

func (t *tracked) tick(d time.Duration) {
	t.now += d
	for _, v := range t.invs {
		if !v.closed && v.timeout > 0 && v.created+sec(v.timeout) <= t.now {
			v.closed = true
		}
	}
}

func (t *tracked) Advance(d time.Duration) {
	t.Harness.Advance(d)
	t.tick(d)
}

func (t *tracked) Restart(d time.Duration) {
	t.Harness.(Restarter).Restart(d)
	t.tick(d)
}

// ReadHistory forwards to the base, which every mutant base has (HIS-4).
func (t *tracked) ReadHistory(user string, conv Conversation) ([][]byte, int) {
	return t.Harness.(HistoryReader).ReadHistory(user, conv)
}

// --- the mutants ---

// CAN-2: cancel allowed after every invitee responded.
type mCancelAnswered struct{ *tracked }

func (m mCancelAnswered) Cancel(c Caller, id, data string) int {
	code := m.tracked.Cancel(c, id, data)
	if v := m.invs[id]; code == CodeInvalidInviteID && v != nil && v.inviter == c.User && !v.cancelled && v.allAnswered() {
		return 0
	}
	return code
}

// ACC-1: accept by the inviter answered 8011 (a role error) instead of 8010.
type mAcceptByInviter struct{ *tracked }

func (m mAcceptByInviter) Accept(c Caller, id, data string) int {
	code := m.tracked.Accept(c, id, data)
	if v := m.invs[id]; code == CodeInvalidInviteID && v != nil && !v.closed && v.inviter == c.User {
		return CodeNoPermission
	}
	return code
}

// REJ-1: reject by the inviter allowed (it does nothing, but says success).
type mRejectByInviter struct{ *tracked }

func (m mRejectByInviter) Reject(c Caller, id, data string) int {
	code := m.tracked.Reject(c, id, data)
	if v := m.invs[id]; code == CodeInvalidInviteID && v != nil && !v.closed && v.inviter == c.User {
		return 0
	}
	return code
}

// ONL-3: modify of an online-only invitation allowed.
type mModifyOnlineOnly struct{ *tracked }

func (m mModifyOnlineOnly) Modify(c Caller, id, data string) int {
	code := m.tracked.Modify(c, id, data)
	if code == CodeNoPermission {
		return 0
	}
	return code
}

// twistedTimeout is a mutant base that gives the correct implementation
// another timeout than the one asked for (twist says which, from the
// maximum and the asked one) and hides that in history. Each message is
// rewritten when first read, so that a later invitation with the same
// invite ID is told apart.
type twistedTimeout struct {
	*tracked
	twist func(max, asked int) int
	asked map[string]int // twisted invitations: the timeout asked for
	seen  map[Conversation][][]byte
}

func twisted(h Harness, twist func(max, asked int) int) *twistedTimeout {
	return &twistedTimeout{tracked: track(h), twist: twist, asked: map[string]int{}, seen: map[Conversation][][]byte{}}
}

func (m *twistedTimeout) timeout(asked int) int {
	if max := m.Limits().MaxTimeoutSeconds; asked >= 0 && asked <= max {
		return m.twist(max, asked)
	}
	return asked
}

func (m *twistedTimeout) note(id string, code, asked, given int) {
	switch {
	case code != 0:
	case asked != given:
		m.asked[id] = asked
	default:
		delete(m.asked, id)
	}
}

func (m *twistedTimeout) Invite(c Caller, a InviteArgs) (string, int) {
	asked := a.Timeout
	a.Timeout = m.timeout(asked)
	id, code := m.tracked.Invite(c, a)
	m.note(id, code, asked, a.Timeout)
	return id, code
}

func (m *twistedTimeout) InviteInGroup(c Caller, a GroupInviteArgs) (string, int) {
	asked := a.Timeout
	a.Timeout = m.timeout(asked)
	id, code := m.tracked.InviteInGroup(c, a)
	m.note(id, code, asked, a.Timeout)
	return id, code
}

func (m *twistedTimeout) History(conv Conversation) [][]byte {
	raw := m.tracked.History(conv)
	seen := m.seen[conv]
	if len(raw) < len(seen) {
		seen = nil
	}
	out := append(seen[:len(seen):len(seen)], rewriteHistory(raw[len(seen):], func(e map[string]any) {
		if t, ok := m.asked[e["inviteID"].(string)]; ok {
			e["timeout"] = t
		}
	})...)
	m.seen[conv] = out
	return out
}

// TMO-1: the timeout fires a second late (deadline compared with > instead of >=).
func timeoutLate(max, t int) int {
	if t > 0 && t < max {
		return t + 1
	}
	return t
}

// TMO-1: timeouts longer than an hour never fire (a timer wheel that spans
// an hour only, say).
func longTimeoutIgnored(_, t int) int {
	if t > 3600 {
		return 0
	}
	return t
}

// TMO-3: timeout 0 read as "the longest timeout".
func timeoutZeroLongest(max, t int) int {
	if t == 0 {
		return max
	}
	return t
}

func rewriteHistory(msgs [][]byte, f func(map[string]any)) [][]byte {
	out := make([][]byte, len(msgs))
	for i, b := range msgs {
		var e map[string]any
		if json.Unmarshal(b, &e) != nil {
			out[i] = b
			continue
		}
		f(e)
		out[i], _ = json.Marshal(e)
	}
	return out
}

// TMO-1: the timeout fires only after its deadline (compared with < instead
// of <=): when time lands exactly on a deadline, the inner clock is held a
// nanosecond back until time moves again.
type mTimeoutAfterDeadline struct {
	*tracked
	lag time.Duration
}

func (m *mTimeoutAfterDeadline) move(d time.Duration, by func(time.Duration)) {
	lag := time.Duration(0)
	for _, v := range m.invs {
		if !v.closed && v.timeout > 0 && v.created+sec(v.timeout) == m.now+d {
			lag = time.Nanosecond
		}
	}
	by(d + m.lag - lag)
	m.lag = lag
	m.tick(d)
}

func (m *mTimeoutAfterDeadline) Advance(d time.Duration) { m.move(d, m.tracked.Harness.Advance) }

func (m *mTimeoutAfterDeadline) Restart(d time.Duration) {
	m.move(d, m.tracked.Harness.(Restarter).Restart)
}

// TMO-2: the inviter's timeout list includes invitees who already answered.
type mTimeoutListAll struct{ *tracked }

func (m mTimeoutListAll) TakeEvents(user, session string) []Event {
	evs := m.tracked.TakeEvents(user, session)
	for i, e := range evs {
		if v := m.invs[e.InviteID]; e.Type == EventTimeout && v != nil && v.inviter == user {
			evs[i].Invitees = append([]string{}, v.invitees...)
		}
	}
	return evs
}

// ONL-2: history written for online-only invitations.
type mHistoryOnlineOnly struct {
	*tracked
	extra map[Conversation][][]byte
}

func (m *mHistoryOnlineOnly) Invite(c Caller, a InviteArgs) (string, int) {
	id, code := m.tracked.Invite(c, a)
	if code == 0 && a.OnlineUserOnly {
		conv := C2C(c.User, a.Invitee)
		m.extra[conv] = append(m.extra[conv], encodeEnvelope(Envelope{BusinessID: 1, InviteID: id, Inviter: c.User,
			InviteeList: []string{a.Invitee}, Data: a.Data, Timeout: a.Timeout, ActionType: ActionInvite, OnlineUserOnly: true}))
	}
	return id, code
}

func (m *mHistoryOnlineOnly) History(conv Conversation) [][]byte {
	return append(append([][]byte{}, m.tracked.History(conv)...), m.extra[conv]...)
}

// extraEvents is a mutant base that can hand sessions events of its own.
type extraEvents struct {
	*tracked
	extra map[sessKey][]Event
}

func (m *extraEvents) TakeEvents(user, session string) []Event {
	k := sessKey{user, session}
	evs := append(m.tracked.TakeEvents(user, session), m.extra[k]...)
	delete(m.extra, k)
	return evs
}

// SYN-1: a cancelled invitation is re-delivered on reconnect.
type mRedeliverCancelled struct{ *extraEvents }

func (m mRedeliverCancelled) Connect(user, session string) int {
	was := m.connected[sessKey{user, session}]
	code := m.extraEvents.Connect(user, session)
	if code == 0 && !was {
		for _, v := range m.invs {
			if v.cancelled && !v.onlineOnly && v.isInvitee(user) {
				k := sessKey{user, session}
				m.extra[k] = append(m.extra[k], evNew(v.id, v.inviter, v.group, v.invitees, v.data))
			}
		}
	}
	return code
}

// ONL-1: an online-only invitation is delivered when the invitee comes online.
type mRedeliverOnlineOnly struct{ *extraEvents }

func (m mRedeliverOnlineOnly) Connect(user, session string) int {
	was := m.connected[sessKey{user, session}]
	code := m.extraEvents.Connect(user, session)
	if code == 0 && !was {
		for _, v := range m.invs {
			if v.onlineOnly && !v.closed && v.isInvitee(user) && !v.answered[user] {
				k := sessKey{user, session}
				m.extra[k] = append(m.extra[k], evNew(v.id, v.inviter, v.group, v.invitees, v.data))
			}
		}
	}
	return code
}

// ONL-1: an online-only invitee offline at invite time hears its timeout.
type mTimeoutToUnreached struct {
	*extraEvents
	unreached map[string][]string
}

func (m mTimeoutToUnreached) note(invitees []string, onlineOnly bool) []string {
	var l []string
	for _, u := range invitees {
		if onlineOnly && !m.online(u) {
			l = append(l, u)
		}
	}
	return l
}

func (m mTimeoutToUnreached) Invite(c Caller, a InviteArgs) (string, int) {
	off := m.note([]string{a.Invitee}, a.OnlineUserOnly)
	id, code := m.extraEvents.Invite(c, a)
	if code == 0 {
		m.unreached[id] = off
	}
	return id, code
}

func (m mTimeoutToUnreached) InviteInGroup(c Caller, a GroupInviteArgs) (string, int) {
	off := m.note(a.Invitees, a.OnlineUserOnly)
	id, code := m.extraEvents.InviteInGroup(c, a)
	if code == 0 {
		m.unreached[id] = off
	}
	return id, code
}

func (m mTimeoutToUnreached) Advance(d time.Duration) {
	var open []*tinv
	for _, v := range m.invs {
		if !v.closed {
			open = append(open, v)
		}
	}
	m.extraEvents.Advance(d)
	for _, v := range open {
		if !v.closed || v.cancelled {
			continue
		}
		for _, u := range m.unreached[v.id] {
			for _, k := range m.sessions {
				if m.connected[k] && k.user == u && !v.answered[u] {
					m.extra[k] = append(m.extra[k], evTimeout(v.id, u))
				}
			}
		}
	}
}

// DLV-1: new invitations broadcast to everyone online, participants or not.
type mBroadcast struct{ *extraEvents }

func (m mBroadcast) notify(id string, code int) {
	v := m.invs[id]
	if code != 0 || v == nil {
		return
	}
	for _, k := range m.sessions {
		if m.connected[k] && !v.participant(k.user) {
			m.extra[k] = append(m.extra[k], evNew(v.id, v.inviter, v.group, v.invitees, v.data))
		}
	}
}

func (m mBroadcast) Invite(c Caller, a InviteArgs) (string, int) {
	id, code := m.extraEvents.Invite(c, a)
	m.notify(id, code)
	return id, code
}

func (m mBroadcast) InviteInGroup(c Caller, a GroupInviteArgs) (string, int) {
	id, code := m.extraEvents.InviteInGroup(c, a)
	m.notify(id, code)
	return id, code
}

// IDM-1: a retried request emits its events a second time. The mutant
// drains every session after each operation and replays the first
// operation's deliveries when a retry comes back.
type mRetryTwice struct {
	*tracked
	q     map[sessKey][]Event
	first map[[2]string][]delivery
}

type delivery struct {
	k  sessKey
	ev Event
}

func (m *mRetryTwice) drain() []delivery {
	var ds []delivery
	for _, k := range m.sessions {
		for _, e := range m.tracked.TakeEvents(k.user, k.session) {
			m.q[k] = append(m.q[k], e)
			ds = append(ds, delivery{k, e})
		}
	}
	return ds
}

func (m *mRetryTwice) op(c Caller, f func() int) int {
	m.drain()
	code := f()
	ds := m.drain()
	if code != 0 || c.RequestID == "" {
		return code
	}
	key := [2]string{c.User, c.RequestID}
	if prev, ok := m.first[key]; ok && len(ds) == 0 {
		for _, d := range prev {
			m.q[d.k] = append(m.q[d.k], d.ev)
		}
	} else if !ok {
		m.first[key] = ds
	}
	return code
}

func (m *mRetryTwice) Invite(c Caller, a InviteArgs) (id string, code int) {
	m.op(c, func() int { id, code = m.tracked.Invite(c, a); return code })
	return id, code
}
func (m *mRetryTwice) InviteInGroup(c Caller, a GroupInviteArgs) (id string, code int) {
	m.op(c, func() int { id, code = m.tracked.InviteInGroup(c, a); return code })
	return id, code
}
func (m *mRetryTwice) Cancel(c Caller, id, data string) int {
	return m.op(c, func() int { return m.tracked.Cancel(c, id, data) })
}
func (m *mRetryTwice) Accept(c Caller, id, data string) int {
	return m.op(c, func() int { return m.tracked.Accept(c, id, data) })
}
func (m *mRetryTwice) Reject(c Caller, id, data string) int {
	return m.op(c, func() int { return m.tracked.Reject(c, id, data) })
}
func (m *mRetryTwice) Modify(c Caller, id, data string) int {
	return m.op(c, func() int { return m.tracked.Modify(c, id, data) })
}
func (m *mRetryTwice) TakeEvents(user, session string) []Event {
	m.drain()
	k := sessKey{user, session}
	evs := m.q[k]
	delete(m.q, k)
	return evs
}

// IDM-1: request IDs remembered per request ID only, not per user.
type mRequestIDGlobal struct {
	*tracked
	seen map[string]string
}

func (m *mRequestIDGlobal) Invite(c Caller, a InviteArgs) (string, int) {
	if id, ok := m.seen[c.RequestID]; ok && c.RequestID != "" {
		return id, 0
	}
	id, code := m.tracked.Invite(c, a)
	if code == 0 && c.RequestID != "" {
		m.seen[c.RequestID] = id
	}
	return id, code
}

// MOD-1: modify moves the deadline to modify time + timeout. The inner
// clock is held back after a modify by the time the invitation had run.
type mModifyMovesDeadline struct {
	*tracked
	hold time.Duration
}

func (m *mModifyMovesDeadline) Modify(c Caller, id, data string) int {
	code := m.tracked.Modify(c, id, data)
	if v := m.invs[id]; code == 0 && v != nil && v.timeout > 0 {
		m.hold += m.now - v.created
	}
	return code
}

func (m *mModifyMovesDeadline) Advance(d time.Duration) {
	held := min(d, m.hold)
	m.hold -= held
	m.tracked.Harness.Advance(d - held)
	m.tick(d)
}

// DLV-2: events of one invitation reordered for a recipient (handed out
// newest first).
type mReorder struct{ *tracked }

func (m mReorder) TakeEvents(user, session string) []Event {
	evs := m.tracked.TakeEvents(user, session)
	pos := map[string][]int{}
	for i, e := range evs {
		pos[e.InviteID] = append(pos[e.InviteID], i)
	}
	out := make([]Event, len(evs))
	for _, idx := range pos {
		for j, i := range idx {
			out[i] = evs[idx[len(idx)-1-j]]
		}
	}
	return out
}

// INV-2: a failed group invite leaves a partial change (the members among
// the invitees were invited before the bad invitee was found).
type mPartialGroupInvite struct{ *tracked }

func (m mPartialGroupInvite) InviteInGroup(c Caller, a GroupInviteArgs) (string, int) {
	id, code := m.tracked.InviteInGroup(c, a)
	if code != CodeInvalidParameters || !m.members[a.Group][c.User] {
		return id, code
	}
	var ok []string
	seen := map[string]bool{}
	for _, u := range a.Invitees {
		if m.members[a.Group][u] && u != c.User && !seen[u] {
			ok = append(ok, u)
			seen[u] = true
		}
	}
	if len(ok) > 0 && len(ok) < len(a.Invitees) {
		a.Invitees = ok
		a.InviteID = ""
		m.tracked.InviteInGroup(c, a)
	}
	return "", code
}

// INV-2: push info on a group invite accepted (and ignored).
type mGroupPush struct{ *tracked }

func (m mGroupPush) InviteInGroup(c Caller, a GroupInviteArgs) (string, int) {
	a.Push = nil
	return m.tracked.InviteInGroup(c, a)
}

// SYN-2: online-only invitations pushed to offline invitees too.
type mPushOnline struct {
	*tracked
	extra []PushRequest
}

func (m *mPushOnline) Invite(c Caller, a InviteArgs) (string, int) {
	online := m.online(a.Invitee)
	id, code := m.tracked.Invite(c, a)
	if code == 0 && !a.OnlineUserOnly && a.Push != nil && online {
		m.extra = append(m.extra, PushRequest{To: a.Invitee, InviteID: id, Inviter: c.User, Data: a.Data, Info: *a.Push})
	}
	return id, code
}

func (m *mPushOnline) TakePushes() []PushRequest {
	p := append(m.tracked.TakePushes(), m.extra...)
	m.extra = nil
	return p
}

// INV-7: push info fields are not checked for UTF-8 (the bad bytes are
// replaced instead).
type mPushUTF8 struct{ *tracked }

func (m mPushUTF8) Invite(c Caller, a InviteArgs) (string, int) {
	if p := a.Push; p != nil {
		fix := func(s string) string { return strings.ToValidUTF8(s, "?") }
		a.Push = &PushInfo{Title: fix(p.Title), Desc: fix(p.Desc), Ext: fix(p.Ext), Sound: fix(p.Sound)}
	}
	return m.tracked.Invite(c, a)
}

// INV-7: push info has no size limit (what is above it is cut off).
type mPushUnlimited struct{ *tracked }

func (m mPushUnlimited) Invite(c Caller, a InviteArgs) (string, int) {
	if p := a.Push; p != nil {
		q := *p
		if over := len(q.Title+q.Desc+q.Ext+q.Sound) - m.Limits().MaxPushBytes; over > 0 && over < len(q.Desc) {
			q.Desc = q.Desc[:len(q.Desc)-over]
		}
		a.Push = &q
	}
	return m.tracked.Invite(c, a)
}

// INV-7: push info on an online-only invite is accepted (and dropped).
type mPushOnlineOnlyAccepted struct{ *tracked }

func (m mPushOnlineOnlyAccepted) Invite(c Caller, a InviteArgs) (string, int) {
	if a.OnlineUserOnly {
		a.Push = nil
	}
	return m.tracked.Invite(c, a)
}

// IDM-2: a known request ID answers any call as its retry (the first
// result, nothing applied).
type mRequestIDAnyCall struct {
	*tracked
	seen map[[2]string]string // (user, request ID) -> invite ID
}

func (m *mRequestIDAnyCall) recall(c Caller) (string, bool) {
	id, ok := m.seen[[2]string{c.User, c.RequestID}]
	return id, ok && c.RequestID != ""
}

func (m *mRequestIDAnyCall) keep(c Caller, id string, code int) {
	if code == 0 && c.RequestID != "" {
		m.seen[[2]string{c.User, c.RequestID}] = id
	}
}

func (m *mRequestIDAnyCall) Invite(c Caller, a InviteArgs) (string, int) {
	if id, ok := m.recall(c); ok {
		return id, 0
	}
	id, code := m.tracked.Invite(c, a)
	m.keep(c, id, code)
	return id, code
}

func (m *mRequestIDAnyCall) InviteInGroup(c Caller, a GroupInviteArgs) (string, int) {
	if id, ok := m.recall(c); ok {
		return id, 0
	}
	id, code := m.tracked.InviteInGroup(c, a)
	m.keep(c, id, code)
	return id, code
}

func (m *mRequestIDAnyCall) respond(c Caller, id string, op func() int) int {
	if _, ok := m.recall(c); ok {
		return 0
	}
	code := op()
	m.keep(c, id, code)
	return code
}

func (m *mRequestIDAnyCall) Cancel(c Caller, id, data string) int {
	return m.respond(c, id, func() int { return m.tracked.Cancel(c, id, data) })
}
func (m *mRequestIDAnyCall) Accept(c Caller, id, data string) int {
	return m.respond(c, id, func() int { return m.tracked.Accept(c, id, data) })
}
func (m *mRequestIDAnyCall) Reject(c Caller, id, data string) int {
	return m.respond(c, id, func() int { return m.tracked.Reject(c, id, data) })
}
func (m *mRequestIDAnyCall) Modify(c Caller, id, data string) int {
	return m.respond(c, id, func() int { return m.tracked.Modify(c, id, data) })
}

// HIS-3: numbers are read as Go ints: 1.0 and 1e0 are not numbers.
type mParseIntsOnly struct{ *tracked }

func (m mParseIntsOnly) ParseSignalingInfo(msg []byte) (Envelope, bool) {
	var e Envelope
	if json.Unmarshal(msg, &e) != nil {
		return Envelope{}, false
	}
	return m.tracked.ParseSignalingInfo(msg)
}

// HIS-4: anyone reads any conversation's history.
type mHistoryAnyone struct{ *tracked }

func (m mHistoryAnyone) ReadHistory(user string, conv Conversation) ([][]byte, int) {
	return m.History(conv), 0
}

// INV-4: the data limit is off by one (data of exactly the limit refused).
type mDataOffByOne struct{ *tracked }

func (m mDataOffByOne) full(data string) bool { return len(data) == m.Limits().MaxDataBytes }

func (m mDataOffByOne) Invite(c Caller, a InviteArgs) (string, int) {
	if m.full(a.Data) {
		return "", CodeBodySizeLimit
	}
	return m.tracked.Invite(c, a)
}

func (m mDataOffByOne) InviteInGroup(c Caller, a GroupInviteArgs) (string, int) {
	if m.full(a.Data) {
		return "", CodeBodySizeLimit
	}
	return m.tracked.InviteInGroup(c, a)
}

// HIS-2: accept, reject and timeout envelopes list every invitee.
type mHistoryListAll struct{ *tracked }

func (m mHistoryListAll) History(conv Conversation) [][]byte {
	return rewriteHistory(m.tracked.History(conv), func(e map[string]any) {
		id, _ := e["inviteID"].(string)
		a, _ := e["actionType"].(float64)
		if v := m.invs[id]; v != nil && (a == ActionAccept || a == ActionReject || a == ActionTimeout) {
			e["inviteeList"] = v.invitees
		}
	})
}

// HIS-3: GetSignalingInfo takes any JSON object with a businessID.
type mParseLoose struct{ *tracked }

func (m mParseLoose) ParseSignalingInfo(msg []byte) (Envelope, bool) {
	var e Envelope
	var raw map[string]any
	if json.Unmarshal(msg, &raw) != nil || raw["businessID"] == nil {
		return e, false
	}
	_ = json.Unmarshal(msg, &e)
	return e, true
}

// TMO-4: deadlines that passed while down are not fired on recovery: the
// recovered clock starts where it stopped.
type mRestartLosesTime struct {
	*tracked
}

func (m mRestartLosesTime) Restart(d time.Duration) {
	m.tracked.Harness.(Restarter).Restart(0)
	m.tick(d)
}

// DLV-3: request IDs are not durable: a retry after a restart is a new request.
type mRestartForgetsRequests struct {
	*tracked
	epoch int
}

func (m *mRestartForgetsRequests) tag(c Caller) Caller {
	if c.RequestID != "" && m.epoch > 0 {
		c.RequestID += "#" + string(rune('0'+m.epoch%10))
	}
	return c
}

func (m *mRestartForgetsRequests) Invite(c Caller, a InviteArgs) (string, int) {
	return m.tracked.Invite(m.tag(c), a)
}
func (m *mRestartForgetsRequests) InviteInGroup(c Caller, a GroupInviteArgs) (string, int) {
	return m.tracked.InviteInGroup(m.tag(c), a)
}
func (m *mRestartForgetsRequests) Cancel(c Caller, id, data string) int {
	return m.tracked.Cancel(m.tag(c), id, data)
}
func (m *mRestartForgetsRequests) Accept(c Caller, id, data string) int {
	return m.tracked.Accept(m.tag(c), id, data)
}
func (m *mRestartForgetsRequests) Reject(c Caller, id, data string) int {
	return m.tracked.Reject(m.tag(c), id, data)
}
func (m *mRestartForgetsRequests) Modify(c Caller, id, data string) int {
	return m.tracked.Modify(m.tag(c), id, data)
}
func (m *mRestartForgetsRequests) Restart(d time.Duration) {
	m.tracked.Restart(d)
	m.epoch++
}

// LIM-2: closed invitations stay in memory (they are never dropped).
type mNeverForget struct {
	*tracked
}

func (m mNeverForget) OpenInvitations() int {
	return len(m.invs)
}

type mutant struct {
	name string
	rule string // the rule the suite must name
	wrap func(h Harness) Harness
}

var mutants = []mutant{
	{"cancel allowed after every invitee responded", "CAN-2", func(h Harness) Harness { return mCancelAnswered{track(h)} }},
	{"accept by the inviter answered 8011", "ACC-1", func(h Harness) Harness { return mAcceptByInviter{track(h)} }},
	{"reject by the inviter allowed", "REJ-1", func(h Harness) Harness { return mRejectByInviter{track(h)} }},
	{"modify of an online-only invitation allowed", "ONL-3", func(h Harness) Harness { return mModifyOnlineOnly{track(h)} }},
	{"timeout firing a second late", "TMO-1", func(h Harness) Harness { return twisted(h, timeoutLate) }},
	{"timeout firing a nanosecond after the deadline", "TMO-1", func(h Harness) Harness { return &mTimeoutAfterDeadline{tracked: track(h)} }},
	{"timeout 0 read as the longest timeout", "TMO-3", func(h Harness) Harness { return twisted(h, timeoutZeroLongest) }},
	{"inviter's timeout list includes invitees who answered", "TMO-2", func(h Harness) Harness { return mTimeoutListAll{track(h)} }},
	{"history written for online-only invitations", "ONL-2", func(h Harness) Harness {
		return &mHistoryOnlineOnly{track(h), map[Conversation][][]byte{}}
	}},
	{"cancelled invitation re-delivered on reconnect", "SYN-1", func(h Harness) Harness {
		return mRedeliverCancelled{&extraEvents{track(h), map[sessKey][]Event{}}}
	}},
	{"online-only invitation delivered on connect", "ONL-1", func(h Harness) Harness {
		return mRedeliverOnlineOnly{&extraEvents{track(h), map[sessKey][]Event{}}}
	}},
	{"retried request emits its events twice", "IDM-1", func(h Harness) Harness {
		return &mRetryTwice{track(h), map[sessKey][]Event{}, map[[2]string][]delivery{}}
	}},
	{"request IDs shared between users", "IDM-1", func(h Harness) Harness { return &mRequestIDGlobal{track(h), map[string]string{}} }},
	{"online-only invitee offline at invite time hears its timeout", "ONL-1", func(h Harness) Harness {
		return mTimeoutToUnreached{&extraEvents{track(h), map[sessKey][]Event{}}, map[string][]string{}}
	}},
	{"new invitation sent to non-participants", "DLV-1", func(h Harness) Harness {
		return mBroadcast{&extraEvents{track(h), map[sessKey][]Event{}}}
	}},
	{"modify moves the deadline", "MOD-1", func(h Harness) Harness { return &mModifyMovesDeadline{tracked: track(h)} }},
	{"events of one invitation reordered", "DLV-2", func(h Harness) Harness { return mReorder{track(h)} }},
	{"failed group invite leaves a partial change", "INV-2", func(h Harness) Harness { return mPartialGroupInvite{track(h)} }},
	{"invitee online at invite time pushed", "SYN-2", func(h Harness) Harness { return &mPushOnline{tracked: track(h)} }},
	{"push info not checked for UTF-8", "INV-7", func(h Harness) Harness { return mPushUTF8{track(h)} }},
	{"push info without a size limit", "INV-7", func(h Harness) Harness { return mPushUnlimited{track(h)} }},
	{"push info on an online-only invite accepted", "INV-7", func(h Harness) Harness { return mPushOnlineOnlyAccepted{track(h)} }},
	{"request ID answers any call as its retry", "IDM-2", func(h Harness) Harness {
		return &mRequestIDAnyCall{track(h), map[[2]string]string{}}
	}},
	{"GetSignalingInfo reads only Go ints", "HIS-3", func(h Harness) Harness { return mParseIntsOnly{track(h)} }},
	{"history readable by anyone", "HIS-4", func(h Harness) Harness { return mHistoryAnyone{track(h)} }},
	{"push info on a group invite accepted", "INV-2", func(h Harness) Harness { return mGroupPush{track(h)} }},
	{"data limit off by one", "INV-4", func(h Harness) Harness { return mDataOffByOne{track(h)} }},
	{"accept/reject/timeout envelopes list every invitee", "HIS-2", func(h Harness) Harness { return mHistoryListAll{track(h)} }},
	{"GetSignalingInfo accepts any businessID", "HIS-3", func(h Harness) Harness { return mParseLoose{track(h)} }},
	{"deadlines passed while down not fired on recovery", "TMO-4", func(h Harness) Harness { return mRestartLosesTime{track(h)} }},
	{"request IDs lost on restart", "DLV-3", func(h Harness) Harness { return &mRestartForgetsRequests{tracked: track(h)} }},
	{"closed invitations kept in memory", "LIM-2", func(h Harness) Harness { return mNeverForget{track(h)} }},
}

// mutantBases are the correct implementations the mutants wrap (each must
// be a Restarter, a SessionResumer, an OpenLister and a RecordLister): beckon's kernel, and
// the suite's reference model.
var mutantBases = []struct {
	name string
	new  func(TB) Harness
}{
	{"kernel", func(t TB) Harness { return Kernel.New(Kernel.Config(suiteLimits))(t) }},
	{"model", modelHarnessWith(suiteLimits)},
}

func TestMutantsAreCaught(t *testing.T) {
	for _, base := range mutantBases {
		t.Run(base.name, func(t *testing.T) { testMutantsAreCaught(t, base.new) })
	}
}

func testMutantsAreCaught(t *testing.T, mutantBase func(TB) Harness) {
	for _, mu := range slices.Concat(mutants, recordMutants, remMutants) {
		t.Run(strings.ReplaceAll(mu.name, " ", "_"), func(t *testing.T) {
			res := runCaptured(func(tb TB) Harness { return mu.wrap(mutantBase(tb)) })
			var failedRules []string
			named := false
			for _, o := range res {
				if !o.failed {
					continue
				}
				failedRules = append(failedRules, o.rule+"/"+o.name)
				for _, msg := range o.msgs {
					if strings.HasPrefix(msg, mu.rule+" ") {
						named = true
					}
				}
			}
			if len(failedRules) == 0 {
				t.Fatalf("mutant %q (breaks %s): the suite passed, want a failure naming %s", mu.name, mu.rule, mu.rule)
			}
			if !named {
				t.Fatalf("mutant %q: the suite failed in %v but no failure names %s", mu.name, failedRules, mu.rule)
			}
			if testing.Verbose() {
				t.Logf("caught by %v", failedRules)
			}
		})
	}
}

// propertyMutants break rules only at horizons the example checks, which
// run with suiteLimits (timeouts of at most 30 s), cannot reach; the
// property test must catch them.
var propertyMutants = []mutant{
	{"timeouts longer than an hour ignored", "TMO-1", func(h Harness) Harness { return twisted(h, longTimeoutIgnored) }},
}

// fastPropertyMutants are the mutants the property test runs against by
// default (the timing ones among them): each is caught within a few runs,
// so `go test ./conformance` checks in a few seconds that the property test
// catches them and names the rule. CONFORMANCE_MUTANT_PROPERTIES=1 runs it
// against every mutant, with a random seed and longer shrinking.
var fastPropertyMutants = map[string]bool{
	"timeout firing a second late":                          true,
	"timeout firing a nanosecond after the deadline":        true,
	"timeouts longer than an hour ignored":                  true,
	"timeout 0 read as the longest timeout":                 true,
	"push info on a group invite accepted":                  true,
	"cancel allowed after every invitee responded":          true,
	"accept by the inviter answered 8011":                   true,
	"events of one invitation reordered":                    true,
	"inviter's timeout list includes invitees who answered": true,
	"history written for online-only invitations":           true,
	"online-only invitation delivered on connect":           true,
	"new invitation sent to non-participants":               true,
	"closed invitations kept in memory":                     true,
	"call record with the wrong outcome":                    true,
	"call records lost on restart":                          true,
	"open invitations listed to a non-participant":          true,
	"session expiry forgotten":                              true,
	"session outlives its expiry":                           true,
	"invitee whose every session is dropped not pushed":     true,
	"resumed session re-delivered what is pending":          true,
	"events of a dropped session lost on resume":            true,
}

// propertyAlsoNames are other rules a property failure may name for a
// mutant whose wrapper breaks them too: holding the whole clock back after
// a modify delays every timeout and keeps request IDs longer.
var propertyAlsoNames = map[string][]string{
	"modify moves the deadline": {"TMO-1", "IDM-1"},
	// a missing push request is SYN-2's first
	"invitee whose every session is dropped not pushed": {"SYN-2"},
}

// The property test catches the mutants and its failure names the broken
// rule (the rules it names come first in the message: "RULE[,RULE...] op:
// ...").
func TestMutantsCaughtByProperties(t *testing.T) {
	every := os.Getenv("CONFORMANCE_MUTANT_PROPERTIES") != ""
	settings := map[string]string{"rapid.nofailfile": "true", "rapid.checks": "1000", "rapid.steps": DefaultSteps,
		"rapid.shrinktime": "250ms", "rapid.seed": "1"}
	if every {
		settings["rapid.shrinktime"], settings["rapid.seed"] = "3s", "0"
	}
	for name, v := range settings {
		old := flag.Lookup(name).Value.String()
		if err := flag.Set(name, v); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = flag.Set(name, old) })
	}
	known := map[string]bool{}
	all := slices.Concat(mutants, recordMutants, remMutants, propertyMutants)
	for _, mu := range all {
		known[mu.name] = true
	}
	for name := range fastPropertyMutants {
		if !known[name] {
			t.Errorf("fastPropertyMutants names %q: got no such mutant, want one of mutants, recordMutants or propertyMutants", name)
		}
	}
	for _, mu := range all {
		if !every && !fastPropertyMutants[mu.name] {
			continue
		}
		t.Run(strings.ReplaceAll(mu.name, " ", "_"), func(t *testing.T) {
			rt := &recT{name: t.Name()}
			done := make(chan struct{})
			go func() {
				defer close(done)
				rapid.Check(rt, StateMachine(func(tb TB) Harness { return mu.wrap(Kernel.New(Kernel.Config(propLimits))(tb)) }))
			}()
			<-done
			if !rt.failed {
				t.Fatalf("mutant %q (breaks %s): the property test passed", mu.name, mu.rule)
			}
			rules, msg := propertyFailure(rt.msgs)
			if !slices.Contains(rules, mu.rule) && !slices.ContainsFunc(propertyAlsoNames[mu.name], func(r string) bool { return slices.Contains(rules, r) }) {
				t.Fatalf("mutant %q: the property failure names %v, want %s:\n%s", mu.name, rules, mu.rule, msg)
			}
			if testing.Verbose() {
				t.Logf("caught: %s", msg)
			}
		})
	}
}

// propertyFailure finds rapid's report of a property failure among msgs
// and returns the rules it names and the message without its trace.
func propertyFailure(msgs []string) (rules []string, msg string) {
	const lead = " tests: "
	for _, m := range msgs {
		if i := strings.Index(m, lead); strings.HasPrefix(m, "[rapid] failed after") && i > 0 {
			msg = m[i+len(lead):]
			if j := strings.Index(msg, "trace of operations"); j > 0 {
				msg = msg[:j]
			}
			first, _, _ := strings.Cut(msg, " ")
			return strings.Split(first, ","), msg
		}
	}
	return nil, strings.Join(msgs, "\n")
}

// --- mutants of QRY-1 and REC-1/2 (bases with OpenLister and RecordLister) ---

// listed is tracked with the base's OpenLister and RecordLister, and the
// users listed so far, whose lists the leaking mutants show to others.
type listed struct {
	*tracked
	users *[]string // in the order first listed
}

func newListed(h Harness) listed { return listed{track(h), new([]string)} }

func (t listed) ListOpen(user string) []OpenInvitation {
	t.saw(user)
	return t.Harness.(OpenLister).ListOpen(user)
}

func (t listed) Records(user string) []CallRecord {
	t.saw(user)
	return t.Harness.(RecordLister).Records(user)
}

func (t listed) saw(user string) {
	if !slices.Contains(*t.users, user) {
		*t.users = append(*t.users, user)
	}
}

// others are the users listed so far but user.
func (t listed) others(user string) []string {
	return slices.DeleteFunc(slices.Clone(*t.users), func(u string) bool { return u == user })
}

// REC-1: the inviter of an answered call told it was unanswered.
type mWrongOutcome struct{ listed }

func (m mWrongOutcome) Records(user string) []CallRecord {
	rs := m.listed.Records(user)
	for i := range rs {
		if rs[i].Outcome == "answered" {
			rs[i].Outcome = "unanswered"
		}
	}
	return rs
}

// REC-2: a user also shown the records of the first other user listed.
type mOthersRecords struct{ listed }

func (m mOthersRecords) Records(user string) []CallRecord {
	rs := m.listed.Records(user)
	if o := m.others(user); len(o) > 0 {
		rs = append(rs, m.listed.Records(o[0])...)
	}
	return rs
}

// REC-2: records not durable: none survive a restart.
type mRecordsLostOnRestart struct {
	listed
	lost bool
}

func (m *mRecordsLostOnRestart) Restart(d time.Duration) { m.tracked.Restart(d); m.lost = true }
func (m *mRecordsLostOnRestart) Records(user string) []CallRecord {
	if m.lost {
		return nil
	}
	return m.listed.Records(user)
}

// QRY-1: a user also shown the open invitations of the first other user
// listed.
type mOpenToOthers struct{ listed }

func (m mOpenToOthers) ListOpen(user string) []OpenInvitation {
	l := m.listed.ListOpen(user)
	if o := m.others(user); len(o) > 0 {
		l = append(l, m.listed.ListOpen(o[0])...)
	}
	return l
}

// QRY-1: an online-only invitation its invitee was offline for listed to
// it (ONL-1): the invitations of the other users listed shown to each of
// their invitees.
type mOpenHiddenShown struct{ listed }

func (m mOpenHiddenShown) ListOpen(user string) []OpenInvitation {
	l := m.listed.ListOpen(user)
	for _, o := range m.others(user) {
		for _, v := range m.Harness.(OpenLister).ListOpen(o) {
			if i := slices.Index(v.Invitees, user); i >= 0 && v.States[i] == "pending" &&
				!slices.ContainsFunc(l, func(x OpenInvitation) bool { return x.InviteID == v.InviteID }) {
				v.Incoming = true
				l = append(l, v)
			}
		}
	}
	return l
}

// recordMutants break QRY-1, REC-1 and REC-2.
var recordMutants = []mutant{
	{"call record with the wrong outcome", "REC-1", func(h Harness) Harness { return mWrongOutcome{newListed(h)} }},
	{"call records shown to another user", "REC-2", func(h Harness) Harness { return mOthersRecords{newListed(h)} }},
	{"call records lost on restart", "REC-2", func(h Harness) Harness { return &mRecordsLostOnRestart{listed: newListed(h)} }},
	{"open invitations listed to a non-participant", "QRY-1", func(h Harness) Harness { return mOpenToOthers{newListed(h)} }},
	{"open invitation hidden by ONL-1 listed", "QRY-1", func(h Harness) Harness { return mOpenHiddenShown{newListed(h)} }},
}
