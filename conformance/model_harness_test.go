package conformance

import (
	"fmt"
	"time"

	"github.com/beckonhq/beckon/port"
)

// modelHarness is the reference model run as an implementation: the suite's
// self-test, and the correct implementation the mutants wrap.
type modelHarness struct {
	m      *model
	next   int
	events map[sessKey][]Event
	hist   map[Conversation][][]byte
	pushes []PushRequest
	outs   []Output
}

// Limits used by the tests: small, so that the suite and the property test
// reach them; suiteLimits leave room for the example checks; propLimits
// allow timeouts of days, so that the property test reaches long horizons.
// The retention of call records is that of the stores under the runtime
// harnesses (port's defaults); the kernel harness and the model keep every
// record.
var (
	suiteLimits = Limits{MaxIDBytes: 24, MaxInvitees: 4, MaxDataBytes: 64, MaxPushBytes: 48, MaxOpenPerInviter: 6,
		MaxTimeoutSeconds: 30, RequestIDWindow: 20 * time.Second, MaxRequestIDs: 16,
		RecordsPerUser: port.DefaultRecordsPerUser, RecordMaxAge: port.DefaultRecordMaxAge}
	propLimits = Limits{MaxIDBytes: 8, MaxInvitees: 3, MaxDataBytes: 8, MaxPushBytes: 16, MaxOpenPerInviter: 3,
		MaxTimeoutSeconds: 3 * 86400, RequestIDWindow: 9 * time.Second, MaxRequestIDs: 4,
		RecordsPerUser: port.DefaultRecordsPerUser, RecordMaxAge: port.DefaultRecordMaxAge}
	defaultLimits = Limits{MaxIDBytes: 128, MaxInvitees: 200, MaxDataBytes: 8 << 10, MaxPushBytes: 4 << 10, MaxOpenPerInviter: 100,
		MaxTimeoutSeconds: 86400, RequestIDWindow: 10 * time.Minute, MaxRequestIDs: 100_000,
		RecordsPerUser: port.DefaultRecordsPerUser, RecordMaxAge: port.DefaultRecordMaxAge}
)

func newModelHarness(lim Limits) *modelHarness {
	return &modelHarness{m: newModel(lim), events: map[sessKey][]Event{}, hist: map[Conversation][][]byte{}}
}

func modelHarnessWith(lim Limits) func(TB) Harness {
	return func(TB) Harness { return newModelHarness(lim) }
}

func (h *modelHarness) gen() string {
	for {
		h.next++
		if id := fmt.Sprintf("i%d", h.next); h.m.invs[id] == nil {
			return id
		}
	}
}

func (h *modelHarness) emit(outs []mout) {
	for _, o := range stepOrder(outs) {
		switch o.kind {
		case OutEvent:
			k := sessKey{o.user, o.session}
			if !o.held {
				h.events[k] = append(h.events[k], o.ev)
			}
			if !o.released {
				h.outs = append(h.outs, Output{Kind: OutEvent, User: o.user, Session: o.session, Event: o.ev})
			}
		case OutHistory:
			b := encodeEnvelope(o.env)
			h.hist[o.conv] = append(h.hist[o.conv], b)
			h.outs = append(h.outs, Output{Kind: OutHistory, Conv: o.conv, Payload: b})
		case OutPush:
			h.pushes = append(h.pushes, o.push)
			h.outs = append(h.outs, Output{Kind: OutPush, Push: o.push})
		}
	}
}

func (h *modelHarness) Limits() Limits { return h.m.lim }

func (h *modelHarness) Invite(c Caller, a InviteArgs) (string, int) {
	r := h.m.invite(c, a, h.gen)
	h.emit(r.outs)
	return r.inviteID, r.code
}

func (h *modelHarness) InviteInGroup(c Caller, a GroupInviteArgs) (string, int) {
	r := h.m.inviteInGroup(c, a, h.gen)
	h.emit(r.outs)
	return r.inviteID, r.code
}

func (h *modelHarness) resp(op respOp, c Caller, id, data string) int {
	r := h.m.respond(op, c, id, data)
	h.emit(r.outs)
	return r.code
}

func (h *modelHarness) Cancel(c Caller, id, data string) int { return h.resp(opCancel, c, id, data) }
func (h *modelHarness) Accept(c Caller, id, data string) int { return h.resp(opAccept, c, id, data) }
func (h *modelHarness) Reject(c Caller, id, data string) int { return h.resp(opReject, c, id, data) }
func (h *modelHarness) Modify(c Caller, id, data string) int { return h.resp(opModify, c, id, data) }

func (h *modelHarness) Connect(user, session string) int {
	code, outs := h.m.connect(user, session)
	h.emit(outs)
	return code
}

func (h *modelHarness) Disconnect(user, session string) int {
	code, outs := h.m.disconnect(user, session)
	h.emit(outs)
	return code
}

func (h *modelHarness) ConnectFor(user, session string, expiry time.Duration) int {
	code, outs := h.m.connectFor(user, session, expiry)
	h.emit(outs)
	return code
}

func (h *modelHarness) Drop(user, session string) { h.emit(h.m.drop(user, session)) }

func (h *modelHarness) Reconnect(user, session string) (bool, int) {
	resumed, code, outs := h.m.reconnect(user, session)
	h.emit(outs)
	return resumed, code
}

func (h *modelHarness) SetGroup(group string, members []string) int {
	code, outs := h.m.setGroup(group, members)
	h.emit(outs)
	return code
}

func (h *modelHarness) JoinGroup(group, user string) int {
	code, outs := h.m.joinLeave(group, user, true)
	h.emit(outs)
	return code
}

func (h *modelHarness) LeaveGroup(group, user string) int {
	code, outs := h.m.joinLeave(group, user, false)
	h.emit(outs)
	return code
}

func (h *modelHarness) Advance(d time.Duration) { h.emit(h.m.advance(d)) }

func (h *modelHarness) TakeEvents(user, session string) []Event {
	k := sessKey{user, session}
	evs := h.events[k]
	delete(h.events, k)
	return evs
}

func (h *modelHarness) History(conv Conversation) [][]byte { return h.hist[conv] }

func (h *modelHarness) ReadHistory(user string, conv Conversation) ([][]byte, int) {
	if code := h.m.canRead(user, conv); code != 0 {
		return nil, code
	}
	return h.hist[conv], 0
}

func (h *modelHarness) TakePushes() []PushRequest {
	p := h.pushes
	h.pushes = nil
	return p
}

func (h *modelHarness) ParseSignalingInfo(msg []byte) (Envelope, bool) { return parseEnvelope(msg) }

// Restart: the model keeps its whole state; time passes while "down".
func (h *modelHarness) Restart(downtime time.Duration) { h.emit(h.m.advance(downtime)) }

func (h *modelHarness) OpenInvitations() int { return len(h.m.invs) }

func (h *modelHarness) TakeOutputs() []Output {
	o := h.outs
	h.outs = nil
	return o
}

// ListOpen lists user's open invitations (QRY-1).
func (h *modelHarness) ListOpen(user string) []OpenInvitation { return h.m.listOpen(user) }

// Records lists every call record of user, newest first (REC-1, REC-2).
func (h *modelHarness) Records(user string) []CallRecord {
	var out []CallRecord
	for _, c := range h.m.records(user) {
		out = append(out, c.record(user))
	}
	return out
}
