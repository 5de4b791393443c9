package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Record is one logged input: what a durable driver writes before it
// hands a Step's events over (Step.Record) and re-applies on recovery.
type Record struct {
	Index uint64    // position in the log, assigned by the driver, 1-based and gapless
	At    time.Time // Kernel.Now() after the Apply: the time the input took effect at
	Input Input     // with InviteID set to Result.InviteID, and no ProposedInviteID
}

// recordVersion is the first byte of every encoded record.
const recordVersion = 1

// AppendRecord appends the binary encoding of r to dst and returns the
// extended slice. The encoding (version 1) is: version byte, uvarint Index,
// varint At as Unix nanoseconds, Op byte, flags byte (bit 0 OnlineUserOnly,
// bit 1 Push present), varint Timeout, then the strings User, Session,
// RequestID, InviteID, Group, Data, uvarint count and strings of Invitees,
// and if Push is present Title, Desc, Ext, Sound; each string is a uvarint
// length and its bytes. Input.ProposedInviteID is not encoded: the
// kernel's Records never carry one.
func AppendRecord(dst []byte, r Record) []byte {
	in := &r.Input
	dst = append(dst, recordVersion)
	dst = binary.AppendUvarint(dst, r.Index)
	dst = binary.AppendVarint(dst, r.At.UnixNano())
	var flags byte
	if in.OnlineUserOnly {
		flags |= 1
	}
	if in.Push != nil {
		flags |= 2
	}
	dst = append(dst, byte(in.Op), flags)
	dst = binary.AppendVarint(dst, int64(in.Timeout))
	for _, s := range [...]string{in.User, in.Session, in.RequestID, in.InviteID, in.Group, in.Data} {
		dst = appendString(dst, s)
	}
	dst = binary.AppendUvarint(dst, uint64(len(in.Invitees)))
	for _, s := range in.Invitees {
		dst = appendString(dst, s)
	}
	if in.Push != nil {
		for _, s := range [...]string{in.Push.Title, in.Push.Desc, in.Push.Ext, in.Push.Sound} {
			dst = appendString(dst, s)
		}
	}
	return dst
}

// DecodeRecord decodes one record written by AppendRecord. Malformed,
// truncated or trailing bytes give an error wrapping ErrCorrupt; it never
// panics and never allocates more than a small multiple of len(b).
func DecodeRecord(b []byte) (Record, error) {
	d := decoder{b: b}
	var r Record
	if v := d.byte(); v != recordVersion && d.err == nil {
		return r, fmt.Errorf("%w: record version %d, this build reads %d", ErrCorrupt, v, recordVersion)
	}
	r.Index = d.uvarint()
	r.At = time.Unix(0, d.varint())
	in := &r.Input
	in.Op = Op(d.byte())
	flags := d.byte()
	in.OnlineUserOnly = flags&1 != 0
	t := d.varint()
	in.Timeout = int(t)
	in.User, in.Session, in.RequestID = d.string(), d.string(), d.string()
	in.InviteID, in.Group, in.Data = d.string(), d.string(), d.string()
	if n := d.count(); n > 0 {
		in.Invitees = make([]string, n)
		for i := range in.Invitees {
			in.Invitees[i] = d.string()
		}
	}
	if flags&2 != 0 {
		in.Push = &PushInfo{Title: d.string(), Desc: d.string(), Ext: d.string(), Sound: d.string()}
	}
	if d.err == nil && flags&^3 != 0 {
		d.err = errors.New("unknown flags")
	}
	if d.err == nil && (in.Op == 0 || in.Op >= opCount) {
		d.err = fmt.Errorf("unknown op %d", in.Op)
	}
	if d.err == nil && int64(in.Timeout) != t {
		d.err = fmt.Errorf("timeout %d out of range", t)
	}
	if err := d.finish(); err != nil {
		return Record{}, fmt.Errorf("record: %w", err)
	}
	return r, nil
}

// ErrCorrupt is wrapped by every error about bytes that are not a valid
// record or snapshot.
var ErrCorrupt = errors.New("beckon: corrupt encoding")

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decoder reads the kernel's binary encodings; the first error sticks and
// every later read returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or malformed %s", ErrCorrupt, what)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail("byte")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || (n > 1 && d.b[n-1] == 0) { // overflow, truncated, or not minimal (re-encodes differently)
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// uint64 reads 8 bytes, little-endian.
func (d *decoder) uint64() uint64 {
	if d.err != nil || len(d.b) < 8 {
		d.fail("uint64")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || (n > 1 && d.b[n-1] == 0) { // overflow, truncated, or not minimal (re-encodes differently)
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a element count; each element takes at least one byte, so a
// count above the bytes left is malformed (this bounds allocation).
func (d *decoder) count() int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) {
		d.fail("count")
		return 0
	}
	return int(n)
}

func (d *decoder) string() string { return string(d.bytes()) }

// bytes reads a string's bytes, aliasing the encoding.
func (d *decoder) bytes() []byte {
	n := d.count()
	if d.err != nil {
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.b))
	}
	if d.err != nil && !errors.Is(d.err, ErrCorrupt) {
		d.err = fmt.Errorf("%w: %v", ErrCorrupt, d.err)
	}
	return d.err
}
