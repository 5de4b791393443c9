package kernel

import (
	"encoding/binary"
	"time"
)

// requestMemory remembers the results of successful operations by (user,
// request ID) for IDM-1, with a fingerprint of each call for IDM-2: for a
// bounded window and a bounded count, oldest first out (LIM-2).
type requestMemory struct {
	byKey map[string]*request
	fifo  []*request // in the order remembered; fifo[head:] are live
	head  int
}

type request struct {
	key      string // user + "\x00" + request ID (IDs have no control characters)
	at       int64
	inviteID string
	// call is the fingerprint of the call (callPrint); 0 when unknown (a
	// request remembered by a version-1 snapshot), which every call matches.
	call uint64
}

func newRequestMemory() requestMemory {
	return requestMemory{byKey: make(map[string]*request)}
}

func requestKey(user, requestID string) string { return user + "\x00" + requestID }

// lookup returns what is remembered of (user, requestID), or nil.
func (m *requestMemory) lookup(user, requestID string) *request {
	if len(m.byKey) == 0 {
		return nil
	}
	return m.byKey[requestKey(user, requestID)]
}

func (m *requestMemory) remember(user, requestID, inviteID string, call uint64, now int64, max int) {
	r := &request{key: requestKey(user, requestID), at: now, inviteID: inviteID, call: call}
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

// callPrint is the fingerprint of a signaling call for IDM-2: a 64-bit
// FNV-1a hash of its operation and arguments (every field but the user,
// whose request IDs these are, the acting session, the request ID itself
// and the driver's ProposedInviteID), each length-prefixed so that no two
// calls encode alike. Two different calls share a fingerprint with
// probability 2^-64; the second would then be answered as a retry of the
// first. Never 0 (see request.call).
//
// An invite's InviteID is left out: its logged Record carries the ID
// taken, chosen or drawn alike, so replay could not hash what the caller
// gave. sameCall compares a chosen one with the ID remembered instead.
func callPrint(in *Input) uint64 {
	h := fnv{offset64}
	h.bytes([]byte{byte(in.Op)})
	if in.Op != OpInvite && in.Op != OpInviteInGroup {
		h.string(in.InviteID)
	}
	h.string(in.Group)
	h.uint(uint64(len(in.Invitees)))
	for _, u := range in.Invitees {
		h.string(u)
	}
	h.string(in.Data)
	var flags byte
	if in.OnlineUserOnly {
		flags |= 1
	}
	if in.Push != nil {
		flags |= 2
	}
	h.bytes([]byte{flags})
	h.uint(uint64(int64(in.Timeout)))
	if p := in.Push; p != nil {
		for _, s := range [...]string{p.Title, p.Desc, p.Ext, p.Sound} {
			h.string(s)
		}
	}
	if h.sum == 0 {
		return 1
	}
	return h.sum
}

// sameCall reports whether in, with fingerprint call, is the call r
// remembers (IDM-1) rather than another (IDM-2). An invite that chooses
// its ID is the same only if it chose the ID taken; one that does not
// choose may retry one that did.
func (r *request) sameCall(in *Input, call uint64) bool {
	if r.call == 0 { // unknown (version-1 snapshot): any call is the retry
		return true
	}
	invite := in.Op == OpInvite || in.Op == OpInviteInGroup
	return r.call == call && !(invite && in.InviteID != "" && in.InviteID != r.inviteID)
}

const (
	offset64 = 14695981039346656037
	prime64  = 1099511628211
)

// fnv is FNV-1a, 64-bit, written out so that hashing allocates nothing.
type fnv struct{ sum uint64 }

func (h *fnv) bytes(b []byte) {
	for _, c := range b {
		h.sum ^= uint64(c)
		h.sum *= prime64
	}
}

func (h *fnv) string(s string) {
	h.uint(uint64(len(s)))
	for i := 0; i < len(s); i++ {
		h.sum ^= uint64(s[i])
		h.sum *= prime64
	}
}

func (h *fnv) uint(v uint64) {
	var b [binary.MaxVarintLen64]byte
	h.bytes(b[:binary.PutUvarint(b[:], v)])
}
