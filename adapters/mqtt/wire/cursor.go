package wire

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// EncodeCursor is the wire form of a place in a user's call records
// (docs/protocol.md "records"): the base64url (no padding) of
// RecordCursor.AppendKey, so that it is opaque to devices and orders as
// the records do. The start (the zero cursor) is "".
func EncodeCursor(c port.RecordCursor) string {
	if c.IsZero() {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(c.AppendKey(nil))
}

// DecodeCursor reads what EncodeCursor wrote ("" is the start). Anything
// else is refused with an error wrapping kernel.ErrInvalidParameters
// (6017): pass back a cursor the server gave, unchanged.
func DecodeCursor(s string) (port.RecordCursor, error) {
	if s == "" {
		return port.RecordCursor{}, nil
	}
	const fixed = 8 + 1 + 8 // close time, separator, index
	if len(s) > base64.RawURLEncoding.EncodedLen(fixed+kernel.MaxInviteIDBytes) {
		return port.RecordCursor{}, badCursor(s, "%d characters is too long", len(s))
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return port.RecordCursor{}, badCursor(s, "not base64url without padding: %v", err)
	}
	if len(b) <= fixed || b[len(b)-9] != 0 {
		return port.RecordCursor{}, badCursor(s, "not a cursor of this server")
	}
	id := b[8 : len(b)-9]
	if !utf8.Valid(id) {
		return port.RecordCursor{}, badCursor(s, "its invite ID is not UTF-8")
	}
	for _, c := range id {
		if c < 0x20 || c == 0x7f {
			return port.RecordCursor{}, badCursor(s, "its invite ID holds a control character")
		}
	}
	return port.RecordCursor{
		Closed:   int64(^binary.BigEndian.Uint64(b) ^ 1<<63),
		InviteID: string(id),
		Index:    ^binary.BigEndian.Uint64(b[len(b)-8:]),
	}, nil
}

func badCursor(s, format string, args ...any) error {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return &kernel.OpError{Class: kernel.ErrInvalidParameters, Field: "cursor", Value: s,
		Msg: fmt.Sprintf(format, args...) + "; pass back the cursor of a record or the next of a page, unchanged"}
}
