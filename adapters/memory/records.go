package memory

import (
	"fmt"
	"slices"
	"strings"

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

// userRecords are one user's call records, oldest first (the reverse of
// the listing order, so that a new record, usually the newest, is added
// at the end): each is its port.RecordCursor key and the call encoded
// with kernel.AppendClosedCall, shared by the records of its participants.
type userRecords struct {
	keys  []string
	calls [][]byte
}

// keep adds the records of the batch's closed calls (under s.mu, after
// the batch was accepted) and drops those retention no longer keeps.
func (s *Store) keep(calls []kernel.ClosedCall) {
	for i := range calls {
		c := &calls[i]
		enc := kernel.AppendClosedCall(nil, c)
		key := string(port.RecordCursor{Closed: c.Closed, InviteID: c.InviteID, Index: c.Index}.AppendKey(nil))
		if !s.hasNewest || c.Closed > s.newest {
			s.newest, s.hasNewest = c.Closed, true
		}
		for u := range c.Participants {
			ur := s.records[u]
			if ur == nil {
				ur = new(userRecords)
				s.records[u] = ur
			}
			ur.add(key, enc)
			ur.trim(s.retention, s.retention.Cutoff(s.newest))
		}
	}
}

// add inserts a record in order (keys descending).
func (ur *userRecords) add(key string, enc []byte) {
	i, _ := slices.BinarySearchFunc(ur.keys, key, func(a, b string) int { return strings.Compare(b, a) })
	ur.keys = slices.Insert(ur.keys, i, key)
	ur.calls = slices.Insert(ur.calls, i, enc)
}

// trim drops the oldest records beyond r.MaxPerUser and those that closed
// before cutoff.
func (ur *userRecords) trim(r port.Retention, cutoff int64) {
	n := max(0, len(ur.keys)-r.MaxPerUser)
	for n < len(ur.keys) && closedOf(ur.keys[n]) < cutoff {
		n++
	}
	if n > 0 {
		ur.keys = slices.Delete(ur.keys, 0, n)
		ur.calls = slices.Delete(ur.calls, 0, n)
	}
}

// closedOf reads the close time out of a record key.
func closedOf(key string) int64 {
	var u uint64
	for i := range 8 {
		u = u<<8 | uint64(key[i])
	}
	return int64(^u ^ 1<<63)
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
	end := len(ur.keys) // the records at end-1, end-2, ... come after the cursor
	if !after.IsZero() {
		k := string(after.AppendKey(nil))
		end, _ = slices.BinarySearchFunc(ur.keys, k, func(a, b string) int { return strings.Compare(b, a) })
	}
	cutoff := s.retention.Cutoff(s.newest)
	var out []port.CallRecord
	for i := end - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		c, err := kernel.DecodeClosedCall(ur.calls[i])
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
