package fuzz

import (
	"slices"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/beckonhq/beckon/kernel"
)

// model is FuzzKernel's own bookkeeping, kept from the inputs it fed and
// the results the kernel gave, never from kernel internals. From it the
// fuzzer predicts each call's result and its exact outputs, following
// shared/RULES.md and the decisions of kernel/doc.go.

// minv is an invitation as the model sees it. Closed ones stay in
// model.all (their IDs may be reused by later invitations).
type minv struct {
	id, inviter, group string
	invitees           []string
	pending            []bool
	unreached          []bool // online-only, offline at invite time: hears nothing of it (ONL-1)
	npending           int
	data               string
	onlineOnly         bool
	push               *kernel.PushInfo
	timeout            int
	created, deadline  int64 // Unix ns; deadline 0 = none
	seq                int
	closed             bool
	timeouts           int // times it timed out (at most 1)
}

func (v *minv) participant(u string) bool { return u == v.inviter || slices.Contains(v.invitees, u) }

type mreq struct {
	key, inviteID string
	at            int64
}

type model struct {
	lim      limits
	ids      []string // the run's ID source, nil: the kernel's counter
	srcPos   int      // draws made from it so far
	now      int64
	seq      int
	open     map[string]*minv
	all      []*minv
	presence map[string][]string
	groups   map[string]map[string]bool
	reqs     []mreq // oldest first
}

func newModel(s setup) *model {
	return &model{lim: s.lim, ids: s.ids, open: map[string]*minv{}, presence: map[string][]string{},
		groups: map[string]map[string]bool{}}
}

// expect is a predicted Result.
type expect struct {
	code      int // 0 = success
	inviteID  string
	changed   bool
	duplicate bool
	opChanged bool // the operation itself (not a timeout) changed the state
}

// step predicts Apply(t, in), t being the effective time, and updates the model.
func (m *model) step(t int64, in kernel.Input) (expect, []output) {
	m.now = t
	var out []output
	fired := m.expire(t, &out)
	for len(m.reqs) > 0 && t-m.reqs[0].at >= int64(m.lim.window) {
		m.reqs = m.reqs[1:]
	}
	if in.RequestID != "" && in.Op <= kernel.OpModify {
		key := in.User + "\x00" + in.RequestID
		for _, r := range m.reqs {
			if r.key == key {
				return expect{inviteID: r.inviteID, duplicate: true, changed: fired}, stepOrder(out)
			}
		}
	}
	e := m.apply(in, &out)
	if e.code == 0 && in.RequestID != "" {
		m.reqs = append(m.reqs, mreq{key: in.User + "\x00" + in.RequestID, inviteID: e.inviteID, at: t})
		if len(m.reqs) > m.lim.maxReqs {
			m.reqs = m.reqs[1:]
		}
		e.opChanged = true
	}
	e.changed = e.opChanged || fired
	return e, stepOrder(out)
}

// expire times out every open invitation due at t, in deadline order, ties
// in creation order (TMO-1, TMO-2).
func (m *model) expire(t int64, out *[]output) bool {
	var due []*minv
	for _, v := range m.open {
		if v.deadline != 0 && v.deadline <= t {
			due = append(due, v)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if due[i].deadline != due[j].deadline {
			return due[i].deadline < due[j].deadline
		}
		return due[i].seq < due[j].seq
	})
	for _, v := range due {
		var timed []string
		for i, u := range v.invitees {
			if v.pending[i] {
				timed = append(timed, u)
			}
		}
		m.emitTo(out, v.inviter, kernel.Event{Type: kernel.EventTimeout, InviteID: v.id, Invitees: timed})
		for i, u := range v.invitees {
			if v.pending[i] && !v.unreached[i] {
				m.emitTo(out, u, kernel.Event{Type: kernel.EventTimeout, InviteID: v.id, Invitees: []string{u}})
			}
		}
		m.history(out, v, v.inviter, kernel.ActionTimeout, timed, "")
		v.timeouts++
		m.close(v)
	}
	return len(due) > 0
}

func (m *model) close(v *minv) {
	for i := range v.pending {
		v.pending[i] = false
	}
	v.npending = 0
	v.closed = true
	delete(m.open, v.id)
}

func (m *model) emitTo(out *[]output, user string, ev kernel.Event) {
	for _, s := range m.presence[user] {
		*out = append(*out, output{Kind: outEvent, User: user, Session: s, Event: ev})
	}
}

func (m *model) emitToParticipants(out *[]output, v *minv, ev kernel.Event) {
	m.emitTo(out, v.inviter, ev)
	for i, u := range v.invitees {
		if !v.unreached[i] {
			m.emitTo(out, u, ev)
		}
	}
}

func (m *model) history(out *[]output, v *minv, sender string, a kernel.Action, invitees []string, data string) {
	if v.onlineOnly {
		return
	}
	conv := kernel.GroupConversation(v.group)
	if v.group == "" {
		conv = kernel.C2C(v.inviter, v.invitees[0])
	}
	*out = append(*out, output{Kind: outHistory, History: &kernel.History{
		Conv: conv, Sender: sender, At: m.now,
		Info: kernel.SignalingInfo{BusinessID: kernel.BusinessID, InviteID: v.id, GroupID: v.group,
			Inviter: v.inviter, InviteeList: invitees, Data: data, Timeout: v.timeout, ActionType: a},
	}})
}

// Field uses per Op, from the table in kernel/input.go's doc.
type use uint8

const (
	unused use = iota
	optional
	required
)

// User Session RequestID InviteID Group Invitees Timeout Push OnlineUserOnly Data
var uses = map[kernel.Op][10]use{
	kernel.OpInvite:        {required, optional, optional, optional, unused, required, optional, optional, optional, optional},
	kernel.OpInviteInGroup: {required, optional, optional, optional, required, required, optional, unused, optional, optional},
	kernel.OpCancel:        {required, optional, optional, required, unused, unused, unused, unused, unused, optional},
	kernel.OpAccept:        {required, optional, optional, required, unused, unused, unused, unused, unused, optional},
	kernel.OpReject:        {required, optional, optional, required, unused, unused, unused, unused, unused, optional},
	kernel.OpModify:        {required, optional, optional, required, unused, unused, unused, unused, unused, optional},
	kernel.OpConnect:       {required, required, unused, unused, unused, unused, unused, unused, unused, unused},
	kernel.OpDisconnect:    {required, required, unused, unused, unused, unused, unused, unused, unused, unused},
	kernel.OpSetGroup:      {unused, unused, unused, unused, required, optional, unused, unused, unused, unused},
	kernel.OpJoinGroup:     {required, unused, unused, unused, required, unused, unused, unused, unused, unused},
	kernel.OpLeaveGroup:    {required, unused, unused, unused, required, unused, unused, unused, unused, unused},
	kernel.OpTick:          {}, // every field unused
}

func validID(id string, max int) bool {
	if id == "" || len(id) > max || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return false
		}
	}
	return true
}

// malformed reports whether in has a field error (6017): a field the Op
// does not use, a missing or invalid one.
func (m *model) malformed(in kernel.Input) bool {
	u, ok := uses[in.Op]
	if !ok {
		return true
	}
	present := [10]bool{in.User != "", in.Session != "", in.RequestID != "", in.InviteID != "", in.Group != "",
		len(in.Invitees) > 0, in.Timeout != 0, in.Push != nil, in.OnlineUserOnly, in.Data != ""}
	for f := range present {
		if (u[f] == unused && present[f]) || (u[f] == required && !present[f]) {
			return true
		}
	}
	for f, id := range [5]string{in.User, in.Session, in.RequestID, in.InviteID, in.Group} {
		max := m.lim.maxID
		if f == 3 {
			max = kernel.MaxInviteIDBytes
		}
		if present[f] && !validID(id, max) {
			return true
		}
	}
	switch in.Op {
	case kernel.OpInvite:
		if len(in.Invitees) != 1 {
			return true
		}
	case kernel.OpInviteInGroup:
		if len(in.Invitees) > m.lim.maxInvitees {
			return true
		}
	}
	for i, v := range in.Invitees {
		if !validID(v, m.lim.maxID) || slices.Contains(in.Invitees[:i], v) || (v == in.User && in.Op != kernel.OpSetGroup) {
			return true
		}
	}
	if in.Timeout < 0 || in.Timeout > m.lim.maxTimeout || (in.Push != nil && in.Push.Desc == "") {
		return true
	}
	return false
}

// apply predicts a non-tick input that the request memory did not answer.
func (m *model) apply(in kernel.Input, out *[]output) expect {
	if m.malformed(in) {
		return expect{code: 6017}
	}
	if len(in.Data) > m.lim.maxData {
		return expect{code: 8001}
	}
	if !utf8.ValidString(in.Data) {
		return expect{code: 6017}
	}
	switch in.Op {
	case kernel.OpInvite, kernel.OpInviteInGroup:
		return m.invite(in, out)
	case kernel.OpCancel, kernel.OpAccept, kernel.OpReject, kernel.OpModify:
		return m.act(in, out)
	case kernel.OpConnect:
		if slices.Contains(m.presence[in.User], in.Session) {
			return expect{}
		}
		m.presence[in.User] = append(m.presence[in.User], in.Session)
		for _, v := range m.all {
			if i := slices.Index(v.invitees, in.User); i >= 0 && v.pending[i] && !v.onlineOnly {
				*out = append(*out, output{Kind: outEvent, User: in.User, Session: in.Session, Event: m.newInvitation(v)})
			}
		}
		return expect{opChanged: true}
	case kernel.OpDisconnect:
		i := slices.Index(m.presence[in.User], in.Session)
		if i < 0 {
			return expect{}
		}
		m.presence[in.User] = slices.Delete(slices.Clone(m.presence[in.User]), i, i+1)
		if len(m.presence[in.User]) == 0 {
			delete(m.presence, in.User)
		}
		return expect{opChanged: true}
	case kernel.OpTick:
		return expect{}
	case kernel.OpSetGroup:
		g := map[string]bool{}
		for _, u := range in.Invitees {
			g[u] = true
		}
		m.groups[in.Group] = g
		return expect{opChanged: true}
	default: // Join, Leave
		g, ok := m.groups[in.Group]
		if !ok {
			return expect{code: 10010}
		}
		if in.Op == kernel.OpJoinGroup && !g[in.User] {
			g[in.User] = true
			return expect{opChanged: true}
		}
		if in.Op == kernel.OpLeaveGroup && g[in.User] {
			delete(g, in.User)
			return expect{opChanged: true}
		}
		return expect{}
	}
}

func (m *model) newInvitation(v *minv) kernel.Event {
	return kernel.Event{Type: kernel.EventNewInvitation, InviteID: v.id, Inviter: v.inviter, GroupID: v.group,
		Invitees: v.invitees, Data: v.data}
}

func (m *model) invite(in kernel.Input, out *[]output) expect {
	if in.Op == kernel.OpInviteInGroup {
		g, ok := m.groups[in.Group]
		switch {
		case !ok:
			return expect{code: 10010}
		case !g[in.User]:
			return expect{code: 10007}
		}
		for _, u := range in.Invitees {
			if !g[u] {
				return expect{code: 6017}
			}
		}
	}
	open := 0
	for _, v := range m.open {
		if v.inviter == in.User {
			open++
		}
	}
	if open >= m.lim.maxOpen {
		return expect{code: 6017}
	}
	id := in.InviteID
	if id != "" {
		if m.open[id] != nil {
			return expect{code: 8012, inviteID: id}
		}
	} else {
		var code int
		if id, code = m.draw(); code != 0 {
			return expect{code: code}
		}
	}
	m.seq++
	v := &minv{id: id, inviter: in.User, group: in.Group, invitees: slices.Clone(in.Invitees),
		pending: make([]bool, len(in.Invitees)), unreached: make([]bool, len(in.Invitees)), npending: len(in.Invitees), data: in.Data,
		onlineOnly: in.OnlineUserOnly, push: in.Push, timeout: in.Timeout, created: m.now, seq: m.seq}
	for i := range v.pending {
		v.pending[i] = true
	}
	if v.timeout > 0 {
		v.deadline = v.created + int64(v.timeout)*int64(time.Second)
	}
	m.open[id] = v
	m.all = append(m.all, v)
	ev := m.newInvitation(v)
	for i, u := range v.invitees {
		if v.onlineOnly && len(m.presence[u]) == 0 {
			v.unreached[i] = true
			continue
		}
		m.emitTo(out, u, ev)
	}
	m.history(out, v, v.inviter, kernel.ActionInvite, v.invitees, v.data)
	if v.push != nil && !v.onlineOnly && v.group == "" && len(m.presence[v.invitees[0]]) == 0 {
		*out = append(*out, output{Kind: outPush, Push: &kernel.PushRequest{
			To: v.invitees[0], InviteID: id, Inviter: v.inviter, Data: v.data, Info: *v.push}})
	}
	return expect{inviteID: id, opChanged: true}
}

// draw mirrors the kernel's choice of an unused invite ID (kernel.IDSource).
func (m *model) draw() (string, int) {
	for try := 0; try < 8; try++ {
		var id string
		if m.ids != nil {
			id = m.ids[m.srcPos%len(m.ids)]
			m.srcPos++
			if !validID(id, kernel.MaxInviteIDBytes) {
				return "", 6017
			}
		} else {
			id = "i" + strconv.Itoa(m.seq+1)
			if try > 0 {
				id += "." + strconv.Itoa(try)
			}
		}
		if m.open[id] == nil {
			return id, 0
		}
	}
	return "", 8012
}

// act predicts cancel, accept, reject and modify.
func (m *model) act(in kernel.Input, out *[]output) expect {
	v := m.open[in.InviteID]
	if v == nil {
		return expect{code: 8010}
	}
	i := slices.Index(v.invitees, in.User)
	switch in.Op {
	case kernel.OpCancel:
		if in.User != v.inviter {
			if i >= 0 {
				return expect{code: 8011}
			}
			return expect{code: 8010}
		}
		m.emitToParticipants(out, v, kernel.Event{Type: kernel.EventCancelled, InviteID: v.id, Inviter: v.inviter, Data: in.Data})
		m.history(out, v, in.User, kernel.ActionCancel, v.invitees, in.Data)
		m.close(v)
	case kernel.OpAccept, kernel.OpReject:
		if i < 0 || !v.pending[i] {
			return expect{code: 8010}
		}
		v.pending[i] = false
		v.npending--
		ev, a := kernel.Event{Type: kernel.EventAccepted, InviteID: v.id, Invitee: in.User, Data: in.Data}, kernel.ActionAccept
		if in.Op == kernel.OpReject {
			ev.Type, a = kernel.EventRejected, kernel.ActionReject
		}
		m.emitToParticipants(out, v, ev)
		m.history(out, v, in.User, a, []string{in.User}, in.Data)
		if v.npending == 0 {
			m.close(v)
		}
	case kernel.OpModify:
		if !v.participant(in.User) {
			return expect{code: 8010}
		}
		if v.onlineOnly {
			return expect{code: 8011}
		}
		v.data = in.Data
		m.emitToParticipants(out, v, kernel.Event{Type: kernel.EventModified, InviteID: v.id, Data: in.Data})
		m.history(out, v, in.User, kernel.ActionModify, v.invitees, in.Data)
	}
	return expect{inviteID: v.id, opChanged: true}
}

// nextDeadline is the earliest deadline of an open invitation, 0 if none.
func (m *model) nextDeadline() int64 {
	var d int64
	for _, v := range m.open {
		if v.deadline != 0 && (d == 0 || v.deadline < d) {
			d = v.deadline
		}
	}
	return d
}
