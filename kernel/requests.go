package kernel

import "time"

// requestMemory remembers the results of successful operations by (user,
// request ID) for IDM-1: for a bounded window and a bounded count, oldest
// first out (LIM-2).
type requestMemory struct {
	byKey map[string]*request
	fifo  []*request // in the order remembered; fifo[head:] are live
	head  int
}

type request struct {
	key      string // user + "\x00" + request ID (IDs have no control characters)
	at       int64
	inviteID string
}

func newRequestMemory() requestMemory {
	return requestMemory{byKey: make(map[string]*request)}
}

func requestKey(user, requestID string) string { return user + "\x00" + requestID }

func (m *requestMemory) lookup(user, requestID string) (string, bool) {
	if len(m.byKey) == 0 {
		return "", false
	}
	r, ok := m.byKey[requestKey(user, requestID)]
	if !ok {
		return "", false
	}
	return r.inviteID, true
}

func (m *requestMemory) remember(user, requestID, inviteID string, now int64, max int) {
	r := &request{key: requestKey(user, requestID), at: now, inviteID: inviteID}
	m.byKey[r.key] = r
	m.fifo = append(m.fifo, r)
	for m.live() > max {
		m.pop()
	}
}

func (m *requestMemory) live() int { return len(m.fifo) - m.head }

// expire forgets what was remembered window or longer ago.
func (m *requestMemory) expire(now int64, window time.Duration) {
	for m.live() > 0 && now-m.fifo[m.head].at >= int64(window) {
		m.pop()
	}
}

func (m *requestMemory) pop() {
	r := m.fifo[m.head]
	m.fifo[m.head] = nil
	m.head++
	delete(m.byKey, r.key)
	if m.head > 1024 && m.head*2 > len(m.fifo) {
		n := copy(m.fifo, m.fifo[m.head:])
		clear(m.fifo[n:])
		m.fifo = m.fifo[:n]
		m.head = 0
	}
}

// each calls f for every remembered request, oldest first.
func (m *requestMemory) each(f func(*request)) {
	for _, r := range m.fifo[m.head:] {
		f(r)
	}
}
