package kernel

import (
	"encoding/binary"
	"fmt"
)

// eventVersion is the first byte of every encoded session event.
const eventVersion = 1

// AppendSessionEvent appends the binary encoding of e to dst and returns
// the extended slice: what a store keeps of a resumable session's event
// (REM-5). The encoding (version 1) is: version byte, the strings User and
// Session, uvarint Seq, Resumable byte (0 or 1), Type byte, the strings
// InviteID, Inviter, Invitee, GroupID, Data, uvarint count and strings of
// Invitees; each string is a uvarint length and its bytes.
func AppendSessionEvent(dst []byte, e SessionEvent) []byte {
	dst = append(dst, eventVersion)
	dst = appendString(dst, e.User)
	dst = appendString(dst, e.Session)
	dst = binary.AppendUvarint(dst, e.Seq)
	var resumable byte
	if e.Resumable {
		resumable = 1
	}
	ev := &e.Event
	dst = append(dst, resumable, byte(ev.Type))
	for _, s := range [...]string{ev.InviteID, ev.Inviter, ev.Invitee, ev.GroupID, ev.Data} {
		dst = appendString(dst, s)
	}
	dst = binary.AppendUvarint(dst, uint64(len(ev.Invitees)))
	for _, s := range ev.Invitees {
		dst = appendString(dst, s)
	}
	return dst
}

// DecodeSessionEvent decodes one session event written by
// AppendSessionEvent. Malformed, truncated or trailing bytes give an error
// wrapping ErrCorrupt; it never panics.
func DecodeSessionEvent(b []byte) (SessionEvent, error) {
	d := decoder{b: b}
	var e SessionEvent
	if v := d.byte(); v != eventVersion && d.err == nil {
		return e, fmt.Errorf("%w: session event version %d, this build reads %d", ErrCorrupt, v, eventVersion)
	}
	e.User, e.Session = d.string(), d.string()
	e.Seq = d.uvarint()
	resumable := d.byte()
	e.Resumable = resumable == 1
	ev := &e.Event
	ev.Type = EventType(d.byte())
	ev.InviteID, ev.Inviter, ev.Invitee, ev.GroupID, ev.Data = d.string(), d.string(), d.string(), d.string(), d.string()
	if n := d.count(); n > 0 {
		ev.Invitees = make([]string, n)
		for i := range ev.Invitees {
			ev.Invitees[i] = d.string()
		}
	}
	if d.err == nil && resumable > 1 {
		d.err = fmt.Errorf("resumable byte %d", resumable)
	}
	if d.err == nil && (ev.Type == 0 || int(ev.Type) >= len(eventNames)) {
		d.err = fmt.Errorf("unknown event type %d", ev.Type)
	}
	if err := d.finish(); err != nil {
		return SessionEvent{}, fmt.Errorf("session event: %w", err)
	}
	return e, nil
}
