package crash

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/beckonhq/beckon/adapters/mqtt/wire"
	"github.com/beckonhq/beckon/internal/scale"
	"github.com/beckonhq/beckon/kernel"
)

// Event types (docs/protocol.md "Events").
const (
	evNew       = "ReceiveNewInvitation"
	evCancelled = "InvitationCancelled"
	evAccepted  = "InviteeAccepted"
	evRejected  = "InviteeRejected"
	evTimeout   = "InvitationTimeout"
	evModified  = "InvitationModified"
)

// closing is what each way an invitation closes leaves: the event every
// participant receives, the history message's action, and each side's
// call-record outcome and the invitee's final state.
type closing struct {
	event            string
	action           kernel.Action
	inviter, invitee string // outcomes (REC-1)
	state            string // the invitee's
}

var closings = map[string]closing{
	"accept": {evAccepted, kernel.ActionAccept, "answered", "accepted", "accepted"},
	"reject": {evRejected, kernel.ActionReject, "declined", "rejected", "rejected"},
	"cancel": {evCancelled, kernel.ActionCancel, "cancelled", "cancelled", "cancelled"},
	"":       {evTimeout, kernel.ActionTimeout, "unanswered", "missed", "timed_out"},
}

// owed is, for each user, the events each invitation owes it, in order:
// ReceiveNewInvitation to the invitee (INV-5), a InvitationModified per
// successful modify (MOD-3), the closing event (CAN-3, ACC-3, REJ-3,
// TMO-2) to both (DLV-1).
func owed(invs []*Invitation) map[string]map[string][]string {
	out := make(map[string]map[string][]string)
	add := func(user, id string, types ...string) {
		if out[user] == nil {
			out[user] = make(map[string][]string)
		}
		out[user][id] = append(out[user][id], types...)
	}
	for _, inv := range invs {
		add(inv.Invitee, inv.ID, evNew)
		for range inv.Modifies {
			add(inv.Inviter, inv.ID, evModified)
			add(inv.Invitee, inv.ID, evModified)
		}
		end := closings[inv.Closer].event
		add(inv.Inviter, inv.ID, end)
		add(inv.Invitee, inv.ID, end)
	}
	return out
}

// byInvitation groups events by invite ID, in the order handled.
func byInvitation(evs []scale.Event) map[string][]string {
	out := make(map[string][]string)
	for _, e := range evs {
		out[e.InviteID] = append(out[e.InviteID], e.Type)
	}
	return out
}

// checkEvents compares what a device handled with what it is owed: one
// session (one Session notice with resumed=false, its first), seq numbers
// 1..n without a gap (REM-5), and each invitation's events exactly once,
// in order (DLV-2). It returns the problems, at most max of them.
func checkEvents(dv *device, want map[string][]string, max int) []string {
	var out []string
	note := func(format string, args ...any) bool {
		if len(out) < max {
			out = append(out, dv.User+": "+fmt.Sprintf(format, args...))
		}
		return len(out) < max
	}
	notices, fresh := dv.counts()
	if fresh != 1 {
		note("%d of its %d Session notices said resumed=false, want only its first: it lost its session though it came back within its expiry (REM-5)", fresh, notices)
	}
	if st := dv.Stats(); st.Gaps.Load() != 0 {
		note("%d seq gaps: events lost (REM-5)", st.Gaps.Load())
	}
	evs := dv.handled()
	for i, e := range evs {
		if e.Seq != uint64(i+1) {
			note("event %d handled has seq %d (%s %s): want the run 1..n", i+1, e.Seq, e.Type, e.InviteID)
			break
		}
	}
	got := byInvitation(evs)
	for _, id := range sortedKeys(want) {
		if !slices.Equal(got[id], want[id]) && !note("invitation %s: handled %v, want %v", id, got[id], want[id]) {
			break
		}
	}
	for _, id := range sortedKeys(got) {
		if _, ok := want[id]; !ok && !note("invitation %s: handled %v of an invitation it has no part in or that no acknowledged invite made", id, got[id]) {
			break
		}
	}
	return out
}

// settled reports whether every device has handled what it is owed, or
// more.
func settled(devs []*device, want map[string]map[string][]string) bool {
	for _, dv := range devs {
		got := byInvitation(dv.handled())
		for id, types := range want[dv.User] {
			if len(got[id]) < len(types) {
				return false
			}
		}
	}
	return true
}

// message is one history message as the oracle compares it.
type message struct {
	action kernel.Action
	data   string
}

// checkHistory compares the 1:1 history of caller and callee, read as
// caller, with the load's acknowledged operations: per invitation its
// invite, its modifies and its closing message, each once, in order
// (HIS-1: an acknowledged operation is durable, DLV-3; a timeout is
// written once, TMO-4), and nothing else. It returns the messages read
// and the problems.
func checkHistory(ctx context.Context, caller *device, callee string, invs []*Invitation, max int) (int, []string, error) {
	var msgs []wire.HistoryMessage
	for {
		limit := 1000
		args := wire.HistoryArgs{Peer: callee, Limit: &limit}
		if len(msgs) > 0 {
			args.After = msgs[len(msgs)-1].Seq
		}
		var page wire.HistoryResult
		if err := query(ctx, caller, "history", args, &page); err != nil {
			return 0, nil, err
		}
		msgs = append(msgs, page.Messages...)
		if len(page.Messages) < limit {
			break
		}
	}
	got := make(map[string][]message)
	for _, m := range msgs {
		info, err := kernel.GetSignalingInfo(m.Info)
		if err != nil {
			return 0, nil, fmt.Errorf("crash: history of %s and %s: message %d: %w", caller.User, callee, m.Seq, err)
		}
		got[info.InviteID] = append(got[info.InviteID], message{info.ActionType, info.Data})
	}
	var out []string
	note := func(format string, args ...any) bool {
		if len(out) < max {
			out = append(out, fmt.Sprintf("history of %s and %s: ", caller.User, callee)+fmt.Sprintf(format, args...))
		}
		return len(out) < max
	}
	known := make(map[string]bool)
	for _, inv := range invs {
		if inv.Inviter != caller.User || inv.Invitee != callee {
			continue
		}
		known[inv.ID] = true
		want := []message{{kernel.ActionInvite, inv.Data}}
		for _, d := range inv.Modifies {
			want = append(want, message{kernel.ActionModify, d})
		}
		want = append(want, message{closings[inv.Closer].action, inv.CloserData})
		g := got[inv.ID]
		if len(g) == len(want) && inv.Closer == "" {
			g[len(g)-1].data = "" // a timeout's data is not the load's
		}
		if !slices.Equal(g, want) && !note("invitation %s: %v, want %v", inv.ID, g, want) {
			break
		}
	}
	for _, id := range sortedKeys(got) {
		if !known[id] && !note("invitation %s: %v, of no acknowledged invite", id, got[id]) {
			break
		}
	}
	return len(msgs), out, nil
}

// checkRecords compares a user's call records with the final states the
// load's answers imply (REC-1): one record per invitation, the outcome and
// invitee state its closing gives, nothing else. It returns the records
// read and the problems.
func checkRecords(ctx context.Context, dv *device, invs []*Invitation, max int) (int, []string, error) {
	var recs []wire.CallRecord
	after := ""
	for {
		limit := 1000
		var page wire.RecordsResult
		if err := query(ctx, dv, "records", wire.RecordsArgs{After: after, Limit: &limit}, &page); err != nil {
			return 0, nil, err
		}
		recs = append(recs, page.Records...)
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	got := make(map[string][]wire.CallRecord)
	for _, r := range recs {
		got[r.InviteID] = append(got[r.InviteID], r)
	}
	var out []string
	note := func(format string, args ...any) bool {
		if len(out) < max {
			out = append(out, dv.User+": records: "+fmt.Sprintf(format, args...))
		}
		return len(out) < max
	}
	known := make(map[string]bool)
	for _, inv := range invs {
		if inv.Inviter != dv.User && inv.Invitee != dv.User {
			continue
		}
		known[inv.ID] = true
		c := closings[inv.Closer]
		outcome := c.invitee
		if inv.Inviter == dv.User {
			outcome = c.inviter
		}
		g := got[inv.ID]
		if len(g) != 1 || g[0].Outcome != outcome || !slices.Equal(g[0].States, []string{c.state}) {
			var have []string
			for _, r := range g {
				have = append(have, fmt.Sprintf("%s %v", r.Outcome, r.States))
			}
			if !note("invitation %s (closed by %q): %v, want one %s [%s]", inv.ID, inv.Closer, have, outcome, c.state) {
				break
			}
		}
	}
	for _, id := range sortedKeys(got) {
		if !known[id] && !note("invitation %s: a record of no acknowledged invite", id) {
			break
		}
	}
	return len(recs), out, nil
}

// checkOpen reports the invitations a user still sees open: none, once
// every deadline has passed (QRY-1, TMO-1).
func checkOpen(ctx context.Context, dv *device) ([]string, error) {
	var res wire.OpenResult
	if err := query(ctx, dv, "listOpen", struct{}{}, &res); err != nil {
		return nil, err
	}
	var out []string
	for _, o := range res.Invitations {
		out = append(out, fmt.Sprintf("%s: invitation %s still open (%v) after its deadline", dv.User, o.InviteID, o.States))
	}
	return out, nil
}

// query reads op's result into res.
func query(ctx context.Context, dv *device, op string, args, res any) error {
	r, _, err := dv.call(ctx, op, "", args)
	if err != nil {
		return err
	}
	if r.Code != 0 {
		return fmt.Errorf("crash: %s: %s: code %d: %s", dv.User, op, r.Code, r.Message)
	}
	if err := json.Unmarshal(r.Result, res); err != nil {
		return fmt.Errorf("crash: %s: %s: result %s: %w", dv.User, op, r.Result, err)
	}
	return nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// waitSettled waits up to patience for every device to have handled what
// it is owed.
func waitSettled(ctx context.Context, devs []*device, want map[string]map[string][]string, patience time.Duration) {
	deadline := time.Now().Add(patience)
	for !settled(devs, want) && time.Now().Before(deadline) && ctx.Err() == nil {
		sleep(ctx, 20*time.Millisecond)
	}
}
