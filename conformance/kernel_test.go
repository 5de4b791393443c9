package conformance

import (
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
	"pgregory.net/rapid"
)

// kernelHarness adapts kernel.Kernel to Harness, driving it as a durable
// runtime would (kernel/doc.go "Driving the kernel"): every input that
// changed the state is appended to a log (kernel.AppendRecord) before its
// outputs are handed out, a snapshot is taken every few inputs, and Restart
// throws the kernel away and recovers it with kernel.Restore plus a replay
// of the log after the snapshot.
type kernelHarness struct {
	t      TB
	cfg    kernel.Config
	k      *kernel.Kernel
	now    time.Time
	snap   []byte
	log    [][]byte
	index  uint64
	events map[sessKey][]Event
	hist   map[Conversation][][]byte
	pushes []PushRequest
	outs   []Output
}

const kernelSnapshotEvery = 4

func kernelConfig(l Limits) kernel.Config {
	return kernel.Config{MaxIDBytes: l.MaxIDBytes, MaxInvitees: l.MaxInvitees, MaxDataBytes: l.MaxDataBytes,
		MaxOpenPerInviter: l.MaxOpenPerInviter, MaxTimeoutSeconds: l.MaxTimeoutSeconds,
		RequestIDWindow: l.RequestIDWindow, MaxRequestIDs: l.MaxRequestIDs}
}

func kernelHarnessWith(cfg kernel.Config) func(TB) Harness {
	return func(t TB) Harness {
		return &kernelHarness{t: t, cfg: cfg, k: kernel.New(cfg), now: time.Unix(1_700_000_000, 0).UTC(),
			events: map[sessKey][]Event{}, hist: map[Conversation][][]byte{}}
	}
}

func (h *kernelHarness) Limits() Limits {
	def := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	w := h.cfg.RequestIDWindow
	if w <= 0 {
		w = kernel.DefaultRequestIDWindow
	}
	return Limits{
		MaxIDBytes:        def(h.cfg.MaxIDBytes, kernel.DefaultMaxIDBytes),
		MaxInvitees:       def(h.cfg.MaxInvitees, kernel.DefaultMaxInvitees),
		MaxDataBytes:      def(h.cfg.MaxDataBytes, kernel.DefaultMaxDataBytes),
		MaxOpenPerInviter: def(h.cfg.MaxOpenPerInviter, kernel.DefaultMaxOpenPerInviter),
		MaxTimeoutSeconds: def(h.cfg.MaxTimeoutSeconds, kernel.DefaultMaxTimeoutSeconds),
		RequestIDWindow:   w,
		MaxRequestIDs:     def(h.cfg.MaxRequestIDs, kernel.DefaultMaxRequestIDs),
	}
}

// apply applies one input at the current time, logs it if it changed the
// state, then hands the outputs out.
func (h *kernelHarness) apply(in kernel.Input) kernel.Result {
	var res kernel.Result
	var outs []kernel.Output
	if in.Op == kernel.OpTick {
		res, outs = h.k.Tick(h.now)
	} else {
		res, outs = h.k.Apply(h.now, in)
	}
	if logged, ok := res.ToLog(in); ok {
		h.index++
		h.log = append(h.log, kernel.AppendRecord(nil, kernel.Record{Index: h.index, At: h.k.Now(), Input: logged}))
		if len(h.log) >= kernelSnapshotEvery {
			h.snap = h.k.Snapshot()
			h.log = nil
		}
	}
	h.deliver(outs)
	return res
}

func (h *kernelHarness) deliver(outs []kernel.Output) {
	for _, o := range outs {
		switch o.Kind {
		case kernel.OutEvent:
			ev := Event{Type: EventType(o.Event.Type), InviteID: o.Event.InviteID, Inviter: o.Event.Inviter,
				Invitee: o.Event.Invitee, GroupID: o.Event.GroupID, Invitees: append([]string(nil), o.Event.Invitees...), Data: o.Event.Data}
			k := sessKey{o.User, o.Session}
			h.events[k] = append(h.events[k], ev)
			h.outs = append(h.outs, Output{Kind: OutEvent, User: o.User, Session: o.Session, Event: ev})
		case kernel.OutHistory:
			b, err := kernel.MarshalSignalingInfo(o.History.Info)
			if err != nil {
				h.t.Fatalf("kernel harness: MarshalSignalingInfo: %v", err)
			}
			conv := Conversation{Group: o.History.Conv.Group, A: o.History.Conv.A, B: o.History.Conv.B}
			h.hist[conv] = append(h.hist[conv], b)
			h.outs = append(h.outs, Output{Kind: OutHistory, Conv: conv, Payload: b})
		case kernel.OutPush:
			p := PushRequest{To: o.Push.To, InviteID: o.Push.InviteID, Inviter: o.Push.Inviter, Data: o.Push.Data,
				Info: PushInfo{Title: o.Push.Info.Title, Desc: o.Push.Info.Desc, Ext: o.Push.Info.Ext, Sound: o.Push.Info.Sound}}
			h.pushes = append(h.pushes, p)
			h.outs = append(h.outs, Output{Kind: OutPush, Push: p})
		}
	}
}

func signalingInput(op kernel.Op, c Caller, id, data string) kernel.Input {
	return kernel.Input{Op: op, User: c.User, Session: c.Session, RequestID: c.RequestID, InviteID: id, Data: data}
}

func (h *kernelHarness) Invite(c Caller, a InviteArgs) (string, int) {
	in := signalingInput(kernel.OpInvite, c, a.InviteID, a.Data)
	in.Invitees = []string{a.Invitee}
	in.OnlineUserOnly = a.OnlineUserOnly
	in.Timeout = a.Timeout
	if a.Push != nil {
		in.Push = &kernel.PushInfo{Title: a.Push.Title, Desc: a.Push.Desc, Ext: a.Push.Ext, Sound: a.Push.Sound}
	}
	res := h.apply(in)
	return res.InviteID, kernel.Code(res.Err)
}

func (h *kernelHarness) InviteInGroup(c Caller, a GroupInviteArgs) (string, int) {
	in := signalingInput(kernel.OpInviteInGroup, c, a.InviteID, a.Data)
	in.Group = a.Group
	in.Invitees = append([]string(nil), a.Invitees...)
	in.OnlineUserOnly = a.OnlineUserOnly
	in.Timeout = a.Timeout
	in.Push = kernelPush(a.Push)
	res := h.apply(in)
	return res.InviteID, kernel.Code(res.Err)
}

func (h *kernelHarness) Cancel(c Caller, id, data string) int {
	return kernel.Code(h.apply(signalingInput(kernel.OpCancel, c, id, data)).Err)
}
func (h *kernelHarness) Accept(c Caller, id, data string) int {
	return kernel.Code(h.apply(signalingInput(kernel.OpAccept, c, id, data)).Err)
}
func (h *kernelHarness) Reject(c Caller, id, data string) int {
	return kernel.Code(h.apply(signalingInput(kernel.OpReject, c, id, data)).Err)
}
func (h *kernelHarness) Modify(c Caller, id, data string) int {
	return kernel.Code(h.apply(signalingInput(kernel.OpModify, c, id, data)).Err)
}

func (h *kernelHarness) Connect(user, session string) int {
	return kernel.Code(h.apply(kernel.Connect(user, session)).Err)
}
func (h *kernelHarness) Disconnect(user, session string) int {
	return kernel.Code(h.apply(kernel.Disconnect(user, session)).Err)
}
func (h *kernelHarness) SetGroup(group string, members []string) int {
	return kernel.Code(h.apply(kernel.SetGroup(group, append([]string(nil), members...))).Err)
}
func (h *kernelHarness) JoinGroup(group, user string) int {
	return kernel.Code(h.apply(kernel.JoinGroup(group, user)).Err)
}
func (h *kernelHarness) LeaveGroup(group, user string) int {
	return kernel.Code(h.apply(kernel.LeaveGroup(group, user)).Err)
}

func (h *kernelHarness) Advance(d time.Duration) {
	h.now = h.now.Add(d)
	h.apply(kernel.Input{Op: kernel.OpTick})
}

func (h *kernelHarness) TakeEvents(user, session string) []Event {
	k := sessKey{user, session}
	evs := h.events[k]
	delete(h.events, k)
	return evs
}

func (h *kernelHarness) History(conv Conversation) [][]byte { return h.hist[conv] }

func (h *kernelHarness) TakePushes() []PushRequest {
	p := h.pushes
	h.pushes = nil
	return p
}

func (h *kernelHarness) ParseSignalingInfo(msg []byte) (Envelope, bool) {
	info, err := kernel.GetSignalingInfo(msg)
	if err != nil {
		return Envelope{}, false
	}
	return Envelope{BusinessID: info.BusinessID, InviteID: info.InviteID, GroupID: info.GroupID, Inviter: info.Inviter,
		InviteeList: info.InviteeList, Data: info.Data, Timeout: info.Timeout, ActionType: int(info.ActionType),
		OnlineUserOnly: info.OnlineUserOnly}, true
}

// Restart recovers from the snapshot and the log after it, replaying each
// logged input at its time (outputs of the replay were handed out before the
// crash, so they are dropped), then lets downtime pass.
func (h *kernelHarness) Restart(downtime time.Duration) {
	var k *kernel.Kernel
	if h.snap == nil {
		k = kernel.New(h.cfg)
	} else {
		var err error
		if k, err = kernel.Restore(h.cfg, h.snap); err != nil {
			h.t.Fatalf("kernel harness: Restore: %v", err)
		}
	}
	for _, b := range h.log {
		rec, err := kernel.DecodeRecord(b)
		if err != nil {
			h.t.Fatalf("kernel harness: DecodeRecord: %v", err)
		}
		if rec.Input.Op == kernel.OpTick {
			k.Tick(rec.At)
		} else {
			k.Apply(rec.At, rec.Input)
		}
	}
	h.k = k
	h.Advance(downtime)
}

func (h *kernelHarness) OpenInvitations() int { return h.k.Open() }

func (h *kernelHarness) TakeOutputs() []Output {
	o := h.outs
	h.outs = nil
	return o
}

func TestKernelSuite(t *testing.T) {
	Run(t, kernelHarnessWith(kernelConfig(suiteLimits)))
}

func TestKernelSuiteDefaultLimits(t *testing.T) {
	Run(t, kernelHarnessWith(kernel.Config{}))
}

func TestKernelProperties(t *testing.T) {
	RunProperties(t, kernelHarnessWith(kernelConfig(propLimits)))
}

func FuzzKernelStateMachine(f *testing.F) {
	f.Fuzz(rapid.MakeFuzz(StateMachine(kernelHarnessWith(kernelConfig(propLimits)))))
}
