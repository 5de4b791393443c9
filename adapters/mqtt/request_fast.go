package mqtt

import (
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
			opName, op = wire.SignalingOp(name)
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
