package mqtt

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"pgregory.net/rapid"
)

// TestDecodeFastTakesTheCommonRequests: the fast path decodes every
// signaling request a JSON encoder could write (any key order, whitespace,
// escapes of any character but a surrogate, nulls) to exactly what the
// strict decoder gives, so that the requests devices send skip
// encoding/json.
func TestDecodeFastTakesTheCommonRequests(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		payload := genRequest(t)
		got, ok := decodeFast([]byte(payload), "alice", "phone")
		want, err := DecodeRequestStrict([]byte(payload), "alice", "phone", len(payload))
		switch {
		case err != nil:
			t.Fatalf("payload %s: the strict decoder refuses it: %v", payload, err)
		case !ok:
			t.Fatalf("payload %s: the fast path gave up", payload)
		case !reflect.DeepEqual(got, want):
			t.Fatalf("payload %s:\nfast   %+v %+v\nstrict %+v %+v", payload, got, *got.Input, want, *want.Input)
		}
	})
}

// TestDecodeFastMutants: a request a byte or two away from one the fast
// path takes decodes as DecodeRequestStrict decodes it, accepted or
// refused (FuzzMQTTRequestFast checks any bytes; these are the near
// misses where a lenient scanner would go wrong).
func TestDecodeFastMutants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := []byte(genRequest(t))
		for range rapid.IntRange(1, 2).Draw(t, "mutations") {
			i := rapid.IntRange(0, len(b)).Draw(t, "at")
			c := rapid.SampledFrom([]byte("{}[]\":,. \t\x00\x7f\xc3\xa9\xff-+0159eEuUnltfrsaxOPI")).Draw(t, "byte")
			switch rapid.IntRange(0, 2).Draw(t, "mutation") {
			case 0:
				b = slices.Insert(b, i, c)
			case 1:
				if i < len(b) {
					b = slices.Delete(b, i, i+1)
				}
			default:
				if i < len(b) {
					b[i] = c
				}
			}
		}
		got, gotErr := DecodeRequest(b, "alice", "phone", 4096)
		want, wantErr := DecodeRequestStrict(b, "alice", "phone", 4096)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("payload %q:\nDecodeRequest       %+v, %v\nDecodeRequestStrict %+v, %v", b, got, gotErr, want, wantErr)
		}
	})
}

// TestDecodeFastGivesUp: what only encoding/json can decide exactly, the
// fast path leaves to it.
func TestDecodeFastGivesUp(t *testing.T) {
	for _, p := range []string{
		`{"id":"a","op":"accept","op":"cancel","args":{}}`,                // duplicate key: the last wins
		`{"id":"a","op":"accept","args":{"data":"x","data":"y"}}`,         // in args too
		`{"id":"a","op":"invite","args":{"push":{"desc":"x","desc":""}}}`, // and in push
		`{"id":"a","OP":"accept","args":{}}`,                              // encoding/json matches keys without case
		`{"id":"a","op":"accept","args":{"inviteId":"x"}}`,
		`{"id":"a","op":"accept","args":{"invit\u0065eID":"x"}}`, // an escaped key
		`{"id":"a","op":"invite","args":{"invitee":"b","timeout":1e1}}`,
		`{"id":"a","op":"invite","args":{"invitee":"b","timeout":30.0}}`,
		`{"id":"a","op":"invite","args":{"invitee":"b","timeout":1234567890}}`,
		`{"id":"a","op":"accept","args":{"data":"\ud83d\ude00"}}`,        // a surrogate pair
		`{"id":"a","op":"accept","args":{"data":"` + "\xff" + `"}}`,      // U+FFFD in encoding/json
		`{"id":"a","op":"inviteInGroup","args":{"invitees":["a",null]}}`, // "" in encoding/json
		`{"id":"a","op":"history","args":{"peer":"bob"}}`,                // a read
		`{"id":"a","op":"accept","args":{}}` + "\x00",
		`{"id":"","op":"accept","args":{}}`,
		`{"id":"a","op":"accept","args":{"inviteID":"x","invitee":"b"}}`, // invite's key
	} {
		if r, ok := decodeFast([]byte(p), "alice", "phone"); ok {
			t.Errorf("payload %s: decoded to %+v, want the fast path to give up", p, r)
		}
	}
}

// genRequest is a signaling request as a JSON encoder could write it.
func genRequest(t *rapid.T) string {
	op := rapid.SampledFrom([]string{"invite", "inviteInGroup", "cancel", "accept", "reject", "modify"}).Draw(t, "op")
	ws := rapid.SampledFrom([]string{"", " ", "\n\t\r "}).Draw(t, "whitespace")
	args := map[string]string{}
	maybe := func(key string, value func() string) {
		switch rapid.IntRange(0, 3).Draw(t, key) {
		case 0: // absent
		case 1:
			args[key] = "null"
		default:
			args[key] = value()
		}
	}
	str := func(label string) func() string {
		return func() string { return genString(t, label) }
	}
	maybe("data", str("data"))
	maybe("inviteID", str("inviteID"))
	if op == "invite" || op == "inviteInGroup" {
		maybe("timeout", func() string { return fmt.Sprint(rapid.IntRange(-999999999, 999999999).Draw(t, "timeout")) })
		maybe("onlineUserOnly", func() string { return fmt.Sprint(rapid.Bool().Draw(t, "onlineUserOnly")) })
	}
	if op == "invite" {
		maybe("invitee", str("invitee"))
		maybe("push", func() string {
			push := map[string]string{}
			for _, k := range []string{"title", "desc", "ext", "sound"} {
				if rapid.Bool().Draw(t, k) {
					push[k] = genString(t, k)
				}
			}
			return genObject(t, push, ws)
		})
	}
	if op == "inviteInGroup" {
		maybe("group", str("group"))
		maybe("invitees", func() string {
			var list []string
			for i := range rapid.IntRange(0, 3).Draw(t, "invitees") {
				list = append(list, genString(t, fmt.Sprint("invitee", i)))
			}
			return "[" + ws + strings.Join(list, ws+","+ws) + ws + "]"
		})
	}
	top := map[string]string{"op": quote(t, op)}
	if rapid.Bool().Draw(t, "has id") {
		top["id"] = quote(t, rapid.StringN(1, 20, 128).Draw(t, "id"))
	}
	maybeTop := func(key string, value string) {
		switch rapid.IntRange(0, 2).Draw(t, key) {
		case 1:
			top[key] = "null"
		case 2:
			top[key] = value
		}
	}
	maybeTop("requestID", genString(t, "requestID"))
	maybeTop("args", genObject(t, args, ws))
	return ws + genObject(t, top, ws) + ws
}

// genObject writes an object of the encoded values in a random key order.
func genObject(t *rapid.T, values map[string]string, ws string) string {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a map's order is not rapid's to replay
	keys = rapid.Permutation(keys).Draw(t, "key order")
	var b strings.Builder
	b.WriteString("{" + ws)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(ws + "," + ws)
		}
		b.WriteString(`"` + k + `"` + ws + ":" + ws + values[k])
	}
	b.WriteString(ws + "}")
	return b.String()
}

// genString is an encoded string of any valid UTF-8, the characters that
// JSON escapes more likely than the rest.
func genString(t *rapid.T, label string) string {
	s := rapid.OneOf(
		rapid.String(),
		rapid.StringOf(rapid.SampledFrom([]rune("\"\\/\b\f\n\r\t\x00\x1f\x7f<>&\u2028\u2029\ufffdé中😀a"))),
	).Draw(t, label)
	return quote(t, s)
}

// quote writes s as a JSON string, each character raw or escaped by chance
// in one of the ways JSON allows (a character outside the BMP raw: the
// fast path leaves surrogate escapes to encoding/json).
func quote(t *rapid.T, s string) string {
	if rapid.Bool().Draw(t, "json.Marshal") {
		b, _ := json.Marshal(s)
		return string(b)
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		short := map[rune]string{'"': `\"`, '\\': `\\`, '/': `\/`, '\b': `\b`, '\f': `\f`, '\n': `\n`, '\r': `\r`, '\t': `\t`}[r]
		mustEscape := r < 0x20 || r == '"' || r == '\\'
		switch {
		case short != "" && (mustEscape || rapid.Bool().Draw(t, "short")):
			b.WriteString(short)
		case r <= 0xffff && !utf16.IsSurrogate(r) && (mustEscape || rapid.Bool().Draw(t, "\\u")):
			f := "\\u%04x"
			if rapid.Bool().Draw(t, "upper") {
				f = "\\u%04X"
			}
			fmt.Fprintf(&b, f, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	if !utf8.ValidString(b.String()) {
		t.Fatalf("quote(%q) is not UTF-8", s)
	}
	return b.String()
}
