package kernel

import (
	"container/heap"
	"iter"
	"time"
)

// session is one connected session of a user (REM-4). A session whose
// connection is lost stays, away, for its expiry: it still receives events
// (DLV-1), counts for ONL-1 and gets no SYN-1 re-delivery when it comes
// back, but it is offline for push (SYN-2).
type session struct {
	id     string
	seq    uint64 // events handed to it so far: the Seq of the last one
	expiry int32  // seconds it outlives a lost connection; 0: none
	lost   bool   // its connection is lost: it is away
	away   int64  // when its connection was lost, Unix ns (if lost)
}

// ends is when an away session ends (Unix ns).
func (s *session) ends() int64 { return s.away + int64(s.expiry)*int64(time.Second) }

// SessionRef names one session of a user.
type SessionRef struct {
	User    string
	Session string
}

// SessionEnd is a session a step ended, and where among the step's
// Events: the first After of them came before the end, the rest after it
// (those of a new session with the same ID among them).
type SessionEnd struct {
	SessionRef
	After int
}

// SessionInfo is what the kernel knows of one session.
type SessionInfo struct {
	SessionRef
	Seq    uint64    // the Seq of the last event handed to it
	Expiry int       // seconds it outlives a lost connection (REM-4)
	Away   time.Time // when its connection was lost; zero while connected
}

// sessionAt returns the index of session id among u's, -1 if none.
func (u *user) sessionAt(id string) int {
	for i := range u.sessions {
		if u.sessions[i].id == id {
			return i
		}
	}
	return -1
}

// reachable reports whether a session of u has its connection (SYN-2).
func (u *user) reachable() bool {
	for i := range u.sessions {
		if !u.sessions[i].lost {
			return true
		}
	}
	return false
}

// connect starts a session (SYN-1: it hears of every invitation pending for
// its user). A connected session already there is left as it is; one away
// ends first: its device came back without resuming it (REM-4: one
// session, never two). It reports whether the state changed.
func (k *Kernel) connect(in *Input) bool {
	u := k.userOf(in.User)
	if i := u.sessionAt(in.Session); i >= 0 {
		if !u.sessions[i].lost {
			return false
		}
		k.endSession(in.User, u, i)
		u = k.userOf(in.User) // endSession may have released it
	}
	u.sessions = append(u.sessions, session{id: in.Session, expiry: int32(in.Timeout)})
	s := &u.sessions[len(u.sessions)-1]
	for _, inv := range u.pending {
		ev := k.newInvitationEvent(inv)
		k.emitToSession(in.User, s, &ev)
	}
	return true
}

// disconnect ends a session; it reports whether there was one.
func (k *Kernel) disconnect(in *Input) bool {
	u := k.users[in.User]
	if u == nil {
		return false
	}
	i := u.sessionAt(in.Session)
	if i < 0 {
		return false
	}
	k.endSession(in.User, u, i)
	return true
}

// endSession removes the i-th session of u and reports it in Step.Ended.
func (k *Kernel) endSession(name string, u *user, i int) {
	k.ended = append(k.ended, SessionEnd{SessionRef: SessionRef{User: name, Session: u.sessions[i].id}, After: len(k.events)})
	u.sessions = append(u.sessions[:i:i], u.sessions[i+1:]...)
	k.release(name, u)
}

// suspend marks a session whose connection is lost (REM-4): it ends at
// once without an expiry, else it stays away until it resumes or its
// expiry passes. It reports whether the state changed.
func (k *Kernel) suspend(in *Input) bool {
	u := k.users[in.User]
	if u == nil {
		return false
	}
	i := u.sessionAt(in.Session)
	switch {
	case i < 0 || u.sessions[i].lost:
		return false
	case u.sessions[i].expiry == 0:
		k.endSession(in.User, u, i)
		return true
	}
	s := &u.sessions[i]
	s.lost, s.away = true, k.now
	heap.Push(&k.awayHeap, awayEntry{at: s.ends(), user: in.User, session: s.id})
	return true
}

// resume brings a session back on a connection (REM-5) with the expiry of
// the new connection; one that has ended (or never was) starts anew, as
// Connect (REM-6). It reports whether the session was still there, and
// whether the state changed.
func (k *Kernel) resume(in *Input) (resumed, changed bool) {
	if u := k.users[in.User]; u != nil {
		if i := u.sessionAt(in.Session); i >= 0 {
			s := &u.sessions[i]
			changed = s.lost || s.expiry != int32(in.Timeout)
			s.lost, s.away, s.expiry = false, 0, int32(in.Timeout)
			return true, changed
		}
	}
	return false, k.connect(in)
}

// expireSessions ends every away session whose expiry has passed by now,
// in order of their ends (ties by user, then session, so that a restored
// kernel ends them in the same order). It reports
// whether any ended.
func (k *Kernel) expireSessions(now int64) bool {
	ended := false
	for len(k.awayHeap) > 0 && k.awayHeap[0].at <= now {
		e := heap.Pop(&k.awayHeap).(awayEntry)
		u := k.users[e.user]
		if u == nil {
			continue
		}
		// The entry is stale when the session resumed (or ended) since.
		if i := u.sessionAt(e.session); i >= 0 && u.sessions[i].lost && u.sessions[i].ends() == e.at {
			k.endSession(e.user, u, i)
			ended = true
		}
	}
	return ended
}

// emitTo hands ev to every session of user u named name (DLV-1).
func (k *Kernel) emitTo(name string, u *user, ev *Event) {
	for i := range u.sessions {
		k.emitToSession(name, &u.sessions[i], ev)
	}
}

func (k *Kernel) emitToSession(name string, s *session, ev *Event) {
	s.seq++
	k.events = append(k.events, SessionEvent{User: name, Session: s.id, Seq: s.seq, Resumable: s.expiry > 0, Event: *ev})
}

// Sessions iterates over every session: users in sorted order, each
// user's sessions in connection order. It reads a copy taken when the
// iteration starts, so the caller may Apply (for example Suspend each
// session after a restart) while iterating.
func (k *Kernel) Sessions() iter.Seq[SessionInfo] {
	return func(yield func(SessionInfo) bool) {
		var all []SessionInfo
		for _, name := range sortedKeys(k.users) {
			for _, s := range k.users[name].sessions {
				info := SessionInfo{SessionRef: SessionRef{name, s.id}, Seq: s.seq, Expiry: int(s.expiry)}
				if s.lost {
					info.Away = time.Unix(0, s.away)
				}
				all = append(all, info)
			}
		}
		for _, info := range all {
			if !yield(info) {
				return
			}
		}
	}
}

// awayEntry is when an away session ends; entries of sessions that
// resumed or ended since stay in the heap until they come due.
type awayEntry struct {
	at            int64
	user, session string
}

type awayHeap []awayEntry

func (h awayHeap) Len() int { return len(h) }
func (h awayHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].user < h[j].user || h[i].user == h[j].user && h[i].session < h[j].session
}
func (h awayHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *awayHeap) Push(x any)   { *h = append(*h, x.(awayEntry)) }
func (h *awayHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
