package memory

import (
	"fmt"
	"slices"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// StoreOption configures a Store (see NewStore).
type StoreOption func(*Store)

// WithRetention sets how many call records a Store keeps per user and
// for how long (port.Retention; its zero fields mean the defaults,
// port.DefaultRecordsPerUser and port.DefaultRecordMaxAge).
func WithRetention(r port.Retention) StoreOption {
	return func(s *Store) { s.retention = r.WithDefaults() }
}

// userRecords are one user's call records in the reverse of the listing
// order, the oldest first, so that a new record, nearly always the newest,
// is appended. Retention drops records from the front by moving head, in
// bulk once trimSlack records are past the limit (Records never lists
// those), and the slice is compacted once half of it is dropped: adding a
// record touches only the end of the slice.
type userRecords struct {
	recs []storedRecord
	head int // recs[:head] are dropped
}

// storedRecord is one record: where it lists, and its call encoded with
// kernel.AppendClosedCall (one encoding shared by the call's participants).
type storedRecord struct {
	cur  port.RecordCursor
	call []byte
}

// keep adds the records of the batch's closed calls (under s.mu, after
// the batch was accepted) and drops those retention no longer keeps.
func (s *Store) keep(calls []kernel.ClosedCall) {
	for i := range calls {
		c := &calls[i]
		s.callBuf = kernel.AppendClosedCall(s.callBuf[:0], c)
		r := storedRecord{cur: port.RecordCursor{Closed: c.Closed, InviteID: c.InviteID, Index: c.Index},
			call: slices.Clone(s.callBuf)} // one allocation of the exact size
		if !s.hasNewest || c.Closed > s.newest {
			s.newest, s.hasNewest = c.Closed, true
		}
		for u := range c.Participants {
			ur := s.records[u]
			if ur == nil {
				ur = new(userRecords)
				s.records[u] = ur
			}
			ur.add(r)
			if len(ur.recs)-ur.head > s.retention.MaxPerUser+trimSlack {
				ur.trim(s.retention.MaxPerUser, s.retention.Cutoff(s.newest))
			}
		}
	}
}

// trimSlack is how many records past the retention limit a user may hold
// before they are dropped in one go.
const trimSlack = 64

// listedAfter orders the records for a binary search by cursor c: the
// records before c's position in the slice are those listed after c.
func listedAfter(r storedRecord, c port.RecordCursor) int { return c.Compare(r.cur) }

// add inserts r in order.
func (ur *userRecords) add(r storedRecord) {
	live := ur.recs[ur.head:]
	if n := len(live); n == 0 || live[n-1].cur.Compare(r.cur) > 0 {
		ur.recs = append(ur.recs, r) // listed first: the common case
		return
	}
	i, _ := slices.BinarySearchFunc(live, r.cur, listedAfter)
	ur.recs = slices.Insert(ur.recs, ur.head+i, r)
}

// trim drops the oldest records beyond maxPerUser and those that closed
// before cutoff.
func (ur *userRecords) trim(maxPerUser int, cutoff int64) {
	h := max(ur.head, len(ur.recs)-maxPerUser)
	for h < len(ur.recs) && ur.recs[h].cur.Closed < cutoff {
		h++
	}
	clear(ur.recs[ur.head:h])
	ur.head = h
	if ur.head >= 64 && ur.head >= len(ur.recs)/2 {
		n := copy(ur.recs, ur.recs[ur.head:])
		clear(ur.recs[n:])
		ur.recs, ur.head = ur.recs[:n], 0
	}
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
	live := ur.recs[max(ur.head, len(ur.recs)-s.retention.MaxPerUser):] // see trimSlack
	end := len(live)                                                    // the records at end-1, end-2, ... are listed after the cursor
	if !after.IsZero() {
		end, _ = slices.BinarySearchFunc(live, after, listedAfter)
	}
	cutoff := s.retention.Cutoff(s.newest)
	var out []port.CallRecord
	for i := end - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		c, err := kernel.DecodeClosedCall(live[i].call)
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
