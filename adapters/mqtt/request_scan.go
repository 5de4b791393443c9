package mqtt

import (
	"unicode/utf16"
	"unicode/utf8"
)

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
