package kernel

import (
	"unicode/utf8"
)

// use says how an Op uses a field.
type use uint8

const (
	unused   use = iota // must be zero
	optional            // may be zero
	required            // must not be zero
)

// The fields of an Input, in the order validate checks them.
const (
	fUser = iota
	fSession
	fRequestID
	fInviteID
	fProposedInviteID
	fGroup
	fInvitees
	fTimeout
	fPush
	fOnlineUserOnly
	fData

	fieldCount
)

var fieldNames = [fieldCount]string{"User", "Session", "RequestID", "InviteID", "ProposedInviteID", "Group",
	"Invitees", "Timeout", "Push", "OnlineUserOnly", "Data"}

// fieldUse is, per Op, the use of each field, in the order above.
var fieldUse = [opCount][fieldCount]use{
	OpInvite:        {required, optional, optional, optional, optional, unused, required, optional, optional, optional, optional},
	OpInviteInGroup: {required, optional, optional, optional, optional, required, required, optional, unused, optional, optional},
	OpCancel:        {required, optional, optional, required, unused, unused, unused, unused, unused, unused, optional},
	OpAccept:        {required, optional, optional, required, unused, unused, unused, unused, unused, unused, optional},
	OpReject:        {required, optional, optional, required, unused, unused, unused, unused, unused, unused, optional},
	OpModify:        {required, optional, optional, required, unused, unused, unused, unused, unused, unused, optional},
	OpConnect:       {required, required, unused, unused, unused, unused, unused, optional, unused, unused, unused},
	OpDisconnect:    {required, required, unused, unused, unused, unused, unused, unused, unused, unused, unused},
	OpSuspend:       {required, required, unused, unused, unused, unused, unused, unused, unused, unused, unused},
	OpResume:        {required, required, unused, unused, unused, unused, unused, optional, unused, unused, unused},
	OpSetGroup:      {unused, unused, unused, unused, unused, required, optional, unused, unused, unused, unused},
	OpJoinGroup:     {required, unused, unused, unused, unused, required, unused, unused, unused, unused, unused},
	OpLeaveGroup:    {required, unused, unused, unused, unused, required, unused, unused, unused, unused, unused},
	OpTick:          {},
}

// validate checks the form of every field of in, in the documented order.
// It looks at no state.
func (k *Kernel) validate(in *Input) error {
	if in.Op == 0 || in.Op >= opCount {
		return fail(ErrInvalidParameters, "Op", in.Op.String(), "unknown operation")
	}
	uses := &fieldUse[in.Op]
	maxID := k.cfg.MaxIDBytes
	present := [fieldCount]bool{in.User != "", in.Session != "", in.RequestID != "", in.InviteID != "",
		in.ProposedInviteID != "", in.Group != "", len(in.Invitees) > 0, in.Timeout != 0, in.Push != nil,
		in.OnlineUserOnly, in.Data != ""}
	for f := range fieldCount {
		name := fieldNames[f]
		switch {
		case uses[f] == unused && present[f]:
			const msg = "%s does not use this field; leave it empty"
			if given := in.given(f); given != "" {
				return failGiven(ErrInvalidParameters, name, given, msg, in.Op)
			}
			return fail(ErrInvalidParameters, name, in.fieldValue(f), msg, in.Op)
		case uses[f] == required && !present[f] && f != fInvitees:
			return fail(ErrInvalidParameters, name, "", "%s needs this field", in.Op)
		case !present[f] && f != fInvitees:
			continue
		}
		var err error
		switch f {
		case fUser, fSession, fRequestID, fGroup:
			err = checkID(name, in.fieldValue(f), maxID)
		case fInviteID:
			err = checkID(name, in.InviteID, MaxInviteIDBytes)
		case fProposedInviteID:
			if err = checkID(name, in.ProposedInviteID, MaxInviteIDBytes); err == nil && in.InviteID != "" {
				err = fail(ErrInvalidParameters, name, in.ProposedInviteID, "the caller chose InviteID; leave this field empty")
			}
		case fInvitees:
			err = k.checkInvitees(in)
		case fTimeout:
			if in.Op == OpConnect || in.Op == OpResume {
				if in.Timeout < 0 || in.Timeout > MaxSessionExpirySeconds {
					err = fail(ErrInvalidParameters, name, itoa(in.Timeout), "a session's expiry must be 0 (none) to %d seconds", MaxSessionExpirySeconds)
				}
			} else if in.Timeout < 0 || in.Timeout > k.cfg.MaxTimeoutSeconds {
				err = fail(ErrInvalidParameters, name, itoa(in.Timeout), "the timeout must be 0 (none) to %d seconds", k.cfg.MaxTimeoutSeconds)
			}
		case fPush:
			err = k.checkPush(in)
		case fData:
			if len(in.Data) > k.cfg.MaxDataBytes {
				err = failGiven(ErrBodySizeLimit, name, in.given(f), "above the limit of %d bytes (Config.MaxDataBytes)", k.cfg.MaxDataBytes)
			} else if i := invalidUTF8(in.Data); i >= 0 {
				err = failGiven(ErrInvalidParameters, name, in.given(f), "not valid UTF-8 at byte %d (the signaling envelope is JSON text)", i)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkPush checks the push info of an invite (INV-4, INV-7): a desc, not
// online-only, within Config.MaxPushBytes, valid UTF-8, in this order.
func (k *Kernel) checkPush(in *Input) error {
	p := in.Push
	fields := [...]struct{ name, value string }{{"Push.Title", p.Title}, {"Push.Desc", p.Desc}, {"Push.Ext", p.Ext}, {"Push.Sound", p.Sound}}
	size := 0
	for _, f := range fields {
		size += len(f.value)
	}
	switch {
	case p.Desc == "":
		return fail(ErrInvalidParameters, "Push.Desc", "", "push info needs a desc")
	case in.OnlineUserOnly:
		return failGiven(ErrInvalidParameters, "Push", "given", "an online-only invite is never pushed (it reaches only invitees online now); leave Push empty")
	case size > k.cfg.MaxPushBytes:
		return failGiven(ErrBodySizeLimit, "Push", itoa(size)+" bytes",
			"title, desc, ext and sound together are above the limit of %d bytes (Config.MaxPushBytes)", k.cfg.MaxPushBytes)
	}
	for _, f := range fields {
		if i := invalidUTF8(f.value); i >= 0 {
			return failGiven(ErrInvalidParameters, f.name, itoa(len(f.value))+" bytes", "not valid UTF-8 at byte %d", i)
		}
	}
	return nil
}

// invalidUTF8 returns the offset of the first byte of s that is not valid
// UTF-8, or -1.
func invalidUTF8(s string) int {
	if utf8.ValidString(s) {
		return -1
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				return i
			}
		}
	}
	return -1
}

// given describes field f of in where its value is not echoed in errors
// (data and push info may be large or private; a list is described by its
// length); "" for the fields that are echoed (see fieldValue).
func (in *Input) given(f int) string {
	switch f {
	case fInvitees:
		return itoa(len(in.Invitees)) + " given"
	case fPush:
		return "given"
	case fData:
		return itoa(len(in.Data)) + " bytes"
	}
	return ""
}

// fieldValue is field f of in as text, for error messages.
func (in *Input) fieldValue(f int) string {
	switch f {
	case fUser:
		return in.User
	case fSession:
		return in.Session
	case fRequestID:
		return in.RequestID
	case fInviteID:
		return in.InviteID
	case fProposedInviteID:
		return in.ProposedInviteID
	case fGroup:
		return in.Group
	case fTimeout:
		return itoa(in.Timeout)
	case fOnlineUserOnly:
		return "true"
	}
	return ""
}

func (k *Kernel) checkInvitees(in *Input) error {
	list := in.Invitees
	switch in.Op {
	case OpInvite:
		if len(list) != 1 {
			return fail(ErrInvalidParameters, "Invitees", itoa(len(list)), "a 1:1 invite has exactly one invitee; use InviteInGroup for more")
		}
	case OpInviteInGroup:
		if len(list) == 0 {
			return fail(ErrInvalidParameters, "Invitees", "", "a group invite needs at least one invitee")
		}
		if len(list) > k.cfg.MaxInvitees {
			return fail(ErrInvalidParameters, "Invitees", itoa(len(list)), "more invitees than the limit of %d (Config.MaxInvitees)", k.cfg.MaxInvitees)
		}
	}
	for i, u := range list {
		if err := checkID("", u, k.cfg.MaxIDBytes); err != nil {
			err.(*OpError).Field = inviteeField(in.Op, i)
			return err
		}
		if u == in.User && in.Op != OpSetGroup {
			return fail(ErrInvalidParameters, inviteeField(in.Op, i), u, "the inviter cannot invite itself")
		}
		for _, v := range list[:i] {
			if v == u {
				return fail(ErrInvalidParameters, inviteeField(in.Op, i), u, "listed twice")
			}
		}
	}
	return nil
}

// inviteeField names element i of Input.Invitees in an error.
func inviteeField(op Op, i int) string {
	if op == OpSetGroup {
		return "Invitees[" + itoa(i) + "] (member)"
	}
	return "Invitees[" + itoa(i) + "]"
}

// checkID checks a user, session, group, request or invite ID: non-empty,
// at most max bytes of UTF-8, no control characters.
func checkID(field, id string, max int) error {
	if id == "" {
		return fail(ErrInvalidParameters, field, id, "empty ID")
	}
	if len(id) > max {
		return fail(ErrInvalidParameters, field, id, "the ID is %d bytes, above the limit of %d", len(id), max)
	}
	for i := 0; i < len(id); {
		c := id[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return fail(ErrInvalidParameters, field, id, "control character at byte %d", i)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(id[i:])
		if r == utf8.RuneError && n <= 1 {
			return fail(ErrInvalidParameters, field, id, "not valid UTF-8 at byte %d", i)
		}
		if r >= 0x80 && r < 0xa0 {
			return fail(ErrInvalidParameters, field, id, "control character at byte %d", i)
		}
		i += n
	}
	return nil
}
