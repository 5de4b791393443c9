package memory

import (
	"errors"
	"fmt"
	"sync"

	"github.com/beckonhq/beckon/kernel"
)

// Errors of the Hub.
var (
	// ErrNoSession is returned by Deliver for a session that is not
	// registered (never was, or unregistered since): the event is dropped.
	ErrNoSession = errors.New("memory: no such session registered with the hub")
	// ErrSessionTaken is returned by Register for a (user, session) pair
	// that is already registered: unregister it first, or pick another
	// session ID.
	ErrSessionTaken = errors.New("memory: session already registered with the hub")
	// ErrHubClosed is returned by Register and Deliver after Close.
	ErrHubClosed = errors.New("memory: hub is closed")
)

// Hub delivers events to sessions in the same process. Each registered
// session has its own queue and its own goroutine that calls the session's
// handler for each event, one at a time, in the order Deliver was called
// for that session (DLV-2). Deliver only appends to the queue, so it never
// waits for a handler: a slow handler delays its own session only.
//
// The queues are unbounded: a handler that never returns makes its queue
// grow without limit (the memory it takes is the cost of never blocking the
// runtime). Handlers should return quickly and hand long work elsewhere.
//
// Hub implements beckon.Delivery and beckon.SessionRegistry. It is safe for
// concurrent use.
type Hub struct {
	mu       sync.RWMutex
	closed   bool
	sessions map[sessionKey]*session
	running  sync.WaitGroup // one per session goroutine
}

type sessionKey struct{ user, session string }

// session is one registered session: a queue drained by its goroutine.
type session struct {
	handle func(kernel.Event)
	wake   chan struct{} // capacity 1: "the queue may be non-empty"

	mu      sync.Mutex
	queue   []kernel.Event
	stopped bool // no more events are queued; the goroutine exits once the queue is empty
}

// NewHub returns a hub with no sessions.
func NewHub() *Hub {
	return &Hub{sessions: make(map[sessionKey]*session)}
}

// Register makes handle receive the events delivered to session of user,
// from a goroutine of its own, until unregister is called. unregister may
// be called more than once and from a handler; events queued before it are
// still handled, later ones are dropped (Deliver returns ErrNoSession).
func (h *Hub) Register(user, session string, handle func(kernel.Event)) (unregister func(), err error) {
	if handle == nil {
		return nil, fmt.Errorf("memory: Register of %q/%q needs a handler", user, session)
	}
	key := sessionKey{user, session}
	s := newSession(handle)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, ErrHubClosed
	case h.sessions[key] != nil:
		return nil, fmt.Errorf("%w: %q of user %q", ErrSessionTaken, session, user)
	}
	h.sessions[key] = s
	h.running.Add(1)
	go func() {
		defer h.running.Done()
		s.run()
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			if h.sessions[key] == s {
				delete(h.sessions, key)
			}
			h.mu.Unlock()
			s.stop()
		})
	}, nil
}

// Deliver queues ev for session of user and returns at once. ev may be
// kept: its Invitees are only read. It returns ErrNoSession if the session
// is not registered and ErrHubClosed after Close.
func (h *Hub) Deliver(user, session string, ev kernel.Event) error {
	h.mu.RLock()
	s, closed := h.sessions[sessionKey{user, session}], h.closed
	h.mu.RUnlock()
	switch {
	case closed:
		return ErrHubClosed
	case s == nil || !s.push(ev):
		return fmt.Errorf("%w: %q of user %q", ErrNoSession, session, user)
	}
	return nil
}

// Close unregisters every session and waits until each session goroutine
// has handled what was queued and exited. Do not call it from a handler
// (it would wait for itself).
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed = true
	sessions := h.sessions
	h.sessions = make(map[sessionKey]*session)
	h.mu.Unlock()
	for _, s := range sessions {
		s.stop()
	}
	h.running.Wait()
	return nil
}

func newSession(handle func(kernel.Event)) *session {
	return &session{handle: handle, wake: make(chan struct{}, 1)}
}

// push appends ev to the queue; false if the session is stopped.
func (s *session) push(ev kernel.Event) bool {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return false
	}
	s.queue = append(s.queue, ev)
	first := len(s.queue) == 1
	s.mu.Unlock()
	if first {
		s.signal()
	}
	return true
}

func (s *session) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.signal()
}

func (s *session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run hands the queued events to the handler in order, until stopped and
// empty. It swaps the queue with a spare slice, so a burst costs one lock.
func (s *session) run() {
	var spare []kernel.Event
	for range s.wake {
		for {
			s.mu.Lock()
			batch, stopped := s.queue, s.stopped
			if len(batch) == 0 {
				s.mu.Unlock()
				if stopped {
					return
				}
				break
			}
			s.queue = spare[:0]
			s.mu.Unlock()
			for i := range batch {
				s.handle(batch[i])
				batch[i] = kernel.Event{}
			}
			spare = batch
		}
	}
}
