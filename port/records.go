package port

import (
	"encoding/binary"
	"strings"
	"time"

	"github.com/beckonhq/beckon/kernel"
)

// Default retention of call records (REC-1): what a store keeps unless
// told otherwise.
const (
	DefaultRecordMaxAge   = 90 * 24 * time.Hour // about three months
	DefaultRecordsPerUser = 1000
)

// Retention bounds the call records a store keeps: per user, the
// MaxPerUser newest, and none that closed more than MaxAge before the
// newest call the store was given (a store has no clock: its time is that
// of the calls it is given). A zero field means its default.
type Retention struct {
	MaxAge     time.Duration // default DefaultRecordMaxAge
	MaxPerUser int           // default DefaultRecordsPerUser
}

// WithDefaults returns r with its zero fields set to the defaults.
func (r Retention) WithDefaults() Retention {
	if r.MaxAge <= 0 {
		r.MaxAge = DefaultRecordMaxAge
	}
	if r.MaxPerUser <= 0 {
		r.MaxPerUser = DefaultRecordsPerUser
	}
	return r
}

// Cutoff is the close time (Unix ns) before which a record is too old,
// when the newest call given closed at newest.
func (r Retention) Cutoff(newest int64) int64 {
	if newest < minInt64+int64(r.MaxAge) {
		return minInt64
	}
	return newest - int64(r.MaxAge)
}

const minInt64 = -1 << 63

// CallRecord is one user's record of a closed call (REC-1): the call as
// the kernel closed it, and what it was for this user.
type CallRecord struct {
	User    string
	Outcome kernel.Outcome
	Call    kernel.ClosedCall
}

// Cursor is where the page after r begins (pass it to Records).
func (r *CallRecord) Cursor() RecordCursor {
	return RecordCursor{Closed: r.Call.Closed, InviteID: r.Call.InviteID, Index: r.Call.Index}
}

// RecordCursor is a place in a user's records, in their order (REC-2):
// the records after it are older, or as old with a greater invite ID, or
// as old with the same invite ID and a smaller Index. The zero value is
// the start, before the newest.
type RecordCursor struct {
	Closed   int64 // Unix nanoseconds
	InviteID string
	Index    uint64
}

// IsZero reports whether c is the start.
func (c RecordCursor) IsZero() bool { return c == RecordCursor{} }

// Compare orders records and cursors as Records lists them: negative if c
// comes first (is newer).
func (c RecordCursor) Compare(d RecordCursor) int {
	switch {
	case c.Closed != d.Closed:
		if c.Closed > d.Closed {
			return -1
		}
		return 1
	case c.InviteID != d.InviteID:
		return strings.Compare(c.InviteID, d.InviteID)
	case c.Index != d.Index:
		if c.Index > d.Index {
			return -1
		}
		return 1
	}
	return 0
}

// AppendKey appends to dst a key of c whose bytewise order is Compare's
// (for ordered key-value stores): the close time inverted (8 bytes), the
// invite ID and a zero byte (invite IDs hold no control character), the
// Index inverted (8 bytes).
func (c RecordCursor) AppendKey(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, ^(uint64(c.Closed) ^ 1<<63))
	dst = append(dst, c.InviteID...)
	dst = append(dst, 0)
	return binary.BigEndian.AppendUint64(dst, ^c.Index)
}
