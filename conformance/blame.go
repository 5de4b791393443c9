package conformance

import (
	"reflect"
	"slices"
	"sort"
)

// Blame: which rules a difference found by the property test belongs to.
// A failure names the rules whose check failed, most specific first: the
// rule the model applied to decide a result, the rule of the aspect that
// differs (code, invite ID, events, history, push requests) for the kind of
// step that caused it, and the rules behind the state it acted on (an
// invitation the model closed by a timeout: TMO-1).

type stepKind int

const (
	stepInvite stepKind = iota + 1
	stepGroupInvite
	stepCancel
	stepAccept
	stepReject
	stepModify
	stepConnect
	stepDisconnect
	stepMembership
	stepAdvance
	stepRestart
	stepParse
	stepDrop
	stepReconnect
)

// respKinds maps a respOp to its step kind.
var respKinds = [...]stepKind{opCancel: stepCancel, opAccept: stepAccept, opReject: stepReject, opModify: stepModify}

// stepInfo is what the property knows of one step.
type stepInfo struct {
	kind         stepKind
	op           string  // the operation, for messages
	code         int     // the model's code
	rule         string  // the rule that decided the model's answer
	id           string  // the invite ID acted on (or chosen), if any
	user         string  // the acting user
	sess         sessKey // Connect, Drop, Reconnect: the session
	reqID        bool    // the caller gave a request ID
	dup          bool    // the model answered from the request-ID memory
	afterRestart bool    // a retry made after a Restart
}

func (s stepInfo) failed() bool { return s.code != 0 && !s.dup }

// invMeta is what the property knows of an invitation it saw made.
type invMeta struct {
	v          *minv // the model's invitation, while open
	inviter    string
	members    map[string]bool // participants
	timeout    int
	onlineOnly bool
	modified   bool
	restarts   int      // Restarts before it was made
	ended      []string // the rules that closed it, once closed
}

func newMeta(v *minv, restarts int) *invMeta {
	m := &invMeta{v: v, inviter: v.inviter, members: map[string]bool{v.inviter: true}, timeout: v.timeout,
		onlineOnly: v.onlineOnly, restarts: restarts}
	for _, u := range v.invitees {
		m.members[u] = true
	}
	return m
}

// wantEv is an event the model expects, with the rules it belongs to: if
// it is missing, and if it arrived with other contents.
type wantEv struct {
	ev               Event
	missing, content []string
}

// rules returns l without repetitions, in order.
func rules(l ...string) []string {
	var out []string
	for _, r := range l {
		if r != "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// closedBy returns the rules by which step st closed the invitation m.
func (p *prop) closedBy(st stepInfo, id string, m *invMeta) []string {
	switch {
	case st.kind == stepCancel && st.id == id && st.code == 0:
		return []string{"CAN-3"}
	case (st.kind == stepAccept || st.kind == stepReject) && st.id == id && st.code == 0:
		return []string{"END-1"}
	}
	return p.timeoutRules(st, m)
}

// timeoutRules are the rules of a timeout that fired (or should have) in
// step st: TMO-4 too if the invitation lived across a restart, MOD-1 too if
// it was modified.
func (p *prop) timeoutRules(st stepInfo, m *invMeta) []string {
	r := []string{"TMO-1"}
	if st.kind == stepRestart || (m != nil && p.restarts > m.restarts) {
		r = append(r, "TMO-4")
	}
	if m != nil && m.modified {
		r = append(r, "MOD-1")
	}
	return r
}

// retryRules are the rules of a step answered from the request-ID memory.
func retryRules(st stepInfo) []string {
	if !st.dup {
		return nil
	}
	if st.afterRestart {
		return []string{"IDM-1", "DLV-3"}
	}
	return []string{"IDM-1"}
}

// codeRules blames a result code got where the model answered st.code.
func (p *prop) codeRules(st stepInfo, got int) []string {
	var l []string
	switch {
	case st.dup:
		l = retryRules(st)
	case st.code != 0:
		l = []string{st.rule}
		if m := p.meta[st.id]; m != nil && !roleOK(st, m) {
			l = append(l, roleRule[st.kind]) // a closed invitation, and the wrong role too
		}
	default:
		l = successRules(st.kind, got)
		if m := p.meta[st.id]; m != nil && m.ended == nil && got == CodeInvalidInviteID {
			// the implementation may have closed it by a timeout
			if m.timeout > 0 {
				l = append(l, "TMO-1")
			} else {
				l = append(l, "TMO-3")
			}
		}
	}
	if m := p.meta[st.id]; m != nil {
		l = append(l, m.ended...)
	}
	if st.reqID {
		l = append(l, "IDM-1")
	}
	return rules(l...)
}

// roleRule is the rule of who may do what.
var roleRule = map[stepKind]string{stepCancel: "CAN-1", stepAccept: "ACC-1", stepReject: "REJ-1", stepModify: "MOD-2"}

// roleOK tells whether the caller of st has the role its operation needs
// in the invitation m.
func roleOK(st stepInfo, m *invMeta) bool {
	switch st.kind {
	case stepCancel:
		return st.user == m.inviter
	case stepAccept, stepReject:
		return st.user != m.inviter && m.members[st.user]
	case stepModify:
		return m.members[st.user]
	}
	return true
}

// successRules are the rules that make a step succeed that an
// implementation refused with code got.
func successRules(k stepKind, got int) []string {
	switch k {
	case stepInvite, stepGroupInvite:
		first := map[stepKind]string{stepInvite: "INV-1", stepGroupInvite: "INV-2"}[k]
		switch got {
		case CodeBodySizeLimit:
			return []string{"INV-4", first}
		case CodeAlreadyExists:
			return []string{"INV-6", first}
		case CodeInvalidParameters:
			return []string{first, "INV-3", "LIM-1"}
		}
		return []string{first}
	case stepCancel:
		return []string{"CAN-1", "CAN-2"}
	case stepAccept:
		return []string{"ACC-1", "ACC-2"}
	case stepReject:
		return []string{"REJ-1", "REJ-2"}
	case stepModify:
		if got == CodeNoPermission {
			return []string{"ONL-3", "MOD-2"}
		}
		return []string{"MOD-2"}
	case stepMembership:
		return []string{"INV-2", "LIM-1"}
	}
	return []string{"LIM-1"}
}

// idRules blames a wrong invite ID of an invite.
func (p *prop) idRules(st stepInfo, chosen bool) []string {
	var l []string
	switch {
	case st.dup:
		l = retryRules(st)
	case chosen:
		l = []string{"INV-6"}
	default:
		l = []string{"INV-1"}
	}
	if st.reqID {
		l = append(l, "IDM-1")
	}
	return rules(l...)
}

// tagEvent gives an event the model expects the rules it belongs to.
func (p *prop) tagEvent(st stepInfo, ev Event) wantEv {
	w := wantEv{ev: ev}
	m := p.meta[ev.InviteID]
	switch ev.Type {
	case EventTimeout:
		w.missing = p.timeoutRules(st, m)
		w.content = []string{"TMO-2"}
	case EventNewInvitation:
		if st.kind == stepConnect || st.kind == stepReconnect {
			w.missing = []string{"SYN-1"}
			if st.kind == stepReconnect {
				w.missing = []string{"REM-6", "SYN-1"}
			}
			if m != nil && m.modified {
				w.missing = append(w.missing, "MOD-3")
			}
		} else {
			w.missing = []string{"INV-5", "DLV-1"}
		}
	case EventCancelled:
		w.missing = []string{"CAN-3", "DLV-1"}
	case EventAccepted:
		w.missing = []string{"ACC-3", "DLV-1"}
	case EventRejected:
		w.missing = []string{"REJ-3", "DLV-1"}
	case EventModified:
		w.missing = []string{"MOD-3", "DLV-1"}
	}
	if w.content == nil {
		w.content = w.missing
	}
	if st.reqID { // the request-ID memory may have answered instead
		w.missing = append(w.missing, "IDM-1")
	}
	return w
}

// eventRules blames the difference between the events a session got and
// those the model expects.
func (p *prop) eventRules(k sessKey, got []Event, want []wantEv) []string {
	wantEvs := make([]Event, len(want))
	for i, w := range want {
		wantEvs[i] = w.ev
	}
	if sameEvents(sortedEvents(got), sortedEvents(wantEvs)) {
		return []string{"DLV-2"} // the right events in another order
	}
	i := 0
	for i < len(got) && i < len(want) && sameEvents(got[i:i+1], wantEvs[i:i+1]) {
		i++
	}
	switch {
	case i < len(got) && i < len(want) && got[i].Type == want[i].ev.Type && got[i].InviteID == want[i].ev.InviteID:
		return want[i].content
	case i < len(got) && !containsEvent(wantEvs, got[i]):
		return p.extraEventRules(k, got[i])
	case i < len(want):
		return want[i].missing
	}
	return p.extraEventRules(k, got[i])
}

// extraEventRules blames an event the model does not expect at all.
func (p *prop) extraEventRules(k sessKey, ev Event) []string {
	var l []string
	m := p.meta[ev.InviteID]
	if m != nil && !m.members[k.user] {
		l = append(l, "DLV-1")
	}
	for _, st := range p.sinceRead {
		l = append(l, retryRules(st)...)
		if st.failed() && (m == nil || st.id == ev.InviteID) {
			l = append(l, st.rule) // errors emit nothing
		}
		if (st.kind == stepDrop || st.kind == stepReconnect) && st.sess == k {
			l = append(l, st.rule) // REM-4 for a drop, REM-5 or REM-6 for a reconnect
		}
	}
	switch ev.Type {
	case EventNewInvitation:
		connected := false
		for _, st := range p.sinceRead {
			connected = connected || ((st.kind == stepConnect || st.kind == stepReconnect) && st.sess == k)
		}
		switch {
		case m != nil && m.onlineOnly:
			l = append(l, "ONL-1")
		case connected:
			l = append(l, "SYN-1")
		default:
			l = append(l, "INV-5")
		}
	case EventTimeout:
		if m != nil && m.timeout == 0 {
			l = append(l, "TMO-3")
		} else {
			l = append(l, "TMO-1")
		}
	case EventCancelled:
		l = append(l, "CAN-3")
	case EventAccepted:
		l = append(l, "ACC-3")
	case EventRejected:
		l = append(l, "REJ-3")
	case EventModified:
		l = append(l, "MOD-3")
	}
	return rules(append(l, "DLV-1")...)
}

func containsEvent(l []Event, e Event) bool {
	for i := range l {
		if sameEvents(l[i:i+1], []Event{e}) {
			return true
		}
	}
	return false
}

func sortedEvents(l []Event) []Event {
	out := make([]Event, len(l))
	for i, e := range l {
		out[i] = e.Normalize()
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// historyRules blames the difference between a conversation's history and
// the model's, both decoded (the messages seen before are unchanged).
func (p *prop) historyRules(got, want []Envelope) []string {
	i := 0
	for i < len(got) && i < len(want) && sameEnvelopes(got[i:i+1], want[i:i+1]) {
		i++
	}
	switch {
	case i < len(got) && i < len(want) && got[i].ActionType == want[i].ActionType && got[i].InviteID == want[i].InviteID:
		return []string{"HIS-2"} // a message with other contents
	case i < len(got) && !containsEnvelope(want, got[i]):
		return p.extraHistoryRules(got[i])
	case i < len(want):
		return p.missingHistoryRules(want[i])
	}
	return p.extraHistoryRules(got[i])
}

func (p *prop) missingHistoryRules(e Envelope) []string {
	var l []string
	if e.ActionType == ActionTimeout {
		l = p.timeoutRules(p.step, p.meta[e.InviteID])
	}
	if p.step.reqID {
		l = append(l, "IDM-1")
	}
	return rules(append(l, "HIS-1")...)
}

func (p *prop) extraHistoryRules(e Envelope) []string {
	var l []string
	m := p.meta[e.InviteID]
	if e.OnlineUserOnly || (m != nil && m.onlineOnly) {
		l = append(l, "ONL-2")
	}
	l = append(l, retryRules(p.step)...)
	if p.step.failed() {
		l = append(l, p.step.rule) // errors emit nothing
	}
	if e.ActionType == ActionTimeout {
		if m != nil && m.timeout == 0 {
			l = append(l, "TMO-3")
		} else {
			l = append(l, "TMO-1")
		}
		if p.step.kind == stepRestart {
			l = append(l, "TMO-4")
		}
	}
	return rules(append(l, "HIS-1")...)
}

func containsEnvelope(l []Envelope, e Envelope) bool {
	for i := range l {
		if sameEnvelopes(l[i:i+1], []Envelope{e}) {
			return true
		}
	}
	return false
}

// pushRules blames a difference in the push requests of the current step:
// SYN-2, and REM-4 too while a session is away (offline for push).
func (p *prop) pushRules() []string {
	l := retryRules(p.step)
	if p.step.failed() {
		l = append(l, p.step.rule) // errors emit nothing
	}
	l = append(l, "SYN-2")
	for _, ss := range p.m.sessions {
		for _, s := range ss {
			if s.away {
				return rules(append(l, "REM-4")...)
			}
		}
	}
	return rules(l...)
}

// openRules blames the difference between the open invitations user lists
// and the model's (QRY-1): an invitation listed that the model closed
// belongs to the rules that closed it, one hidden from the user to ONL-1,
// one missing after a Restart to DLV-3.
func (p *prop) openRules(user string, got, want []OpenInvitation) []string {
	l := []string{"QRY-1"}
	listed := func(l []OpenInvitation, id string) bool {
		return slices.ContainsFunc(l, func(o OpenInvitation) bool { return o.InviteID == id })
	}
	for _, o := range got {
		if m := p.meta[o.InviteID]; m != nil && !listed(want, o.InviteID) {
			if m.ended != nil {
				l = append(l, m.ended...)
			} else if m.onlineOnly && m.members[user] {
				l = append(l, "ONL-1")
			}
		}
	}
	for _, o := range want {
		if !listed(got, o.InviteID) && p.step.kind == stepRestart {
			l = append(l, "DLV-3")
		}
	}
	return rules(l...)
}

// recordRules blames the difference between the call records user lists
// and the model's, want, of its calls, newest first, of which the first
// kept must be listed: another order, or another user's record, is REC-2; a
// record with other contents, or an online-only one (ONL-2), is REC-1; a
// record missing is REC-2 and DLV-3 if it was there before a Restart,
// REC-1, TMO-4 and REC-2 if a timeout closed it on recovery, else REC-1 and the
// rules that closed it, and REC-2 and DLV-3 too after any Restart (a
// restart may have broken the store).
func (p *prop) recordRules(user string, got, want []CallRecord, calls []mcall, kept int) []string {
	has := func(l []CallRecord, id string) bool {
		return slices.ContainsFunc(l, func(r CallRecord) bool { return r.InviteID == id })
	}
	i := 0
	for i < len(got) && i < len(want) && reflect.DeepEqual(got[i], want[i]) {
		i++
	}
	switch {
	case i < len(got) && i < len(want) && got[i].InviteID == want[i].InviteID:
		return []string{"REC-1"}
	case i < len(got) && has(want, got[i].InviteID):
		return []string{"REC-2"} // out of order, or twice
	case i < len(got):
		m := p.meta[got[i].InviteID]
		switch {
		case m != nil && m.onlineOnly:
			return []string{"REC-1", "ONL-2"}
		case m != nil && !m.members[user]:
			return []string{"REC-2"}
		}
		return []string{"REC-1"}
	}
	var l []string
	for _, c := range calls[i:kept] {
		if c.seq <= p.restartSeq {
			l = append([]string{"REC-2", "DLV-3"}, l...)
		} else if p.step.kind == stepRestart {
			l = append(l, "REC-1", "TMO-4", "REC-2") // or the restart lost it
		}
	}
	if len(l) == 0 {
		l = []string{"REC-1"}
		if m := p.meta[calls[i].v.id]; m != nil {
			l = append(l, m.ended...)
		}
		if p.restarts > 0 {
			l = append(l, "REC-2", "DLV-3")
		}
	}
	return rules(l...)
}
