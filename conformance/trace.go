package conformance

import (
	"fmt"
	"strings"
	"time"
)

// recorder wraps a Harness and keeps the trace of every call and its
// result, printed with each failure.
type recorder struct {
	h     Harness
	now   time.Duration // virtual time since the harness was made
	lines []string
}

func newRecorder(h Harness) *recorder { return &recorder{h: h} }

func (r *recorder) logf(format string, args ...any) {
	r.lines = append(r.lines, fmt.Sprintf("%8s  ", fmtDur(r.now))+fmt.Sprintf(format, args...))
}

func fmtDur(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("t=%ds", d/time.Second)
	}
	return "t=" + d.String()
}

// trace renders the trace, keeping its last 120 lines.
func (r *recorder) trace() string {
	lines := r.lines
	var b strings.Builder
	b.WriteString("trace of operations:\n")
	if len(lines) > 120 {
		fmt.Fprintf(&b, "    ... (%d earlier lines)\n", len(lines)-120)
		lines = lines[len(lines)-120:]
	}
	for _, l := range lines {
		b.WriteString("    ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

func callerString(c Caller) string {
	s := fmt.Sprintf("%q", c.User)
	if c.Session != "" {
		s += "@" + fmt.Sprintf("%q", c.Session)
	}
	if c.RequestID != "" {
		s += " req=" + fmt.Sprintf("%q", c.RequestID)
	}
	return s
}

func inviteString(c Caller, a InviteArgs) string {
	s := fmt.Sprintf("Invite(by %s, to %q, data=%s, timeout=%d", callerString(c), a.Invitee, short(a.Data), a.Timeout)
	if a.InviteID != "" {
		s += fmt.Sprintf(", id=%s", short(a.InviteID))
	}
	if a.OnlineUserOnly {
		s += ", onlineOnly"
	}
	return s + pushString(a.Push) + ")"
}

func pushString(p *PushInfo) string {
	if p == nil {
		return ""
	}
	return fmt.Sprintf(", push{title=%q desc=%q ext=%q sound=%q}", p.Title, p.Desc, p.Ext, p.Sound)
}

func groupInviteString(c Caller, a GroupInviteArgs) string {
	s := fmt.Sprintf("InviteInGroup(by %s, group %q, to %s, data=%s, timeout=%d", callerString(c), a.Group, quoteList(a.Invitees), short(a.Data), a.Timeout)
	if a.InviteID != "" {
		s += fmt.Sprintf(", id=%s", short(a.InviteID))
	}
	if a.OnlineUserOnly {
		s += ", onlineOnly"
	}
	return s + pushString(a.Push) + ")"
}

func respString(op string, c Caller, id, data string) string {
	return fmt.Sprintf("%s(by %s, %s, data=%s)", op, callerString(c), short(id), short(data))
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = short(s)
	}
	return "[" + strings.Join(q, ",") + "]"
}

func (r *recorder) Limits() Limits { return r.h.Limits() }

func (r *recorder) Invite(c Caller, a InviteArgs) (string, int) {
	id, code := r.h.Invite(c, a)
	r.logf("%s -> id=%q code=%d", inviteString(c, a), id, code)
	return id, code
}

func (r *recorder) InviteInGroup(c Caller, a GroupInviteArgs) (string, int) {
	id, code := r.h.InviteInGroup(c, a)
	r.logf("%s -> id=%q code=%d", groupInviteString(c, a), id, code)
	return id, code
}

func (r *recorder) Cancel(c Caller, id, data string) int {
	code := r.h.Cancel(c, id, data)
	r.logf("%s -> code=%d", respString("Cancel", c, id, data), code)
	return code
}

func (r *recorder) Accept(c Caller, id, data string) int {
	code := r.h.Accept(c, id, data)
	r.logf("%s -> code=%d", respString("Accept", c, id, data), code)
	return code
}

func (r *recorder) Reject(c Caller, id, data string) int {
	code := r.h.Reject(c, id, data)
	r.logf("%s -> code=%d", respString("Reject", c, id, data), code)
	return code
}

func (r *recorder) Modify(c Caller, id, data string) int {
	code := r.h.Modify(c, id, data)
	r.logf("%s -> code=%d", respString("Modify", c, id, data), code)
	return code
}

func (r *recorder) Connect(user, session string) int {
	code := r.h.Connect(user, session)
	r.logf("Connect(%q, %q) -> code=%d", user, session, code)
	return code
}

func (r *recorder) Disconnect(user, session string) int {
	code := r.h.Disconnect(user, session)
	r.logf("Disconnect(%q, %q) -> code=%d", user, session, code)
	return code
}

func (r *recorder) SetGroup(group string, members []string) int {
	code := r.h.SetGroup(group, members)
	r.logf("SetGroup(%q, %s) -> code=%d", group, quoteList(members), code)
	return code
}

func (r *recorder) JoinGroup(group, user string) int {
	code := r.h.JoinGroup(group, user)
	r.logf("JoinGroup(%q, %q) -> code=%d", group, user, code)
	return code
}

func (r *recorder) LeaveGroup(group, user string) int {
	code := r.h.LeaveGroup(group, user)
	r.logf("LeaveGroup(%q, %q) -> code=%d", group, user, code)
	return code
}

func (r *recorder) Advance(d time.Duration) {
	r.h.Advance(d)
	r.now += d
	r.logf("Advance(%v)", d)
}

func (r *recorder) TakeEvents(user, session string) []Event {
	evs := r.h.TakeEvents(user, session)
	if len(evs) > 0 {
		parts := make([]string, len(evs))
		for i, e := range evs {
			parts[i] = e.String()
		}
		r.logf("TakeEvents(%q, %q) -> %s", user, session, strings.Join(parts, "; "))
	}
	return evs
}

func (r *recorder) History(conv Conversation) [][]byte {
	return r.h.History(conv)
}

func (r *recorder) TakePushes() []PushRequest {
	ps := r.h.TakePushes()
	for _, p := range ps {
		r.logf("TakePushes -> %s", p)
	}
	return ps
}

func (r *recorder) ParseSignalingInfo(msg []byte) (Envelope, bool) {
	return r.h.ParseSignalingInfo(msg)
}

func (r *recorder) restarter() (Restarter, bool) {
	x, ok := r.h.(Restarter)
	return x, ok
}

func (r *recorder) Restart(downtime time.Duration) {
	x, ok := r.restarter()
	if !ok {
		panic("conformance: Restart on a harness without Restarter")
	}
	x.Restart(downtime)
	r.now += downtime
	r.logf("Restart(downtime %v)", downtime)
}

func (r *recorder) resumer() (SessionResumer, bool) {
	x, ok := r.h.(SessionResumer)
	return x, ok
}

func (r *recorder) mustResumer() SessionResumer {
	x, ok := r.resumer()
	if !ok {
		panic("conformance: a session operation on a harness without SessionResumer")
	}
	return x
}

func (r *recorder) ConnectFor(user, session string, expiry time.Duration) int {
	code := r.mustResumer().ConnectFor(user, session, expiry)
	r.logf("ConnectFor(%q, %q, expiry %v) -> code=%d", user, session, expiry, code)
	return code
}

func (r *recorder) Drop(user, session string) {
	r.mustResumer().Drop(user, session)
	r.logf("Drop(%q, %q)", user, session)
}

func (r *recorder) Reconnect(user, session string) (bool, int) {
	resumed, code := r.mustResumer().Reconnect(user, session)
	r.logf("Reconnect(%q, %q) -> resumed=%v code=%d", user, session, resumed, code)
	return resumed, code
}
