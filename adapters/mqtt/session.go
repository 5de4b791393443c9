package mqtt

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

type sessionKey struct{ user, device string }

// session is one device session (REM-4): the connection that is it now,
// if any, and the events it has not acknowledged yet, which outlive its
// connections for as long as the session does (REM-5).
type session struct {
	mu    sync.Mutex // held across the Engine calls of a presence change
	owner *conn      // guarded by Server.mu
	refs  int        // guarded by Server.mu

	qmu sync.Mutex // guards what follows
	// queue holds the events not acknowledged yet, in Seq order: those
	// before sent were written to the owner, the rest wait for it.
	queue []kernel.SessionEvent
	sent  int
	last  uint64 // Seq of the last event queued
	// broken: the queue overflowed and events were dropped, so the
	// session cannot be resumed; it is being ended (see overflow).
	broken bool
	// writer is the connection that writes the queue: the owner once it
	// has started (join), so that a connection taken over writes nothing
	// more.
	writer *conn
	// away: the session's connection was lost and it waits to be resumed
	// (the kernel has it suspended).
	away bool
}

// Outcomes of session.queued.
const (
	queuedOK      = iota
	queuedFull    // the queue just overflowed: the session must end
	queuedDropped // the session is broken already
)

// queued appends e unless the queue is full (limit): then it drops the
// queue and marks the session broken.
func (ses *session) queued(e kernel.SessionEvent, limit int) int {
	ses.qmu.Lock()
	defer ses.qmu.Unlock()
	if ses.broken {
		return queuedDropped
	}
	if len(ses.queue) >= limit {
		clear(ses.queue)
		ses.queue, ses.sent, ses.broken = ses.queue[:0], 0, true
		return queuedFull
	}
	ses.queue = append(ses.queue, e)
	ses.last = e.Seq
	return queuedOK
}

// next returns the next event for c to write, if c is the writer.
func (ses *session) next(c *conn) (kernel.SessionEvent, bool) {
	ses.qmu.Lock()
	defer ses.qmu.Unlock()
	if ses.writer != c || ses.sent >= len(ses.queue) {
		return kernel.SessionEvent{}, false
	}
	ses.sent++
	return ses.queue[ses.sent-1], true
}

// due reports whether c is the writer and has events to write.
func (ses *session) due(c *conn) bool {
	ses.qmu.Lock()
	defer ses.qmu.Unlock()
	return ses.writer == c && ses.sent < len(ses.queue)
}

// ack drops the queued events up to and including seq, acknowledged on
// connection c, and reports whether c is the writer. An acknowledgement
// that comes late on a connection taken over is ignored: the session may
// have started anew since, with other events under the same Seqs (a
// resumed one merely writes those events again).
func (ses *session) ack(c *conn, seq uint64) bool {
	ses.qmu.Lock()
	defer ses.qmu.Unlock()
	if ses.writer != c {
		return false
	}
	n := 0
	for n < len(ses.queue) && ses.queue[n].Seq <= seq {
		n++
	}
	m := copy(ses.queue, ses.queue[n:])
	clear(ses.queue[m:])
	ses.queue = ses.queue[:m]
	ses.sent = max(0, ses.sent-n)
	return true
}

// write makes c the writer (nil: none), and every event not
// acknowledged wait to be written again, to c.
func (ses *session) write(c *conn) {
	ses.qmu.Lock()
	ses.writer, ses.sent = c, 0
	ses.qmu.Unlock()
}

// setAway notes whether the session waits to be resumed.
func (ses *session) setAway(away bool) {
	ses.qmu.Lock()
	ses.away = away
	ses.qmu.Unlock()
}

// isBroken reports whether the session's queue overflowed.
func (ses *session) isBroken() bool {
	ses.qmu.Lock()
	defer ses.qmu.Unlock()
	return ses.broken
}

// reset forgets every event: the session ended.
func (ses *session) reset() {
	ses.qmu.Lock()
	clear(ses.queue)
	ses.queue, ses.sent, ses.last, ses.broken, ses.away = ses.queue[:0], 0, 0, false, false
	ses.qmu.Unlock()
}

// idle reports whether the session holds nothing (Server.mu held).
func (ses *session) idle() bool {
	ses.qmu.Lock()
	defer ses.qmu.Unlock()
	return ses.owner == nil && ses.refs == 0 && len(ses.queue) == 0 && !ses.broken
}

// Keep queues e for its session (port.Keeper): the connection that is the
// session writes it; without one, the event waits for the session to
// resume if it is resumable, and is refused with ErrNoSession if not. A
// session whose queue is full (Options.EventQueue) can no longer be
// resumed (overflow): its device comes back as a new session (REM-6:
// SYN-1 re-delivers what is pending).
func (s *Server) Keep(e kernel.SessionEvent) error { return s.keep(e, !s.flushed.Load()) }

// keep queues e for its session and has its connection write it: at once
// if wake, else at the next Flush.
func (s *Server) keep(e kernel.SessionEvent, wake bool) error {
	key := sessionKey{e.User, e.Session}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return port.ErrClosed
	}
	ses := s.sessions[key]
	if ses == nil && e.Resumable { // a session away, after a restart
		ses = &session{away: true}
		s.sessions[key] = ses
	}
	var owner *conn
	if ses != nil {
		owner = ses.owner
	}
	s.mu.Unlock()
	if ses == nil || owner == nil && !e.Resumable {
		return fmt.Errorf("mqtt: %s/%s: %w", e.User, e.Session, port.ErrNoSession)
	}
	switch ses.queued(e, s.opts.EventQueue) {
	case queuedFull:
		s.overflow(key, owner)
		fallthrough
	case queuedDropped:
		return fmt.Errorf("mqtt: %s/%s: more than %d events not acknowledged: the session is ended", e.User, e.Session, s.opts.EventQueue)
	}
	switch {
	case owner == nil:
	case wake:
		owner.wake()
	default:
		s.dmu.Lock()
		s.dirty = append(s.dirty, owner)
		s.dmu.Unlock()
	}
	return nil
}

// Flush has the connections write the events kept since the last Flush
// (port.Flusher). The runtime calls it once it has handed a batch's
// events and answered the batch's callers: a connection's worker then
// writes its reply and the events of the same batch together (flush), and
// the publishers of the others are woken once each. Until the first
// Flush, Keep wakes a connection for each event, so that a Keeper behind
// something that does not pass Flush on still writes everything.
func (s *Server) Flush() {
	s.flushed.Store(true)
	s.dmu.Lock()
	dirty := s.dirty
	s.dirty = nil
	s.dmu.Unlock()
	for _, c := range dirty {
		if c.ses.due(c) { // its worker may have written them already
			c.wake()
		}
	}
}

// Deliver is Keep for a Delivery that is not told the Seq: the event is
// numbered after the session's last one.
func (s *Server) Deliver(user, session string, ev kernel.Event) error {
	s.mu.Lock()
	var seq uint64
	if ses := s.sessions[sessionKey{user, session}]; ses != nil {
		ses.qmu.Lock()
		seq = ses.last + 1
		ses.qmu.Unlock()
	}
	s.mu.Unlock()
	return s.keep(kernel.SessionEvent{User: user, Session: session, Seq: seq, Event: ev}, true)
}

// Ended forgets what is kept for a session that ended (port.Keeper).
func (s *Server) Ended(ref kernel.SessionRef) {
	key := sessionKey{ref.User, ref.Session}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ses := s.sessions[key]; ses != nil {
		ses.qmu.Lock()
		away := ses.away
		ses.qmu.Unlock()
		if away {
			s.log.Info("mqtt: a session ended: its device did not come back within its expiry",
				slog.String("user", ref.User), slog.String("device", ref.Session))
		}
		ses.reset()
		if ses.idle() {
			delete(s.sessions, key)
		}
	}
}

// overflow handles a session whose queue just overflowed: events were
// dropped, so it can never be resumed. Its connection, if it has one, is
// closed, and the session then ends (leave: Disconnect). One away has no
// connection to close: it ends when its device comes back (join starts a
// new session) or when its expiry passes, whichever is first.
func (s *Server) overflow(key sessionKey, owner *conn) {
	why := fmt.Sprintf("more than %d events not acknowledged", s.opts.EventQueue)
	if owner != nil {
		owner.kick(why)
		return
	}
	s.log.Warn("mqtt: a session away can no longer be resumed", slog.String("user", key.user),
		slog.String("device", key.device), slog.String("why", why))
}
