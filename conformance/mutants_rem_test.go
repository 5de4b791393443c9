package conformance

import "time"

// Mutants of REM-4..REM-6 (bases with SessionResumer).

func (t *tracked) resumer() SessionResumer { return t.Harness.(SessionResumer) }

func (t *tracked) ConnectFor(user, session string, expiry time.Duration) int {
	code := t.resumer().ConnectFor(user, session, expiry)
	k := sessKey{user, session}
	if code == 0 {
		if _, ok := t.connected[k]; !ok {
			t.sessions = append(t.sessions, k)
		}
		t.connected[k] = true
		delete(t.dropped, k)
	}
	return code
}

func (t *tracked) Drop(user, session string) {
	t.resumer().Drop(user, session)
	t.dropped[sessKey{user, session}] = true
}

func (t *tracked) Reconnect(user, session string) (bool, int) {
	delete(t.dropped, sessKey{user, session})
	return t.resumer().Reconnect(user, session)
}

// allDropped tells whether u has sessions and every one is dropped.
func (t *tracked) allDropped(u string) bool {
	n := 0
	for k, on := range t.connected {
		if on && k.user == u {
			if !t.dropped[k] {
				return false
			}
			n++
		}
	}
	return n > 0
}

// REM-4: the expiry forgotten: a lost connection ends the session.
type mExpiryForgotten struct{ *tracked }

func (m mExpiryForgotten) ConnectFor(user, session string, _ time.Duration) int {
	return m.tracked.ConnectFor(user, session, 0)
}

// REM-4: an away session outlives its expiry (ten times over).
type mExpiryIgnored struct{ *tracked }

func (m mExpiryIgnored) ConnectFor(user, session string, expiry time.Duration) int {
	return m.tracked.ConnectFor(user, session, 10*expiry)
}

// REM-4: a session away counted as reachable for push: an invitee whose
// every session is dropped is not pushed.
type mAwayNotPushed struct {
	*tracked
	kept []PushRequest
}

func (m *mAwayNotPushed) Invite(c Caller, a InviteArgs) (string, int) {
	away := m.allDropped(a.Invitee)
	id, code := m.tracked.Invite(c, a)
	if away {
		for _, p := range m.tracked.TakePushes() {
			if p.InviteID != id {
				m.kept = append(m.kept, p)
			}
		}
	}
	return id, code
}

func (m *mAwayNotPushed) TakePushes() []PushRequest {
	p := append(m.kept, m.tracked.TakePushes()...)
	m.kept = nil
	return p
}

// REM-5: a resumed session is re-delivered what is pending (SYN-1), as a
// new one.
type mResumeRedelivers struct{ *extraEvents }

func (m mResumeRedelivers) Reconnect(user, session string) (bool, int) {
	resumed, code := m.extraEvents.Reconnect(user, session)
	if resumed {
		k := sessKey{user, session}
		for _, v := range m.invs {
			if !v.closed && !v.onlineOnly && v.isInvitee(user) && !v.answered[user] {
				m.extra[k] = append(m.extra[k], evNew(v.id, v.inviter, v.group, v.invitees, v.data))
			}
		}
	}
	return resumed, code
}

// lossy is a base for mutants that lose events of a session at its
// Reconnect: those delivered before its Drop stay readable.
type lossy struct {
	*tracked
	before map[sessKey][]Event
}

func (m *lossy) Drop(user, session string) {
	k := sessKey{user, session}
	m.before[k] = append(m.before[k], m.tracked.TakeEvents(user, session)...)
	m.tracked.Drop(user, session)
}

func (m *lossy) TakeEvents(user, session string) []Event {
	k := sessKey{user, session}
	evs := append(m.before[k], m.tracked.TakeEvents(user, session)...)
	delete(m.before, k)
	return evs
}

// lose drops the events the session got at its Reconnect.
func (m *lossy) lose(user, session string) { m.tracked.TakeEvents(user, session) }

// REM-5: the events of a dropped session are lost when it resumes.
type mResumeLoses struct{ *lossy }

func (m mResumeLoses) Reconnect(user, session string) (bool, int) {
	resumed, code := m.lossy.Reconnect(user, session)
	if resumed {
		m.lose(user, session)
	}
	return resumed, code
}

// REM-5: a restart loses the events held for the dropped sessions.
type mRestartLosesHeld struct {
	*lossy
	restarted map[sessKey]bool
}

func (m *mRestartLosesHeld) Restart(d time.Duration) {
	m.lossy.Restart(d)
	for k := range m.dropped {
		m.restarted[k] = true
	}
}

func (m *mRestartLosesHeld) Reconnect(user, session string) (bool, int) {
	resumed, code := m.lossy.Reconnect(user, session)
	if k := (sessKey{user, session}); resumed && m.restarted[k] {
		m.lose(user, session)
	}
	delete(m.restarted, sessKey{user, session})
	return resumed, code
}

// REM-6: a session back after its expiry is not re-delivered what is
// pending (no SYN-1 for it).
type mExpiredNoSync struct{ *lossy }

func (m mExpiredNoSync) Reconnect(user, session string) (bool, int) {
	resumed, code := m.lossy.Reconnect(user, session)
	if !resumed {
		m.lose(user, session)
	}
	return resumed, code
}

func newLossy(h Harness) *lossy { return &lossy{track(h), map[sessKey][]Event{}} }

// remMutants break REM-4, REM-5 and REM-6.
var remMutants = []mutant{
	{"session expiry forgotten", "REM-4", func(h Harness) Harness { return mExpiryForgotten{track(h)} }},
	{"session outlives its expiry", "REM-4", func(h Harness) Harness { return mExpiryIgnored{track(h)} }},
	{"invitee whose every session is dropped not pushed", "REM-4", func(h Harness) Harness { return &mAwayNotPushed{tracked: track(h)} }},
	{"resumed session re-delivered what is pending", "REM-5", func(h Harness) Harness {
		return mResumeRedelivers{&extraEvents{track(h), map[sessKey][]Event{}}}
	}},
	{"events of a dropped session lost on resume", "REM-5", func(h Harness) Harness { return mResumeLoses{newLossy(h)} }},
	{"events held for a dropped session lost in a restart", "REM-5", func(h Harness) Harness {
		return &mRestartLosesHeld{newLossy(h), map[sessKey]bool{}}
	}},
	{"session back after its expiry not re-delivered what is pending", "REM-6", func(h Harness) Harness { return mExpiredNoSync{newLossy(h)} }},
}
