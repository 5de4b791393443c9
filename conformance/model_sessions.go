package conformance

import "time"

// Sessions of the reference model (DLV-1, SYN-1, REM-4..REM-6).

// msess is one session of a user. A session whose connection is lost
// (Drop) stays, away, until it resumes (Reconnect) or its expiry has passed
// since the loss: meanwhile it is connected for DLV-1, ONL-1 and SYN-1,
// its events are held for it, and it is offline for push (SYN-2).
type msess struct {
	id     string
	expiry time.Duration // how long it outlives a lost connection; 0: not at all
	away   bool
	lost   time.Duration // when its connection was lost, while away
	held   []Event       // its events while away, delivered if it resumes (REM-5)
}

// ends is when an away session ends: at exactly lost + expiry a resume is
// too late (kernel/sessions.go).
func (s *msess) ends() time.Duration { return s.lost + s.expiry }

// session returns user's session id and its index, nil if none.
func (m *model) session(user, id string) (int, *msess) {
	for i, s := range m.sessions[user] {
		if s.id == id {
			return i, s
		}
	}
	return -1, nil
}

// online: the user has a session, away or not (ONL-1, SYN-2's "offline at
// invite time" is reachable below).
func (m *model) online(user string) bool { return len(m.sessions[user]) > 0 }

// reachable: a session of the user has its connection (SYN-2, REM
// preamble: an invitee whose every session is away is pushed).
func (m *model) reachable(user string) bool {
	for _, s := range m.sessions[user] {
		if !s.away {
			return true
		}
	}
	return false
}

// toUsers expands an event to every session of each user, users in the
// order given, sessions in connection order; those of an away session are
// held for it.
func (m *model) toUsers(users []string, ev Event) []mout {
	var outs []mout
	for _, u := range users {
		for _, s := range m.sessions[u] {
			if s.away {
				s.held = append(s.held, ev)
			}
			outs = append(outs, mout{kind: OutEvent, user: u, session: s.id, ev: ev, held: s.away})
		}
	}
	return outs
}

// end removes user's i-th session; what was held for it is lost.
func (m *model) end(user string, i int) {
	l := m.sessions[user]
	m.sessions[user] = append(append([]*msess{}, l[:i]...), l[i+1:]...)
}

// expireSessions ends every away session whose expiry has passed (REM-4).
func (m *model) expireSessions() {
	for u, l := range m.sessions {
		for i := len(l) - 1; i >= 0; i-- {
			if l[i].away && l[i].ends() <= m.now {
				m.end(u, i)
				l = m.sessions[u]
			}
		}
	}
}

func (m *model) connect(user, session string) (int, []mout) {
	outs := m.fire()
	if !m.id(user) || !m.id(session) {
		return CodeInvalidParameters, outs
	}
	return 0, append(outs, m.start(user, session, 0)...)
}

// connectFor is a new connection of a session with an expiry: nothing
// for a session connected already (its expiry stays); one away is
// replaced by a new one (REM-4: one session, never two), which hears of
// every invitation pending for its user (SYN-1).
func (m *model) connectFor(user, session string, expiry time.Duration) (int, []mout) {
	outs := m.fire()
	if !m.id(user) || !m.id(session) {
		return CodeInvalidParameters, outs
	}
	if _, s := m.session(user, session); s == nil || s.away {
		m.asked[sessKey{user, session}] = expiry
	}
	return 0, append(outs, m.start(user, session, expiry)...)
}

func (m *model) start(user, session string, expiry time.Duration) []mout {
	i, s := m.session(user, session)
	switch {
	case s != nil && !s.away:
		return nil
	case s != nil:
		m.end(user, i)
	}
	m.sessions[user] = append(m.sessions[user], &msess{id: session, expiry: expiry})
	var outs []mout
	for _, v := range m.sortedInvs() {
		if i := v.index(user); i >= 0 && !v.onlineOnly && v.states[i] == stPending {
			outs = append(outs, mout{kind: OutEvent, user: user, session: session, ev: Event{Type: EventNewInvitation,
				InviteID: v.id, Inviter: v.inviter, GroupID: v.group, Invitees: append([]string{}, v.invitees...), Data: v.data}})
		}
	}
	return outs
}

func (m *model) disconnect(user, session string) (int, []mout) {
	outs := m.fire()
	if !m.id(user) || !m.id(session) {
		return CodeInvalidParameters, outs
	}
	if i, s := m.session(user, session); s != nil {
		m.end(user, i)
	}
	return 0, outs
}

// drop loses the connection of a session: one without expiry ends, the
// others go away (REM-4).
func (m *model) drop(user, session string) []mout {
	outs := m.fire()
	i, s := m.session(user, session)
	switch {
	case s == nil || s.away:
	case s.expiry == 0:
		m.end(user, i)
	default:
		s.away, s.lost = true, m.now
	}
	return outs
}

// reconnect is the device of a session back, asking to resume it with the
// expiry it asked for last: a session still there resumes and gets what
// was held for it (REM-5); else a new one starts (REM-6, SYN-1).
func (m *model) reconnect(user, session string) (resumed bool, code int, outs []mout) {
	outs = m.fire()
	if !m.id(user) || !m.id(session) {
		return false, CodeInvalidParameters, outs
	}
	expiry := m.asked[sessKey{user, session}]
	_, s := m.session(user, session)
	if s == nil {
		return false, 0, append(outs, m.start(user, session, expiry)...)
	}
	for _, ev := range s.held {
		outs = append(outs, mout{kind: OutEvent, user: user, session: session, ev: ev, released: true})
	}
	s.away, s.expiry, s.held = false, expiry, nil
	return true, 0, outs
}
