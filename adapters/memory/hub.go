package memory

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// errHubClosed is what Register and Deliver return after Close.
var errHubClosed = fmt.Errorf("memory hub: %w", port.ErrClosed)

// StallAfter is how long a session with queued events may wait while every
// goroutine of the Hub is busy in a handler before the hub starts another
// goroutine for it (the wait is between StallAfter and twice that).
const StallAfter = time.Millisecond

// maxIdleWorkers is how many goroutines of a Hub wait for work at most;
// more exit when they find none.
const maxIdleWorkers = 4

// Hub delivers events to sessions in the same process. Each registered
// session has a queue; the hub's goroutines call the session's handler for
// each event, one at a time and in the order Deliver was called for that
// session (DLV-2), never two at once for one session. Deliver only appends
// to the queue, so it never waits for a handler.
//
// The goroutines are shared by all sessions, so that a burst of events for
// many sessions wakes one goroutine rather than one per session (the
// goroutine switches cost more than fast handlers). A handler that takes
// long holds its goroutine: when some session's events have waited
// StallAfter with every goroutine busy, the hub starts another one, so a
// slow or blocked handler delays other sessions by about a millisecond and
// never stops them. Up to four goroutines wait for work when there is none
// (none before the first Deliver); the others exit.
//
// The queues are unbounded: a handler that never returns makes its queue
// grow without limit (the memory it takes is the cost of never blocking the
// runtime). Handlers should return quickly and hand long work elsewhere.
//
// A handler that panics is recovered: the panic is logged with
// slog.Default() (user, session, event, stack) and the session goes on
// receiving its next events; no other session is affected.
//
// Close never waits for a handler, so a handler may call it and a blocked
// one cannot hold it up (see Close).
//
// Hub implements port.Delivery and port.SessionRegistry. It is safe for
// concurrent use.
type Hub struct {
	mu       sync.Mutex
	closed   bool
	sessions map[sessionKey]*session

	ready   readyQueue // sessions with queued events and no goroutine on them
	work    *sync.Cond // on mu: signalled when ready may be non-empty, or at Close
	workers int        // live worker goroutines
	idle    int        // workers waiting on work
	waking  int        // idle workers signalled that have not looked at ready yet

	// The stall watch: while ready is non-empty a timer looks at its head
	// every StallAfter; the same head twice in a row has waited a whole
	// period, and gets a new worker if every worker is busy.
	watch     *time.Timer
	watching  bool
	watchHead *session
	watchGen  uint64
}

type sessionKey struct{ user, session string }

// session is one registered session. Every field but handle is guarded by
// the hub's mu.
type session struct {
	key       sessionKey
	handle    func(kernel.Event)
	queue     []kernel.Event
	spare     []kernel.Event // the slice a worker handed back, reused for queue
	scheduled bool           // in ready, or a worker is handling its events
	stopped   bool           // unregistered: nothing more is queued
	gen       uint64         // counts the times it was put in ready
}

// NewHub returns a hub with no sessions.
func NewHub() *Hub {
	h := &Hub{sessions: make(map[sessionKey]*session)}
	h.work = sync.NewCond(&h.mu)
	return h
}

// Register makes handle receive the events delivered to session of user,
// from the hub's goroutines, until unregister is called. unregister may be
// called more than once and from a handler; events queued before it are
// still handled, later ones are dropped (Deliver returns port.ErrNoSession).
func (h *Hub) Register(user, session string, handle func(kernel.Event)) (unregister func(), err error) {
	if handle == nil {
		return nil, fmt.Errorf("memory: Register of %q/%q needs a handler", user, session)
	}
	key := sessionKey{user, session}
	s := newSession(key, handle)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, errHubClosed
	case h.sessions[key] != nil:
		return nil, fmt.Errorf("memory hub: %q of user %q: %w", session, user, port.ErrSessionTaken)
	}
	h.sessions[key] = s
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			if h.sessions[key] == s {
				delete(h.sessions, key)
			}
			s.stopped = true
			h.mu.Unlock()
		})
	}, nil
}

// Deliver queues ev for session of user and returns at once. ev may be
// kept: its Invitees are only read. It returns port.ErrNoSession if the
// session is not registered and port.ErrClosed after Close.
func (h *Hub) Deliver(user, session string, ev kernel.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[sessionKey{user, session}]
	switch {
	case h.closed:
		return errHubClosed
	case s == nil || s.stopped:
		return fmt.Errorf("memory hub: %q of user %q: %w", session, user, port.ErrNoSession)
	}
	s.queue = append(s.queue, ev)
	if !s.scheduled {
		s.scheduled = true
		h.schedule(s)
	}
	return nil
}

// Close unregisters every session and returns at once: Register and
// Deliver fail from then on, and it never waits for a handler, so it may
// be called from one, and a handler that blocks cannot hold it up. The
// events queued before are still handed to their handlers, by the hub's
// goroutines, which exit once every queue is empty (a goroutine blocked in
// a handler exits when the handler returns). Later calls return nil.
func (h *Hub) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, s := range h.sessions {
		s.stopped = true
	}
	clear(h.sessions)
	h.work.Broadcast()
	return nil
}

func newSession(key sessionKey, handle func(kernel.Event)) *session {
	return &session{key: key, handle: handle}
}

// schedule puts s, which has events and no worker, in ready, and makes sure
// a worker will come: an idle one is signalled unless one already is; with
// none idle, the busy ones come back to ready when done, and the stall
// watch covers the case that they do not. h.mu is held.
func (h *Hub) schedule(s *session) {
	h.enqueue(s)
	switch {
	case h.idle > 0 && h.waking == 0:
		h.waking++
		h.work.Signal()
	case h.workers == 0:
		h.startWorker()
	}
}

// enqueue puts s at the back of ready and arms the stall watch if it is
// not armed. h.mu is held.
func (h *Hub) enqueue(s *session) {
	s.gen++
	h.ready.push(s)
	if !h.watching {
		h.watching, h.watchHead = true, nil
		if h.watch == nil {
			h.watch = time.AfterFunc(StallAfter, h.checkStall)
		} else {
			h.watch.Reset(StallAfter)
		}
	}
}

// startWorker starts one more worker. h.mu is held.
func (h *Hub) startWorker() {
	h.workers++
	go h.worker()
}

// checkStall is the stall watch's timer function.
func (h *Hub) checkStall() {
	h.mu.Lock()
	defer h.mu.Unlock()
	head := h.ready.peek()
	if head == nil {
		h.watching, h.watchHead = false, nil
		return
	}
	if head == h.watchHead && head.gen == h.watchGen && h.idle == 0 {
		h.startWorker() // the head waited a whole period, every worker busy
	}
	h.watchHead, h.watchGen = head, head.gen
	h.watch.Reset(StallAfter)
}

// worker takes sessions from ready and hands each one's queued events to
// its handler, until the hub is closed and nothing is left, or there are
// enough idle workers. It holds h.mu except while handlers run.
func (h *Hub) worker() {
	h.mu.Lock()
	for {
		s := h.ready.pop()
		if s == nil {
			if h.closed || h.idle >= maxIdleWorkers {
				h.workers--
				if h.closed && h.workers == 0 && h.watch != nil {
					h.watch.Stop()
					h.watching = false
				}
				h.mu.Unlock()
				return
			}
			h.idle++
			h.work.Wait()
			h.idle--
			if h.waking > 0 {
				h.waking--
			}
			continue
		}
		batch := s.queue
		s.queue, s.spare = s.spare[:0], nil
		h.mu.Unlock()
		for i := range batch {
			handleSafely(s, batch[i])
			batch[i] = kernel.Event{}
		}
		h.mu.Lock()
		s.spare = batch[:0]
		if len(s.queue) > 0 {
			h.enqueue(s) // at the back: other sessions go first
		} else {
			s.scheduled = false
		}
	}
}

// handleSafely calls s's handler with ev and recovers a panic of it, so
// that the worker, the hub's lock and the other sessions are unaffected.
func handleSafely(s *session, ev kernel.Event) {
	defer func() {
		if v := recover(); v != nil {
			slog.Default().LogAttrs(context.Background(), slog.LevelError, "memory hub: a handler panicked; the session goes on with its next event",
				slog.String("user", s.key.user), slog.String("session", s.key.session),
				slog.String("event", ev.Type.String()), slog.String("inviteID", ev.InviteID),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
		}
	}()
	s.handle(ev)
}

// readyQueue is a FIFO of sessions.
type readyQueue struct {
	items []*session
	head  int
}

func (q *readyQueue) push(s *session) { q.items = append(q.items, s) }

func (q *readyQueue) peek() *session {
	if q.head == len(q.items) {
		return nil
	}
	return q.items[q.head]
}

func (q *readyQueue) pop() *session {
	s := q.peek()
	if s == nil {
		return nil
	}
	q.items[q.head] = nil
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head >= 64 && q.head*2 >= len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return s
}
