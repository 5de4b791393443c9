package kernel_test

// Bad input for every field of every operation: each case gets its error
// class and code, names the field, emits nothing and leaves the state
// (the snapshot bytes) unchanged.

import (
	"errors"
	"strings"
	"testing"

	"github.com/beckonhq/beckon/kernel"
)

// badFixture is world plus group h (alice, bob), an open 1:1 invitation
// "open1" (alice to bob), an open group invitation "gopen" (alice to bob,
// who accepted, and carol in g) and an open online-only invitation "onl1"
// (alice to dave).
func badFixture(t *testing.T) *fx {
	t.Helper()
	f := world(t)
	f.group("h", "alice", "bob")
	f.ok(withID(kernel.Invite("alice", "bob", "", 30), "open1"))
	f.ok(withID(kernel.InviteInGroup("alice", "g", list("bob", "carol"), "", 30), "gopen"))
	f.ok(kernel.Accept("bob", "gopen", ""))
	onl := withID(kernel.Invite("alice", "dave", "", 30), "onl1")
	onl.OnlineUserOnly = true
	f.ok(onl)
	return f
}

// validInputs holds, per Op, an input that succeeds on badFixture.
var validInputs = map[kernel.Op]func() kernel.Input{
	kernel.OpInvite:        func() kernel.Input { return kernel.Invite("alice", "dave", "d", 10) },
	kernel.OpInviteInGroup: func() kernel.Input { return kernel.InviteInGroup("alice", "g", list("bob", "dave"), "d", 10) },
	kernel.OpCancel:        func() kernel.Input { return kernel.Cancel("alice", "open1", "c") },
	kernel.OpAccept:        func() kernel.Input { return kernel.Accept("bob", "open1", "a") },
	kernel.OpReject:        func() kernel.Input { return kernel.Reject("bob", "open1", "r") },
	kernel.OpModify:        func() kernel.Input { return kernel.Modify("alice", "open1", "m") },
	kernel.OpConnect:       func() kernel.Input { return kernel.Connect("eve", "e2") },
	kernel.OpDisconnect:    func() kernel.Input { return kernel.Disconnect("eve", "e1") },
	kernel.OpSetGroup:      func() kernel.Input { return kernel.SetGroup("h", list("alice", "carol")) },
	kernel.OpJoinGroup:     func() kernel.Input { return kernel.JoinGroup("h", "carol") },
	kernel.OpLeaveGroup:    func() kernel.Input { return kernel.LeaveGroup("h", "bob") },
	kernel.OpTick:          func() kernel.Input { return kernel.Input{Op: kernel.OpTick} },
	kernel.OpSuspend:       func() kernel.Input { return kernel.Suspend("eve", "e1") },
	kernel.OpResume:        func() kernel.Input { return kernel.Resume("eve", "e2", 60) },
}

var allOps = []kernel.Op{kernel.OpInvite, kernel.OpInviteInGroup, kernel.OpCancel, kernel.OpAccept, kernel.OpReject,
	kernel.OpModify, kernel.OpConnect, kernel.OpDisconnect, kernel.OpSetGroup, kernel.OpJoinGroup, kernel.OpLeaveGroup,
	kernel.OpTick, kernel.OpSuspend, kernel.OpResume}

// idFields are the ID fields, the first six of the field-use table.
var idFields = kernel.FieldNames[:6]

func setID(in *kernel.Input, field int, v string) {
	switch field {
	case 0:
		in.User = v
	case 1:
		in.Session = v
	case 2:
		in.RequestID = v
	case 3:
		in.InviteID = v
	case 4:
		in.ProposedInviteID = v
	case 5:
		in.Group = v
	}
}

// badIDs are malformed IDs; "oversized" is filled in per field.
var badIDs = []struct{ name, id string }{
	{"empty", ""},
	{"oversized", ""},
	{"control_char", "a\x01b"},
	{"newline", "a\nb"},
	{"NUL", "a\x00b"},
	{"DEL", "ab\x7f"},
	{"C1_control", "a\u0085b"},
	{"invalid_UTF-8", "a\xffb"},
	{"truncated_UTF-8", "ab\xe2\x82"},
	{"surrogate_half", "a\xed\xa0\x80"},
}

type badCase struct {
	name  string
	op    kernel.Op
	mut   func(in *kernel.Input)
	class *kernel.Error
	field string
}

func isSignaling(op kernel.Op) bool { return op >= kernel.OpInvite && op <= kernel.OpModify }

func badCases() []badCase {
	var cases []badCase
	add := func(op kernel.Op, name string, class *kernel.Error, field string, mut func(in *kernel.Input)) {
		cases = append(cases, badCase{op.String() + "/" + name, op, mut, class, field})
	}
	inv6017 := kernel.ErrInvalidParameters
	for _, op := range allOps {
		uses := kernel.FieldUse[op]
		for f, name := range idFields {
			switch uses[f] {
			case kernel.UseUnused:
				add(op, name+"_unused_set", inv6017, name, func(in *kernel.Input) { setID(in, f, "v") })
			default:
				for _, bad := range badIDs {
					if bad.name == "empty" && uses[f] == kernel.UseOptional {
						continue
					}
					id := bad.id
					if bad.name == "oversized" {
						id = strings.Repeat("x", kernel.DefaultMaxIDBytes+1)
						if name == "InviteID" {
							id = strings.Repeat("x", kernel.MaxInviteIDBytes+1) // 128 bytes
						}
					}
					add(op, name+"_"+bad.name, inv6017, name, func(in *kernel.Input) { setID(in, f, id) })
				}
			}
		}
		// Invitees.
		switch op {
		case kernel.OpInvite:
			add(op, "Invitees_none", inv6017, "Invitees", func(in *kernel.Input) { in.Invitees = nil })
			add(op, "Invitees_two", inv6017, "Invitees", func(in *kernel.Input) { in.Invitees = list("bob", "dave") })
			add(op, "Invitees_inviter", inv6017, "Invitees[0]", func(in *kernel.Input) { in.Invitees = list("alice") })
			for _, bad := range badIDs {
				id := bad.id
				if bad.name == "oversized" {
					id = strings.Repeat("b", kernel.DefaultMaxIDBytes+1)
				}
				add(op, "Invitees_"+bad.name, inv6017, "Invitees[0]", func(in *kernel.Input) { in.Invitees = list(id) })
			}
		case kernel.OpInviteInGroup, kernel.OpSetGroup:
			suffix := ""
			if op == kernel.OpSetGroup {
				suffix = " (member)"
			}
			if op == kernel.OpInviteInGroup {
				add(op, "Invitees_none", inv6017, "Invitees", func(in *kernel.Input) { in.Invitees = nil })
				add(op, "Invitees_inviter", inv6017, "Invitees[1]", func(in *kernel.Input) { in.Invitees = list("bob", "alice") })
				add(op, "Invitees_over_MaxInvitees", inv6017, "Invitees", func(in *kernel.Input) {
					in.Invitees = make([]string, kernel.DefaultMaxInvitees+1)
					for i := range in.Invitees {
						in.Invitees[i] = "u" + strings.Repeat("x", i)
					}
				})
				add(op, "Invitees_not_a_member", inv6017, "Invitees[1]", func(in *kernel.Input) { in.Invitees = list("bob", "eve") })
			}
			add(op, "Invitees_duplicate", inv6017, "Invitees[2]"+suffix, func(in *kernel.Input) { in.Invitees = list("bob", "dave", "bob") })
			for _, bad := range badIDs {
				id := bad.id
				if bad.name == "oversized" {
					id = strings.Repeat("b", kernel.DefaultMaxIDBytes+1)
				}
				add(op, "Invitees_"+bad.name, inv6017, "Invitees[1]"+suffix, func(in *kernel.Input) { in.Invitees = list("bob", id) })
			}
		default:
			add(op, "Invitees_unused_set", inv6017, "Invitees", func(in *kernel.Input) { in.Invitees = list("bob") })
		}
		// Timeout, Push, OnlineUserOnly.
		if op == kernel.OpInvite || op == kernel.OpInviteInGroup || op == kernel.OpConnect || op == kernel.OpResume {
			add(op, "Timeout_negative", inv6017, "Timeout", func(in *kernel.Input) { in.Timeout = -1 })
			add(op, "Timeout_above_max", inv6017, "Timeout", func(in *kernel.Input) { in.Timeout = kernel.DefaultMaxTimeoutSeconds + 1 })
		} else {
			add(op, "Timeout_unused_set", inv6017, "Timeout", func(in *kernel.Input) { in.Timeout = 5 })
		}
		switch op {
		case kernel.OpInvite:
			add(op, "Push_without_desc", inv6017, "Push.Desc", func(in *kernel.Input) {
				in.Push = &kernel.PushInfo{Title: "t", Ext: "e", Sound: "s"}
			})
			// INV-7
			add(op, "Push_online_only", inv6017, "Push", func(in *kernel.Input) {
				in.Push, in.OnlineUserOnly = &kernel.PushInfo{Desc: "d"}, true
			})
			add(op, "Push_over_MaxPushBytes", kernel.ErrBodySizeLimit, "Push", func(in *kernel.Input) {
				in.Push = &kernel.PushInfo{Title: "t", Desc: strings.Repeat("d", kernel.DefaultMaxPushBytes-1), Sound: "s"} // 4097 bytes
			})
			for _, field := range []string{"Title", "Desc", "Ext", "Sound"} {
				add(op, "Push_"+field+"_not_UTF-8", inv6017, "Push."+field, func(in *kernel.Input) {
					p := kernel.PushInfo{Title: "t", Desc: "d", Ext: "e", Sound: "s"}
					bad := "ok\xff"
					switch field {
					case "Title":
						p.Title = bad
					case "Desc":
						p.Desc = bad
					case "Ext":
						p.Ext = bad
					case "Sound":
						p.Sound = bad
					}
					in.Push = &p
				})
			}
		case kernel.OpInviteInGroup:
			add(op, "Push_on_group_invite", inv6017, "Push", func(in *kernel.Input) { in.Push = &kernel.PushInfo{Desc: "d"} })
		default:
			add(op, "Push_unused_set", inv6017, "Push", func(in *kernel.Input) { in.Push = &kernel.PushInfo{Desc: "d"} })
		}
		if op != kernel.OpInvite && op != kernel.OpInviteInGroup {
			add(op, "OnlineUserOnly_unused_set", inv6017, "OnlineUserOnly", func(in *kernel.Input) { in.OnlineUserOnly = true })
		}
		// Data.
		if isSignaling(op) {
			add(op, "Data_too_large", kernel.ErrBodySizeLimit, "Data", func(in *kernel.Input) {
				in.Data = strings.Repeat("d", kernel.DefaultMaxDataBytes+1)
			})
		} else {
			add(op, "Data_unused_set", inv6017, "Data", func(in *kernel.Input) { in.Data = "x" })
		}
	}

	// Unknown operations.
	for _, op := range []kernel.Op{0, kernel.OpResume + 1, 200} {
		cases = append(cases, badCase{"unknown_op_" + op.String(), op, func(in *kernel.Input) {
			*in = kernel.Input{Op: op, User: "alice"}
		}, inv6017, "Op"})
	}

	// State: group, membership, invite IDs.
	add(kernel.OpInviteInGroup, "unknown_group", kernel.ErrGroupNotFound, "Group", func(in *kernel.Input) { in.Group = "nosuch" })
	add(kernel.OpInviteInGroup, "inviter_not_member", kernel.ErrNotGroupMember, "User", func(in *kernel.Input) {
		in.User = "eve"
	})
	add(kernel.OpInviteInGroup, "invitee_not_member_of_h", inv6017, "Invitees[1]", func(in *kernel.Input) {
		in.Group, in.Invitees = "h", list("bob", "carol")
	})
	for _, op := range []kernel.Op{kernel.OpInvite, kernel.OpInviteInGroup} {
		for _, id := range []string{"open1", "gopen"} {
			add(op, "InviteID_in_use_"+id, kernel.ErrAlreadyExists, "InviteID", func(in *kernel.Input) { in.InviteID = id })
		}
	}
	for _, op := range []kernel.Op{kernel.OpCancel, kernel.OpAccept, kernel.OpReject, kernel.OpModify} {
		add(op, "InviteID_unknown", kernel.ErrInvalidInviteID, "InviteID", func(in *kernel.Input) { in.InviteID = "open2" })
		add(op, "InviteID_case_differs", kernel.ErrInvalidInviteID, "InviteID", func(in *kernel.Input) { in.InviteID = "OPEN1" })
	}
	// Roles and states (CAN-1, ACC-1, ACC-2, REJ-1, REJ-2, MOD-2, ONL-3).
	add(kernel.OpCancel, "by_an_invitee", kernel.ErrNoPermission, "User", func(in *kernel.Input) { in.User = "bob" })
	for _, op := range []kernel.Op{kernel.OpCancel, kernel.OpAccept, kernel.OpReject, kernel.OpModify} {
		add(op, "by_a_stranger", kernel.ErrInvalidInviteID, "User", func(in *kernel.Input) { in.User = "eve" })
	}
	for _, op := range []kernel.Op{kernel.OpAccept, kernel.OpReject} {
		add(op, "by_the_inviter", kernel.ErrInvalidInviteID, "User", func(in *kernel.Input) { in.User = "alice" })
		add(op, "already_answered", kernel.ErrInvalidInviteID, "User", func(in *kernel.Input) { in.InviteID = "gopen" })
	}
	add(kernel.OpModify, "online_only", kernel.ErrNoPermission, "InviteID", func(in *kernel.Input) { in.InviteID = "onl1" })
	for _, op := range []kernel.Op{kernel.OpJoinGroup, kernel.OpLeaveGroup} {
		add(op, "unknown_group", kernel.ErrGroupNotFound, "Group", func(in *kernel.Input) { in.Group = "nosuch" })
	}

	// Several faults: the first in the documented order is the answer.
	add(kernel.OpInvite, "order_User_before_Session", inv6017, "User", func(in *kernel.Input) { in.User, in.Session = "", "\x01" })
	add(kernel.OpInvite, "order_RequestID_before_InviteID", inv6017, "RequestID", func(in *kernel.Input) {
		in.RequestID, in.InviteID = "\x01", strings.Repeat("x", 200)
	})
	add(kernel.OpInvite, "order_Group_before_Invitees", inv6017, "Group", func(in *kernel.Input) { in.Group, in.Invitees = "g", nil })
	add(kernel.OpInvite, "order_Timeout_before_Push", inv6017, "Timeout", func(in *kernel.Input) {
		in.Timeout, in.Push = -1, &kernel.PushInfo{}
	})
	add(kernel.OpInvite, "order_form_before_Data_size", inv6017, "Push.Desc", func(in *kernel.Input) {
		in.Push, in.Data = &kernel.PushInfo{}, strings.Repeat("d", kernel.DefaultMaxDataBytes+1)
	})
	add(kernel.OpInvite, "order_Push_desc_before_online_only", inv6017, "Push.Desc", func(in *kernel.Input) {
		in.Push, in.OnlineUserOnly = &kernel.PushInfo{Title: "t"}, true
	})
	add(kernel.OpInvite, "order_Push_online_only_before_size", inv6017, "Push", func(in *kernel.Input) {
		in.Push, in.OnlineUserOnly = &kernel.PushInfo{Desc: strings.Repeat("d", kernel.DefaultMaxPushBytes+1)}, true
	})
	add(kernel.OpInvite, "order_Push_size_before_UTF-8", kernel.ErrBodySizeLimit, "Push", func(in *kernel.Input) {
		in.Push = &kernel.PushInfo{Title: "\xff", Desc: strings.Repeat("d", kernel.DefaultMaxPushBytes)}
	})
	add(kernel.OpCancel, "order_unused_before_Data_size", inv6017, "OnlineUserOnly", func(in *kernel.Input) {
		in.OnlineUserOnly, in.Data = true, strings.Repeat("d", kernel.DefaultMaxDataBytes+1)
	})
	add(kernel.OpInviteInGroup, "order_Data_size_before_group", kernel.ErrBodySizeLimit, "Data", func(in *kernel.Input) {
		in.Group, in.Data = "nosuch", strings.Repeat("d", kernel.DefaultMaxDataBytes+1)
	})
	add(kernel.OpInviteInGroup, "order_group_before_InviteID_in_use", kernel.ErrGroupNotFound, "Group", func(in *kernel.Input) {
		in.Group, in.InviteID = "nosuch", "open1"
	})
	add(kernel.OpInviteInGroup, "order_inviter_before_invitees", kernel.ErrNotGroupMember, "User", func(in *kernel.Input) {
		in.User, in.Group, in.Invitees = "carol", "h", list("bob", "dave")
	})
	add(kernel.OpAccept, "order_unknown_before_role", kernel.ErrInvalidInviteID, "InviteID", func(in *kernel.Input) {
		in.User, in.InviteID = "alice", "open2"
	})
	return cases
}

func TestBadInputValidInputsSucceed(t *testing.T) {
	// The base inputs the bad cases mutate must succeed as they are, or
	// the cases would prove nothing.
	for _, op := range allOps {
		f := badFixture(t)
		res, _ := f.do(validInputs[op]())
		if res.Err != nil {
			t.Errorf("%s: valid input failed: %v", op, res.Err)
		}
		if op != kernel.OpTick && !res.Changed {
			t.Errorf("%s: valid input changed nothing", op)
		}
	}
}

func TestBadInput(t *testing.T) {
	cases := badCases()
	if len(cases) < 250 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := badFixture(t)
			in := validInputs[kernel.OpTick]()
			if mk := validInputs[c.op]; mk != nil {
				in = mk()
			}
			c.mut(&in)
			res := f.fail(in, c.class, c.field)
			if res.Duplicate {
				t.Errorf("Duplicate: got true on a failure, want false")
			}
			if c.class == kernel.ErrAlreadyExists && res.InviteID != in.InviteID {
				t.Errorf("Result.InviteID of an ID in use: got %q, want %q", res.InviteID, in.InviteID)
			}
			if f.k.Open() != 3 {
				t.Errorf("Open(): got %d, want 3", f.k.Open())
			}
		})
	}
}

func TestBadInputErrorTextIsBounded(t *testing.T) {
	f := world(t)
	huge := strings.Repeat("u", 1<<16)
	res, _ := f.do(kernel.Invite(huge, "bob", "", 0))
	checkErr(t, res.Err, kernel.ErrInvalidParameters, "User")
	if n := len(res.Err.Error()); n > 400 {
		t.Errorf("error text is %d bytes for a 64 KiB ID", n)
	}
	var oe *kernel.OpError
	if !errors.As(res.Err, &oe) || len(oe.Value) > 64+len("...") {
		t.Errorf("OpError.Value is %d bytes", len(oe.Value))
	}
}

// TestBadInputTextSaysWhatWasGiven: a value the error does not echo (data,
// push info, an invitee list) is described, by its size or as given, never
// quoted as empty, which would read as "you sent an empty field"; a field
// that was empty is quoted empty.
func TestBadInputTextSaysWhatWasGiven(t *testing.T) {
	group := kernel.InviteInGroup("alice", "g", list("bob"), "", 0)
	group.Push = &kernel.PushInfo{Desc: "d"}
	cancel := kernel.Cancel("alice", "open1", "")
	cancel.Invitees = list("bob", "carol")
	pushed := kernel.Invite("alice", "dave", "", 0)
	pushed.Push = &kernel.PushInfo{Desc: strings.Repeat("d", kernel.DefaultMaxPushBytes+1)}
	utf := kernel.Invite("alice", "dave", "", 0)
	utf.Push = &kernel.PushInfo{Desc: "d", Ext: "ab\xff"}
	for _, c := range []struct {
		in   kernel.Input
		want string
	}{
		{kernel.Invite("alice", "dave", strings.Repeat("d", kernel.DefaultMaxDataBytes+1), 0),
			"Data (8193 bytes): above the limit of 8192 bytes (Config.MaxDataBytes)"},
		{kernel.Invite("alice", "dave", "ok\xff", 0), "Data (3 bytes): not valid UTF-8 at byte 2"},
		{group, "Push (given): InviteInGroup does not use this field"},
		{cancel, "Invitees (2 given): Cancel does not use this field"},
		{pushed, "Push (4097 bytes): title, desc, ext and sound together are above the limit of 4096 bytes (Config.MaxPushBytes)"},
		{utf, "Push.Ext (3 bytes): not valid UTF-8 at byte 2"},
		{kernel.Invite("", "dave", "", 0), `User "": Invite needs this field`},
	} {
		res, _ := badFixture(t).do(c.in)
		if res.Err == nil || !strings.Contains(res.Err.Error(), c.want) {
			t.Errorf("%s: got error %v, want one containing %q", c.in.Op, res.Err, c.want)
		}
		if res.Err != nil && c.in.User != "" && strings.Contains(res.Err.Error(), `""`) {
			t.Errorf("%s: got error %q, want no empty quoted value", c.in.Op, res.Err)
		}
	}
}

// TestBadInputFailuresAreRetryable: a failed operation changes nothing, so
// the same request ID used for the corrected input is not a duplicate.
func TestBadInputFailuresAreRetryable(t *testing.T) {
	for _, c := range badCases() {
		if !isSignaling(c.op) || c.field == "RequestID" || c.field == "User" || c.name == c.op.String()+"/order_User_before_Session" {
			continue
		}
		f := badFixture(t)
		in := validInputs[c.op]()
		c.mut(&in)
		in.RequestID = "retry-1"
		if res, _ := f.do(in); res.Err == nil {
			t.Fatalf("%s: did not fail", c.name)
		}
		good := validInputs[c.op]()
		good.RequestID = "retry-1"
		if res, outs := f.do(good); res.Err != nil || res.Duplicate || !res.Changed || len(outs) == 0 {
			t.Errorf("%s: the corrected retry: %+v, %d outputs", c.name, res, len(outs))
		}
	}
}
