package fuzz

import (
	"strings"
	"time"

	"github.com/beckonhq/beckon/kernel"
)

// This file turns fuzzer bytes into a run of the kernel: a configuration,
// then steps (operations, clock moves, snapshot/restore swaps) drawn from
// small alphabets so that collisions happen. The encoding is documented so
// that seeds can be written by hand (see the helpers at the end).
//
// Byte 0 picks the configuration: bit 0 clear = small limits (smallLimits),
// set = the kernel's defaults; bits 1-2 pick the invite ID source (0 and 3:
// the kernel's counter; 1: cycling "c0","c1","c2"; 2: cycling through IDs
// that collide or are invalid). Then each step starts with a kind byte
// (kind%16, see the k* constants) followed by the bytes of that kind.

// Step kinds.
const (
	kAdvance     = iota // a: clock += advances[a%16]
	kTick               //
	kInvite             // user invitee inviteID data timeout flags extra
	kInvite2            // same as kInvite
	kGroupInvite        // user group n invitee*(n%4) inviteID data timeout flags extra
	kCancel             // user id data flags extra
	kAccept             // user id data flags extra
	kAccept2            // same as kAccept
	kReject             // user id data flags extra
	kModify             // user id data flags extra
	kConnect            // user session extra
	kConnect2           // same as kConnect
	kDisconnect         // user session extra
	kGroupOp            // sub%3: 0 SetGroup group n member*(n%5); 1 JoinGroup group user; 2 LeaveGroup group user; then extra
	kRawOp              // op user flags extra: Op 0, Tick with fields, 13, 255
	kSwap               // replace the kernel by Restore(Snapshot())
	kindCount
)

// maxSteps caps the work per input (each step costs a few snapshots).
const maxSteps = 64

// baseTime is the clock at the start of every run.
var baseTime = time.Unix(1_700_000_000, 0).UnixNano()

// advances are the clock moves; negative ones exercise the kernel's clamp
// (its clock never goes back).
var advances = [16]time.Duration{0, 1, time.Millisecond, time.Second - 1, time.Second, time.Second,
	2 * time.Second, 3 * time.Second, 5 * time.Second, 6 * time.Second, 10 * time.Second,
	601 * time.Second, 86401 * time.Second, -time.Second, -1, 4 * time.Second}

// limits mirrors the kernel.Config limits of a run.
type limits struct {
	maxID, maxInvitees, maxData, maxOpen, maxTimeout int
	window                                           time.Duration
	maxReqs                                          int
}

var (
	smallLimits   = limits{8, 3, 16, 2, 5, 5 * time.Second, 3}
	defaultLimits = limits{kernel.DefaultMaxIDBytes, kernel.DefaultMaxInvitees, kernel.DefaultMaxDataBytes,
		kernel.DefaultMaxOpenPerInviter, kernel.DefaultMaxTimeoutSeconds, kernel.DefaultRequestIDWindow,
		kernel.DefaultMaxRequestIDs}
)

// idCycles are the invite ID sources (nil: the kernel's counter).
var idCycles = [4][]string{nil, {"c0", "c1", "c2"}, {"c0", "", "i1", "x0", strings.Repeat("z", kernel.MaxInviteIDBytes+1), "c1"}, nil}

// cycleSource is a deterministic kernel.IDSource that cycles through ids.
type cycleSource struct {
	ids []string
	i   int
}

func (s *cycleSource) NewInviteID() string {
	id := s.ids[s.i%len(s.ids)]
	s.i++
	return id
}

// setup is the configuration of a run.
type setup struct {
	lim limits
	ids []string // nil: the kernel's counter
}

func decodeSetup(b byte) setup {
	s := setup{lim: smallLimits, ids: idCycles[(b>>1)&3]}
	if b&1 != 0 {
		s.lim = defaultLimits
	}
	return s
}

// config returns the kernel config, with src (a fresh copy per kernel) as
// the ID source when the run has one.
func (s setup) config(src *cycleSource) kernel.Config {
	cfg := kernel.Config{
		MaxIDBytes: s.lim.maxID, MaxInvitees: s.lim.maxInvitees, MaxDataBytes: s.lim.maxData,
		MaxOpenPerInviter: s.lim.maxOpen, MaxTimeoutSeconds: s.lim.maxTimeout,
		RequestIDWindow: s.lim.window, MaxRequestIDs: s.lim.maxReqs,
	}
	if src != nil {
		cfg.IDs = src
	}
	return cfg
}

func (s setup) source(pos int) *cycleSource {
	if s.ids == nil {
		return nil
	}
	return &cycleSource{ids: s.ids, i: pos}
}

// reader hands out the fuzzer's bytes, zeros once they run out.
type reader struct{ b []byte }

func (r *reader) next() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

var (
	users    = [4]string{"u0", "u1", "u2", "u3"}
	sessions = [2]string{"s0", "s1"}
	groups   = [2]string{"g0", "g1"}
)

// badIDs are IDs no field accepts (the long one is added per run).
var badIDs = []string{"", "\x01", "a\x7f", "\xff", "\u0085x", "tab\t"}

// gen draws inputs from bytes.
type gen struct {
	r   *reader
	lim limits
	m   *model // for the IDs of invitations made so far
}

func (g *gen) bad(v byte) string {
	if int(v)%(len(badIDs)+1) == len(badIDs) {
		return strings.Repeat("u", g.lim.maxID+1)
	}
	return badIDs[int(v)%(len(badIDs)+1)]
}

// id reads a user, session or group ID: mostly from alphabet, rarely bad.
func (g *gen) id(alphabet []string) string {
	v := g.r.next()
	if v >= 0xf8 {
		return g.bad(v)
	}
	return alphabet[int(v)%len(alphabet)]
}

func (g *gen) user() string { return g.id(users[:]) }

// chosenIDs are the invite IDs a caller may choose; "i1", "i2" collide with
// the kernel's counter and "c0", "x0" with the cycling sources.
var chosenIDs = [8]string{"", "x0", "x1", "i1", "i2", "c0", strings.Repeat("y", kernel.MaxInviteIDBytes+1), "\x01"}

// newInviteID reads the invite ID of an invite: "" lets the kernel choose.
func (g *gen) newInviteID() string { return chosenIDs[g.r.next()%8] }

// inviteID reads the invite ID an operation acts on: below 0x80 one of the
// four latest invitations made (any state), else from chosenIDs.
func (g *gen) inviteID() string {
	v := g.r.next()
	if n := len(g.m.all); v < 0x80 && n > 0 {
		return g.m.all[n-1-int(v)%min(n, 4)].id
	}
	return chosenIDs[v%8]
}

func (g *gen) data() string {
	switch v := g.r.next() % 8; v {
	case 0:
		return ""
	case 1:
		return "d"
	case 2:
		return "hello"
	case 3:
		return "ü"
	case 4:
		return strings.Repeat("D", g.lim.maxData)
	case 5:
		return strings.Repeat("E", g.lim.maxData+1)
	case 6:
		return "\x00bin"
	default:
		return "z\xff" // not UTF-8
	}
}

func (g *gen) timeout() int {
	return [8]int{0, 1, 2, 3, g.lim.maxTimeout, -1, g.lim.maxTimeout + 1, 0}[g.r.next()%8]
}

// flags reads the optional fields of a signaling operation: bit 0
// OnlineUserOnly, bits 1-2 push info (2: complete, 3: without desc), bits
// 3-4 request ID ("r0", "r1"), bit 5 the acting session, bit 6 a bad
// request ID. Operations that do not use OnlineUserOnly or Push ignore
// bits 0-2 (withInvite false).
func (g *gen) flags(in *kernel.Input, withInvite bool) {
	f := g.r.next()
	if withInvite {
		in.OnlineUserOnly = f&1 != 0
		switch (f >> 1) & 3 {
		case 2:
			in.Push = &kernel.PushInfo{Title: "t", Desc: "call", Ext: "e", Sound: "s"}
		case 3:
			in.Push = &kernel.PushInfo{Title: "t"}
		}
	}
	in.RequestID = [4]string{"", "", "r0", "r1"}[(f>>3)&3]
	if f&0x20 != 0 {
		in.Session = "s0"
	}
	if f&0x40 != 0 {
		in.RequestID = "r\x7f"
	}
}

// extra reads a byte that, at 0xf0 and above, sets one more field (which
// the operation may not use) to a well-formed value.
func (g *gen) extra(in *kernel.Input) {
	v := g.r.next()
	if v < 0xf0 {
		return
	}
	switch v & 0xf % 10 {
	case 0:
		in.User = "u1"
	case 1:
		in.Session = "s1"
	case 2:
		in.RequestID = "r0"
	case 3:
		in.InviteID = "x1"
	case 4:
		in.Group = "g0"
	case 5:
		in.Invitees = append(in.Invitees, "u2")
	case 6:
		in.Timeout = 1
	case 7:
		in.Push = &kernel.PushInfo{Desc: "d"}
	case 8:
		in.OnlineUserOnly = true
	case 9:
		in.Data = "x"
	}
}

func (g *gen) userList(n int) []string {
	var l []string
	for ; n > 0; n-- {
		l = append(l, g.user())
	}
	return l
}

// input reads the input of a step of kind k (not kAdvance, kSwap).
func (g *gen) input(k int) kernel.Input {
	var in kernel.Input
	switch k {
	case kTick:
		return kernel.Input{Op: kernel.OpTick}
	case kInvite, kInvite2:
		in = kernel.Input{Op: kernel.OpInvite, User: g.user(), Invitees: []string{g.user()}}
		in.InviteID, in.Data, in.Timeout = g.newInviteID(), g.data(), g.timeout()
		g.flags(&in, true)
	case kGroupInvite:
		in = kernel.Input{Op: kernel.OpInviteInGroup, User: g.user(), Group: g.id(groups[:])}
		if n := g.r.next(); n >= 0xf0 {
			for i := 0; i <= g.lim.maxInvitees; i++ {
				in.Invitees = append(in.Invitees, "m"+strings.Repeat("m", i%4)+string(rune('a'+i%26))+string(rune('a'+i/26%26)))
			}
		} else {
			in.Invitees = g.userList(int(n % 4))
		}
		in.InviteID, in.Data, in.Timeout = g.newInviteID(), g.data(), g.timeout()
		g.flags(&in, true)
	case kCancel, kAccept, kAccept2, kReject, kModify:
		op := map[int]kernel.Op{kCancel: kernel.OpCancel, kAccept: kernel.OpAccept, kAccept2: kernel.OpAccept,
			kReject: kernel.OpReject, kModify: kernel.OpModify}[k]
		in = kernel.Input{Op: op, User: g.user(), InviteID: g.inviteID(), Data: g.data()}
		g.flags(&in, false)
	case kConnect, kConnect2, kDisconnect:
		op := kernel.OpConnect
		if k == kDisconnect {
			op = kernel.OpDisconnect
		}
		in = kernel.Input{Op: op, User: g.user(), Session: g.id(sessions[:])}
	case kGroupOp:
		switch g.r.next() % 3 {
		case 0:
			in = kernel.Input{Op: kernel.OpSetGroup, Group: g.id(groups[:])}
			in.Invitees = g.userList(int(g.r.next() % 5))
		case 1:
			in = kernel.Input{Op: kernel.OpJoinGroup, Group: g.id(groups[:]), User: g.user()}
		default:
			in = kernel.Input{Op: kernel.OpLeaveGroup, Group: g.id(groups[:]), User: g.user()}
		}
	case kRawOp:
		in = kernel.Input{Op: [4]kernel.Op{0, kernel.OpTick, kernel.OpTick + 1, 255}[g.r.next()%4], User: g.user()}
		g.flags(&in, true)
	}
	g.extra(&in)
	return in
}

// ---- seed helpers: the byte encoding of steps, for hand-written seeds ----

// Users, sessions, groups by index; invite ID selectors.
const (
	u0, u1, u2, u3 = 0, 1, 2, 3
	s0, s1         = 0, 1
	g0, g1         = 0, 1
	idGen          = 0    // newInviteID: let the kernel choose
	idX0           = 1    // newInviteID / inviteID >= 0x80: "x0"
	idI1           = 3    // "i1"
	idC0           = 5    // "c0"
	idLast         = 0    // inviteID: the latest invitation made
	idPrev         = 1    // inviteID: the one before it
	idChosenX0     = 0x81 // inviteID: "x0"
	idChosenI1     = 0x83 // inviteID: "i1"
	badUser        = 0xf8 // an empty ID
	// Data selectors.
	dNone, dD, dHello, dMax, dTooBig = 0, 1, 2, 4, 5
	// Timeout selectors.
	tNone, t1, t2, t3, tMax, tNeg, tTooBig = 0, 1, 2, 3, 4, 5, 6
	// Flags.
	fOnline, fPush, fPushNoDesc, fReq0, fReq1, fSession, fBadReq = 1, 4, 6, 0x10, 0x18, 0x20, 0x40
	// Advance selectors.
	aZero, a1ns, a1s, a2s, a3s, a5s, a6s, a601s, aDay, aBack = 0, 1, 4, 6, 7, 8, 9, 11, 12, 13
)

func seq(steps ...[]byte) []byte {
	var b []byte
	for _, s := range steps {
		b = append(b, s...)
	}
	return b
}

func sAdvance(a byte) []byte { return []byte{kAdvance, a} }
func sTick() []byte          { return []byte{kTick} }
func sInvite(user, invitee, id, data, timeout, flags byte) []byte {
	return []byte{kInvite, user, invitee, id, data, timeout, flags, 0}
}
func sGroupInvite(user, group byte, invitees []byte, id, data, timeout, flags byte) []byte {
	b := append([]byte{kGroupInvite, user, group, byte(len(invitees))}, invitees...)
	return append(b, id, data, timeout, flags, 0)
}
func sOp(kind, user, id, data, flags byte) []byte { return []byte{kind, user, id, data, flags, 0} }
func sConnect(user, session byte) []byte          { return []byte{kConnect, user, session, 0} }
func sDisconnect(user, session byte) []byte       { return []byte{kDisconnect, user, session, 0} }
func sSetGroup(group byte, members ...byte) []byte {
	return append(append([]byte{kGroupOp, 0, group, byte(len(members))}, members...), 0)
}
func sJoin(group, user byte) []byte  { return []byte{kGroupOp, 1, group, user, 0} }
func sLeave(group, user byte) []byte { return []byte{kGroupOp, 2, group, user, 0} }
func sRaw(op, user, flags byte) []byte {
	return []byte{kRawOp, op, user, flags, 0}
}
func sExtra(step []byte, field byte) []byte { // sets the last (extra) byte
	s := append([]byte(nil), step...)
	s[len(s)-1] = 0xf0 + field
	return s
}
func sSwap() []byte { return []byte{kSwap} }
