package memory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// Call records (REC-1, REC-2). Each closed call is encoded once into the
// store's calls log (pointer-free chunks, as the history), and each of its
// participants files the call's 32-bit position there in an index of its
// own. Filing a call is an encoding, one copy and a 4-byte append per
// participant, and the garbage collector has nothing to scan in any of it.
// A call stays in the log while a user lists it; compactCalls drops the
// rest, in one pass once the log holds twice what was live at the last
// pass (amortized: each call is copied about once more).

// StoreOption configures a Store (see NewStore).
type StoreOption func(*Store)

// WithRetention sets how many call records a Store keeps per user and
// for how long (port.Retention; its zero fields mean the defaults,
// port.DefaultRecordsPerUser and port.DefaultRecordMaxAge).
func WithRetention(r port.Retention) StoreOption {
	return func(s *Store) { s.retention = r.WithDefaults() }
}

// MaxCalls is how many closed calls a Store holds at once, those some user
// still lists (about 4 billion: their positions are 32-bit). Append fails
// beyond it.
const MaxCalls = 1<<32 - 1

var maxCalls uint64 = MaxCalls // tests lower it

// minCompaction is the least number of calls the log gains between two
// compactions, so that a store with few live calls does not compact often.
const minCompaction = 1 << 16

// userRecords is one user's call records: positions in the calls log, in
// the reverse of the listing order, the oldest first, so that a new
// record, nearly always the newest, is appended. Retention drops records
// from the front by moving head, in bulk once trimSlack records are past
// the limit (Records never lists those), and the slice is compacted once
// half of it is dropped: adding a record touches only the end of the
// slice.
type userRecords struct {
	pos  []uint32
	head int   // pos[:head] are dropped
	last int64 // close time of the call at pos[len(pos)-1]: a later one is filed without reading the log
}

// trimSlack is how many records past the retention limit a user may hold
// before they are dropped in one go.
const trimSlack = 64

// roomForCalls makes room in the calls log for n more calls, compacting it
// if it is due, and fails if it would pass MaxCalls even so.
func (s *Store) roomForCalls(n int) error {
	if uint64(s.calls.len())+uint64(n) > min(s.compactAt, maxCalls) {
		s.compactCalls()
	}
	if uint64(s.calls.len())+uint64(n) > maxCalls {
		return fmt.Errorf("memory: the call records are full: users list %d calls, and %d more would pass MaxCalls; lower the retention (WithRetention)", s.calls.len(), n)
	}
	return nil
}

// keep adds the records of the batch's closed calls (under s.mu, after
// the batch was accepted and roomForCalls made room) and drops those
// retention no longer keeps.
func (s *Store) keep(calls []kernel.ClosedCall) {
	for i := range calls {
		c := &calls[i]
		s.callBuf = appendCall(s.callBuf[:0], c)
		p := uint32(s.calls.len())
		s.calls.add(s.callBuf)
		if !s.hasNewest || c.Closed > s.newest {
			s.newest, s.hasNewest = c.Closed, true
		}
		cur := port.RecordCursor{Closed: c.Closed, InviteID: c.InviteID, Index: c.Index}
		s.file(c.Inviter, p, &cur) // c.Participants, without a closure per call
		for _, u := range c.Invitees {
			s.file(u, p, &cur)
		}
	}
}

// file inserts the call at position p, whose cursor is cur, in user's
// records, in order, and applies retention when they are trimSlack past
// it.
func (s *Store) file(user string, p uint32, cur *port.RecordCursor) {
	ur := s.records[user]
	if ur == nil {
		ur = new(userRecords)
		s.records[user] = ur
	}
	live := ur.pos[ur.head:]
	switch n := len(live); {
	case n == 0 || cur.Closed > ur.last || compareCall(s.calls.entry(int(live[n-1])), cur) > 0:
		ur.pos = append(ur.pos, p) // listed first: the common case
		ur.last = cur.Closed
	default:
		i, _ := slices.BinarySearchFunc(live, *cur, s.listedAfter)
		ur.pos = slices.Insert(ur.pos, ur.head+i, p)
	}
	if len(ur.pos)-ur.head > s.retention.MaxPerUser+trimSlack {
		s.trim(ur)
	}
}

// listedAfter orders the records for a binary search by cursor c: the
// records before c's place in a user's positions are those listed after c.
func (s *Store) listedAfter(p uint32, c port.RecordCursor) int {
	return -compareCall(s.calls.entry(int(p)), &c)
}

// trim drops ur's oldest records beyond the retention's count and those
// that closed before its cutoff.
func (s *Store) trim(ur *userRecords) {
	cutoff := s.retention.Cutoff(s.newest)
	h := max(ur.head, len(ur.pos)-s.retention.MaxPerUser)
	for h < len(ur.pos) && closedOf(s.calls.entry(int(ur.pos[h]))) < cutoff {
		h++
	}
	ur.head = h
	if ur.head >= 64 && ur.head >= len(ur.pos)/2 {
		n := copy(ur.pos, ur.pos[ur.head:])
		ur.pos, ur.head = ur.pos[:n], 0
	}
}

// compactCalls trims every user's records, drops the calls no user lists
// any more from the calls log and renumbers the positions of the rest. A
// user left without records is forgotten.
func (s *Store) compactCalls() {
	n := s.calls.len()
	listed := make([]uint64, (n+63)/64) // bit p: some user lists the call at p
	for u, ur := range s.records {
		s.trim(ur)
		if ur.head == len(ur.pos) {
			delete(s.records, u)
			continue
		}
		for _, p := range ur.pos[ur.head:] {
			listed[p/64] |= 1 << (p % 64)
		}
	}
	before := make([]uint32, len(listed)) // calls listed before word w of listed: their new positions start there
	kept := log{freeData: s.calls.freeData, freeRefs: s.calls.freeRefs}
	for w, word := range listed {
		before[w] = uint32(kept.len())
		for ; word != 0; word &= word - 1 {
			kept.add(s.calls.entry(w*64 + bits.TrailingZeros64(word)))
		}
	}
	for _, ur := range s.records {
		for j, p := range ur.pos[ur.head:] {
			ur.pos[ur.head+j] = before[p/64] + uint32(bits.OnesCount64(listed[p/64]&(1<<(p%64)-1)))
		}
	}
	s.calls.freeInto(&kept)
	s.calls = kept
	live := uint64(kept.len())
	s.compactAt = max(2*live, live+minCompaction)
}

// Records lists user's call records after the cursor, newest first, at
// most limit (<= 0: all kept); see port.Store.
func (s *Store) Records(user string, after port.RecordCursor, limit int) ([]port.CallRecord, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errStoreClosed
	}
	ur := s.records[user]
	if ur == nil {
		return nil, nil
	}
	live := ur.pos[max(ur.head, len(ur.pos)-s.retention.MaxPerUser):] // see trimSlack
	end := len(live)                                                  // the records at end-1, end-2, ... are listed after the cursor
	if !after.IsZero() {
		end, _ = slices.BinarySearchFunc(live, after, s.listedAfter)
	}
	cutoff := s.retention.Cutoff(s.newest)
	var out []port.CallRecord
	for i := end - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		c, err := decodeCall(s.calls.entry(int(live[i])))
		if err != nil {
			return nil, fmt.Errorf("memory: call record of %q: %w", user, err)
		}
		if c.Closed < cutoff {
			break
		}
		o, _ := c.Outcome(user)
		out = append(out, port.CallRecord{User: user, Outcome: o, Call: c})
	}
	return out, nil
}

// appendCall encodes a closed call: Closed, Index and Created as 8 bytes
// each (little-endian; the cursor's numbers at fixed places), then the
// strings InviteID, Inviter and Group, the invitee count, and each
// invitee with its state byte; strings and the count as in appendHistory.
func appendCall(b []byte, c *kernel.ClosedCall) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(c.Closed))
	b = binary.LittleEndian.AppendUint64(b, c.Index)
	b = binary.LittleEndian.AppendUint64(b, uint64(c.Created))
	b = appendString(b, c.InviteID)
	b = appendString(b, c.Inviter)
	b = appendString(b, c.Group)
	b = binary.AppendUvarint(b, uint64(len(c.Invitees)))
	for i, u := range c.Invitees {
		b = appendString(b, u)
		b = append(b, byte(c.States[i]))
	}
	return b
}

// callHead is the size of an encoded call's fixed part.
const callHead = 24

// closedOf reads the close time of an encoded call.
func closedOf(e []byte) int64 { return int64(binary.LittleEndian.Uint64(e)) }

// compareCall compares the cursor of an encoded call with c, as
// port.RecordCursor.Compare does, without decoding the call.
func compareCall(e []byte, c *port.RecordCursor) int {
	if closed := closedOf(e); closed != c.Closed {
		if closed > c.Closed {
			return -1
		}
		return 1
	}
	id := e[callHead:]
	l, k := binary.Uvarint(id)
	id = id[k : k+int(l)]
	if string(id) != c.InviteID {
		if string(id) < c.InviteID {
			return -1
		}
		return 1
	}
	if index := binary.LittleEndian.Uint64(e[8:]); index != c.Index {
		if index > c.Index {
			return -1
		}
		return 1
	}
	return 0
}

// decodeCall reads what appendCall wrote.
func decodeCall(e []byte) (kernel.ClosedCall, error) {
	if len(e) < callHead {
		return kernel.ClosedCall{}, errTruncated
	}
	c := kernel.ClosedCall{Closed: closedOf(e), Index: binary.LittleEndian.Uint64(e[8:]),
		Created: int64(binary.LittleEndian.Uint64(e[16:]))}
	d := decoder{b: e[callHead:]}
	c.InviteID, c.Inviter, c.Group = d.string(), d.string(), d.string()
	if n := d.count(); n > 0 {
		c.Invitees, c.States = make([]string, n), make([]kernel.State, n)
		for i := range c.Invitees {
			c.Invitees[i], c.States[i] = d.string(), kernel.State(d.byte())
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("trailing bytes")
	}
	return c, d.err
}
