package mqtt

import (
	"unicode/utf16"
	"unicode/utf8"

	"github.com/beckonhq/beckon/adapters/mqtt/wire"
	"github.com/beckonhq/beckon/kernel"
)

// decodeFast decodes the common requests, the six signaling operations
// written plainly, without encoding/json's reflection and buffers. It
// reads only what it is sure of: ok is false for anything else (a read,
// an unknown or repeated key, a key that only encoding/json's
// case-insensitive matching would take, a number that is not a small
// integer, a null where it cannot tell what encoding/json would do, a
// surrogate \u escape, invalid UTF-8, trailing data), and then the strict
// decoder decides. It never accepts what the strict decoder refuses, and
// what it accepts decodes to the strict decoder's Request exactly
// (FuzzMQTTRequestFast checks both). Every string it returns is a copy:
// payload may be reused.
func decodeFast(payload []byte, user, session string) (req Request, ok bool) {
	s := scanner{b: payload}
	var (
		id, requestID string
		hasID         bool
		op            kernel.Op
		opName        string
		a             fastArgs
		seen          uint8
	)
	ok = s.object(func(key []byte) bool {
		var bit uint8
		switch string(key) {
		case "id":
			bit = 1
		case "op":
			bit = 2
		case "requestID":
			bit = 4
		case "args":
			bit = 8
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		switch bit {
		case 1:
			if s.null() {
				return true
			}
			hasID = true
			return s.str(&id)
		case 2:
			var name string
			if !s.str(&name) {
				return false
			}
			opName, op = signalingOp(name)
			return op != 0
		case 4:
			return s.null() || s.str(&requestID)
		default:
			return s.null() || a.decode(&s)
		}
	})
	if !ok || !s.end() || op == 0 || hasID && !validCorrelationID(id) || a.keys&^argKeys(op) != 0 {
		return Request{}, false
	}
	var in kernel.Input
	switch op {
	case kernel.OpInvite:
		in = a.InviteArgs.Input()
	case kernel.OpInviteInGroup:
		in = wire.InviteInGroupArgs{Group: a.Group, Invitees: a.Invitees, Data: a.Data, Timeout: a.Timeout,
			OnlineUserOnly: a.OnlineUserOnly, InviteID: a.InviteID}.Input()
	default:
		in = wire.RespondArgs{InviteID: a.InviteID, Data: a.Data}.Input(op)
	}
	in.User, in.Session, in.RequestID = user, session, requestID
	return Request{ID: id, Op: opName, Input: &in}, true
}

// signalingOp is the op of a signaling operation's wire name, and that
// name as a constant (not a copy of the payload's); 0 for any other.
func signalingOp(name string) (string, kernel.Op) {
	switch name {
	case "invite":
		return "invite", kernel.OpInvite
	case "inviteInGroup":
		return "inviteInGroup", kernel.OpInviteInGroup
	case "cancel":
		return "cancel", kernel.OpCancel
	case "accept":
		return "accept", kernel.OpAccept
	case "reject":
		return "reject", kernel.OpReject
	case "modify":
		return "modify", kernel.OpModify
	}
	return "", 0
}

// Keys of the signaling args, one bit each: the args are read before the
// op may be known (JSON keys come in any order), so all of them are read
// into one fastArgs, and then the op's argKeys say which it may have.
const (
	keyInvitee = 1 << iota
	keyData
	keyTimeout
	keyOnlineUserOnly
	keyInviteID
	keyPush
	keyGroup
	keyInvitees
)

// argKeys are the keys of a signaling op's args (wire.*Args).
func argKeys(op kernel.Op) uint16 {
	switch op {
	case kernel.OpInvite:
		return keyInvitee | keyData | keyTimeout | keyOnlineUserOnly | keyInviteID | keyPush
	case kernel.OpInviteInGroup:
		return keyGroup | keyInvitees | keyData | keyTimeout | keyOnlineUserOnly | keyInviteID
	}
	return keyInviteID | keyData
}

// fastArgs are the args of any signaling op, and which keys they had.
type fastArgs struct {
	wire.InviteArgs
	Group    string
	Invitees []string
	keys     uint16
}

// decode reads an args object. A null value leaves its field zero, as
// encoding/json does (each key is read at most once).
func (a *fastArgs) decode(s *scanner) bool {
	return s.object(func(key []byte) bool {
		var bit uint16
		switch string(key) {
		case "invitee":
			bit = keyInvitee
		case "data":
			bit = keyData
		case "timeout":
			bit = keyTimeout
		case "onlineUserOnly":
			bit = keyOnlineUserOnly
		case "inviteID":
			bit = keyInviteID
		case "push":
			bit = keyPush
		case "group":
			bit = keyGroup
		case "invitees":
			bit = keyInvitees
		default:
			return false
		}
		if a.keys&bit != 0 {
			return false
		}
		a.keys |= bit
		if s.null() {
			return true
		}
		switch bit {
		case keyInvitee:
			return s.str(&a.Invitee)
		case keyData:
			return s.str(&a.Data)
		case keyTimeout:
			return s.small(&a.Timeout)
		case keyOnlineUserOnly:
			return s.boolean(&a.OnlineUserOnly)
		case keyInviteID:
			return s.str(&a.InviteID)
		case keyPush:
			a.Push = new(wire.Push)
			return s.push(a.Push)
		case keyGroup:
			return s.str(&a.Group)
		default:
			return s.strings(&a.Invitees)
		}
	})
}

// push reads a push object into p.
func (s *scanner) push(p *wire.Push) bool {
	var seen uint8
	return s.object(func(key []byte) bool {
		var bit uint8
		var f *string
		switch string(key) {
		case "title":
			bit, f = 1, &p.Title
		case "desc":
			bit, f = 2, &p.Desc
		case "ext":
			bit, f = 4, &p.Ext
		case "sound":
			bit, f = 8, &p.Sound
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return s.null() || s.str(f)
	})
}

// scanner reads the subset of JSON that decodeFast takes. Each method
// skips the whitespace before its value and reports false when the input
// is not what it reads, leaving the decision to the strict decoder.
type scanner struct {
	b   []byte
	i   int
	buf []byte // a string's unescaped bytes, reused from string to string
}

// ws skips JSON whitespace.
func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek is the next byte after whitespace; 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i == len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// end reports whether only whitespace is left.
func (s *scanner) end() bool { return s.peek() == 0 && s.i == len(s.b) }

// literal consumes lit if it comes next.
func (s *scanner) literal(lit string) bool {
	s.ws()
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

func (s *scanner) null() bool { return s.literal("null") }

// object reads an object, calling value with each key once the scanner is
// at that key's value; value reads the value and reports whether it could.
// A key is given only when it is printable ASCII without escapes, so that
// comparing its bytes is what encoding/json's matching would do for an
// exact field name.
func (s *scanner) object(value func(key []byte) bool) bool {
	if s.peek() != '{' {
		return false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return true
	}
	for {
		if s.peek() != '"' {
			return false
		}
		start := s.i + 1
		end := start
		for end < len(s.b) && s.b[end] != '"' {
			if c := s.b[end]; c < 0x20 || c >= utf8.RuneSelf || c == '\\' {
				return false
			}
			end++
		}
		if end == len(s.b) {
			return false
		}
		s.i = end + 1
		if s.peek() != ':' {
			return false
		}
		s.i++
		if !value(s.b[start:end]) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// strings reads an array of strings. An empty array is an empty slice,
// not nil, as encoding/json gives it.
func (s *scanner) strings(out *[]string) bool {
	if s.peek() != '[' {
		return false
	}
	s.i++
	list := []string{}
	if s.peek() == ']' {
		s.i++
		*out = list
		return true
	}
	for {
		var v string
		if !s.str(&v) {
			return false
		}
		list = append(list, v)
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			*out = list
			return true
		default:
			return false
		}
	}
}

// small reads an integer of at most 9 digits (it fits any int), in
// JSON's form: no leading zeros, plus sign, fraction or exponent. Longer
// ones fail here: the next byte is then a digit, which no caller takes.
func (s *scanner) small(out *int) bool {
	s.ws()
	neg := s.i < len(s.b) && s.b[s.i] == '-'
	if neg {
		s.i++
	}
	start, n := s.i, 0
	for s.i < len(s.b) && s.i-start < 9 && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		n = n*10 + int(s.b[s.i]-'0')
		s.i++
	}
	if digits := s.i - start; digits == 0 || digits > 1 && s.b[start] == '0' {
		return false
	}
	if neg {
		n = -n
	}
	*out = n
	return true
}

func (s *scanner) boolean(out *bool) bool {
	switch {
	case s.literal("true"):
		*out = true
	case s.literal("false"):
		*out = false
	default:
		return false
	}
	return true
}

// str reads a string into out, one allocation. Its bytes must be valid
// UTF-8: encoding/json replaces invalid ones with U+FFFD, which this
// leaves to it. Escapes are JSON's, but a \u escape of a UTF-16 surrogate
// (half of a pair, or alone) is left to encoding/json too.
func (s *scanner) str(out *string) bool {
	if s.peek() != '"' {
		return false
	}
	s.i++
	start, ascii := s.i, true
	s.buf = s.buf[:0]
	chunk := start // the first byte not yet in buf
	for ; s.i < len(s.b); s.i++ {
		c := s.b[s.i]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(s.b[start:s.i]) {
				return false
			}
			if chunk == start {
				*out = string(s.b[start:s.i])
			} else {
				s.buf = append(s.buf, s.b[chunk:s.i]...)
				*out = string(s.buf)
			}
			s.i++
			return true
		case c < 0x20:
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		case c == '\\':
			s.buf = append(s.buf, s.b[chunk:s.i]...)
			n := s.escape()
			if n == 0 {
				return false
			}
			s.i += n - 1
			chunk = s.i + 1
		}
	}
	return false
}

// escape appends the character of the escape at s.i to buf and returns
// the escape's length; 0 if it is not one str takes.
func (s *scanner) escape() int {
	if s.i+1 >= len(s.b) {
		return 0
	}
	switch c := s.b[s.i+1]; c {
	case '"', '\\', '/':
		s.buf = append(s.buf, c)
	case 'b':
		s.buf = append(s.buf, '\b')
	case 'f':
		s.buf = append(s.buf, '\f')
	case 'n':
		s.buf = append(s.buf, '\n')
	case 'r':
		s.buf = append(s.buf, '\r')
	case 't':
		s.buf = append(s.buf, '\t')
	case 'u':
		if s.i+6 > len(s.b) {
			return 0
		}
		var r rune
		for _, h := range s.b[s.i+2 : s.i+6] {
			switch {
			case '0' <= h && h <= '9':
				h -= '0'
			case 'a' <= h && h <= 'f':
				h -= 'a' - 10
			case 'A' <= h && h <= 'F':
				h -= 'A' - 10
			default:
				return 0
			}
			r = r<<4 | rune(h)
		}
		if utf16.IsSurrogate(r) {
			return 0
		}
		s.buf = utf8.AppendRune(s.buf, r)
		return 6
	default:
		return 0
	}
	return 2
}
