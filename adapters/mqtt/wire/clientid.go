package wire

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// MaxIDBytes bounds a user, device or correlation ID (docs/protocol.md
// "Connecting").
const MaxIDBytes = 128

// topicPrefix starts every topic of the protocol.
const topicPrefix = "beckon/v1/"

// Topics of a client ID (docs/protocol.md "Topics").
func ReqTopic(cid string) string    { return topicPrefix + cid + "/req" }
func ReplyTopic(cid string) string  { return topicPrefix + cid + "/reply" }
func EventsTopic(cid string) string { return topicPrefix + cid + "/events" }

// EscapeID escapes one part of a client ID: '%', '/', '+', '#' and bytes
// below 0x20 or 0x7F become %XX (two upper-case hex digits).
func EscapeID(id string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c == '%' || c == '/' || c == '+' || c == '#' || c < 0x20 || c == 0x7F {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ClientID returns the client ID a device of user connects with.
func ClientID(user, device string) string { return EscapeID(user) + "/" + EscapeID(device) }

var errClientID = errors.New("client ID is not <escaped user>/<device>")

// ParseClientID returns the device of cid if cid is ClientID(user, device)
// exactly (the canonical escaping), for a valid user and device ID.
func ParseClientID(user, cid string) (device string, err error) {
	if ValidID(user) != nil {
		return "", errClientID
	}
	esc := EscapeID(user)
	if !strings.HasPrefix(cid, esc+"/") {
		return "", errClientID
	}
	device, err = unescapeID(cid[len(esc)+1:])
	if err != nil || ValidID(device) != nil || ClientID(user, device) != cid {
		return "", errClientID
	}
	return device, nil
}

func unescapeID(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", errClientID
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return "", errClientID
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// ValidID refuses an ID that is not 1..128 bytes of UTF-8 without control
// characters (docs/protocol.md "Connecting").
func ValidID(id string) error {
	if id == "" || len(id) > MaxIDBytes {
		return errors.New("an ID is 1..128 bytes")
	}
	if !utf8.ValidString(id) {
		return errors.New("an ID is UTF-8")
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] == 0x7F {
			return errors.New("an ID has no control characters")
		}
	}
	return nil
}
