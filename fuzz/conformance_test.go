package fuzz

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/beckonhq/beckon/conformance"
	"github.com/beckonhq/beckon/kernel"
	"pgregory.net/rapid"
)

// FuzzConformance runs the conformance suite's state-machine property
// (conformance.StateMachine: random operations on the kernel and on the
// suite's reference model side by side) with the fuzzer's bytes as rapid's
// random source. The kernel is driven as a durable runtime drives it: every
// input that reports Changed is logged as a record, a snapshot is taken
// every few records, and Restart recovers from snapshot and log.
func FuzzConformance(f *testing.F) {
	// Seeds: rapid reads its choices from these bytes; a few deterministic
	// streams of different lengths start the fuzzer at runs of different depth.
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 64, 256, 1024, 4096} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(rapid.MakeFuzz(conformance.StateMachine(newConformanceHarness)))
}

// conformanceLimits are small, so that the property reaches every limit.
var conformanceLimits = conformance.Limits{MaxIDBytes: 8, MaxInvitees: 3, MaxDataBytes: 16, MaxOpenPerInviter: 2,
	MaxTimeoutSeconds: 5, RequestIDWindow: 5 * time.Second, MaxRequestIDs: 3}

type sessionKey struct{ user, session string }

// conformanceHarness adapts kernel.Kernel to conformance.Harness (with the
// Restarter, InvitationCounter and OutputLog capabilities).
type conformanceHarness struct {
	t      conformance.TB
	cfg    kernel.Config
	k      *kernel.Kernel
	now    time.Time
	snap   []byte   // latest snapshot, nil: none yet
	log    [][]byte // records after it
	index  uint64
	events map[sessionKey][]conformance.Event
	hist   map[conformance.Conversation][][]byte
	pushes []conformance.PushRequest
	outs   []conformance.Output
}

const conformanceSnapshotEvery = 3

func newConformanceHarness(t conformance.TB) conformance.Harness {
	l := conformanceLimits
	cfg := kernel.Config{MaxIDBytes: l.MaxIDBytes, MaxInvitees: l.MaxInvitees, MaxDataBytes: l.MaxDataBytes,
		MaxOpenPerInviter: l.MaxOpenPerInviter, MaxTimeoutSeconds: l.MaxTimeoutSeconds,
		RequestIDWindow: l.RequestIDWindow, MaxRequestIDs: l.MaxRequestIDs}
	return &conformanceHarness{t: t, cfg: cfg, k: kernel.New(cfg), now: time.Unix(0, baseTime),
		events: map[sessionKey][]conformance.Event{}, hist: map[conformance.Conversation][][]byte{}}
}

func (h *conformanceHarness) Limits() conformance.Limits { return conformanceLimits }

// apply applies in now, logs it when it changed the state (a failed or
// duplicate call, which changed the state only through the timeouts it let
// fire, is logged as a Tick), then delivers its outputs.
func (h *conformanceHarness) apply(in kernel.Input) kernel.Result {
	res, outs := h.k.Apply(h.now, in)
	if res.Changed {
		logged := kernel.Input{Op: kernel.OpTick}
		if res.Err == nil && !res.Duplicate {
			logged = in
			logged.Invitees = slices.Clone(in.Invitees)
			if res.InviteID != "" {
				logged.InviteID = res.InviteID
			}
		}
		h.index++
		h.log = append(h.log, kernel.AppendRecord(nil, kernel.Record{Index: h.index, At: h.k.Now(), Input: logged}))
		if len(h.log) >= conformanceSnapshotEvery {
			h.snap, h.log = h.k.Snapshot(), nil
		}
	}
	for _, o := range outs {
		switch o.Kind {
		case kernel.OutEvent:
			e := o.Event
			ev := conformance.Event{Type: conformance.EventType(e.Type), InviteID: e.InviteID, Inviter: e.Inviter,
				Invitee: e.Invitee, GroupID: e.GroupID, Invitees: slices.Clone(e.Invitees), Data: e.Data}
			key := sessionKey{o.User, o.Session}
			h.events[key] = append(h.events[key], ev)
			h.outs = append(h.outs, conformance.Output{Kind: conformance.OutEvent, User: o.User, Session: o.Session, Event: ev})
		case kernel.OutHistory:
			b, err := kernel.MarshalSignalingInfo(o.History.Info)
			if err != nil {
				h.t.Fatalf("MarshalSignalingInfo: %v", err)
			}
			c := o.History.Conv
			conv := conformance.Conversation{Group: c.Group, A: c.A, B: c.B}
			h.hist[conv] = append(h.hist[conv], b)
			h.outs = append(h.outs, conformance.Output{Kind: conformance.OutHistory, Conv: conv, Payload: b})
		case kernel.OutPush:
			p, i := o.Push, o.Push.Info
			req := conformance.PushRequest{To: p.To, InviteID: p.InviteID, Inviter: p.Inviter, Data: p.Data,
				Info: conformance.PushInfo{Title: i.Title, Desc: i.Desc, Ext: i.Ext, Sound: i.Sound}}
			h.pushes = append(h.pushes, req)
			h.outs = append(h.outs, conformance.Output{Kind: conformance.OutPush, Push: req})
		}
	}
	return res
}

func signaling(op kernel.Op, c conformance.Caller, id, data string) kernel.Input {
	return kernel.Input{Op: op, User: c.User, Session: c.Session, RequestID: c.RequestID, InviteID: id, Data: data}
}

func (h *conformanceHarness) Invite(c conformance.Caller, a conformance.InviteArgs) (string, int) {
	in := signaling(kernel.OpInvite, c, a.InviteID, a.Data)
	in.Invitees, in.OnlineUserOnly, in.Timeout = []string{a.Invitee}, a.OnlineUserOnly, a.Timeout
	if p := a.Push; p != nil {
		in.Push = &kernel.PushInfo{Title: p.Title, Desc: p.Desc, Ext: p.Ext, Sound: p.Sound}
	}
	res := h.apply(in)
	return res.InviteID, kernel.Code(res.Err)
}

func (h *conformanceHarness) InviteInGroup(c conformance.Caller, a conformance.GroupInviteArgs) (string, int) {
	in := signaling(kernel.OpInviteInGroup, c, a.InviteID, a.Data)
	in.Group, in.Invitees, in.OnlineUserOnly, in.Timeout = a.Group, slices.Clone(a.Invitees), a.OnlineUserOnly, a.Timeout
	if p := a.Push; p != nil { // the kernel refuses it (INV-2)
		in.Push = &kernel.PushInfo{Title: p.Title, Desc: p.Desc, Ext: p.Ext, Sound: p.Sound}
	}
	res := h.apply(in)
	return res.InviteID, kernel.Code(res.Err)
}

func (h *conformanceHarness) code(in kernel.Input) int { return kernel.Code(h.apply(in).Err) }

func (h *conformanceHarness) Cancel(c conformance.Caller, id, data string) int {
	return h.code(signaling(kernel.OpCancel, c, id, data))
}
func (h *conformanceHarness) Accept(c conformance.Caller, id, data string) int {
	return h.code(signaling(kernel.OpAccept, c, id, data))
}
func (h *conformanceHarness) Reject(c conformance.Caller, id, data string) int {
	return h.code(signaling(kernel.OpReject, c, id, data))
}
func (h *conformanceHarness) Modify(c conformance.Caller, id, data string) int {
	return h.code(signaling(kernel.OpModify, c, id, data))
}
func (h *conformanceHarness) Connect(user, session string) int {
	return h.code(kernel.Connect(user, session))
}
func (h *conformanceHarness) Disconnect(user, session string) int {
	return h.code(kernel.Disconnect(user, session))
}
func (h *conformanceHarness) SetGroup(group string, members []string) int {
	return h.code(kernel.SetGroup(group, slices.Clone(members)))
}
func (h *conformanceHarness) JoinGroup(group, user string) int {
	return h.code(kernel.JoinGroup(group, user))
}
func (h *conformanceHarness) LeaveGroup(group, user string) int {
	return h.code(kernel.LeaveGroup(group, user))
}

func (h *conformanceHarness) Advance(d time.Duration) {
	h.now = h.now.Add(d)
	h.apply(kernel.Input{Op: kernel.OpTick})
}

func (h *conformanceHarness) TakeEvents(user, session string) []conformance.Event {
	key := sessionKey{user, session}
	evs := h.events[key]
	delete(h.events, key)
	return evs
}

func (h *conformanceHarness) History(conv conformance.Conversation) [][]byte { return h.hist[conv] }

func (h *conformanceHarness) TakePushes() []conformance.PushRequest {
	p := h.pushes
	h.pushes = nil
	return p
}

func (h *conformanceHarness) ParseSignalingInfo(msg []byte) (conformance.Envelope, bool) {
	i, err := kernel.GetSignalingInfo(msg)
	if err != nil {
		return conformance.Envelope{}, false
	}
	return conformance.Envelope{BusinessID: i.BusinessID, InviteID: i.InviteID, GroupID: i.GroupID, Inviter: i.Inviter,
		InviteeList: i.InviteeList, Data: i.Data, Timeout: i.Timeout, ActionType: int(i.ActionType),
		OnlineUserOnly: i.OnlineUserOnly}, true
}

// Restart recovers as a durable runtime does: Restore the snapshot, replay
// the records after it at their times (their outputs were delivered before
// the crash), then let the downtime pass.
func (h *conformanceHarness) Restart(downtime time.Duration) {
	k := kernel.New(h.cfg)
	if h.snap != nil {
		var err error
		if k, err = kernel.Restore(h.cfg, h.snap); err != nil {
			h.t.Fatalf("Restore: %v", err)
		}
	}
	for _, b := range h.log {
		rec, err := kernel.DecodeRecord(b)
		if err != nil {
			h.t.Fatalf("DecodeRecord: %v", err)
		}
		k.Apply(rec.At, rec.Input)
	}
	h.k = k
	h.Advance(downtime)
}

func (h *conformanceHarness) OpenInvitations() int { return h.k.Open() }

func (h *conformanceHarness) TakeOutputs() []conformance.Output {
	o := h.outs
	h.outs = nil
	return o
}
