package crash

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/beckonhq/beckon/adapters/mqtt/wire"
	"github.com/beckonhq/beckon/internal/scale"
)

// Invitation is what the load did to one invitation and what the server
// answered: its final state follows from the answers alone.
type Invitation struct {
	ID       string
	Inviter  string
	Invitee  string
	Data     string    // the invite's
	Timeout  int       // seconds
	Sent     time.Time // the invite's first send
	Answered time.Time // its successful answer: the deadline is within [Sent, Answered] + Timeout
	Modifies []string  // data of the modifies answered with success, in order
	// Closer is the operation answered with success that closed it
	// (accept, reject or cancel), "" if none did: it timed out.
	Closer     string
	CloserData string
}

// Deadline is the latest the invitation's deadline can be.
func (inv *Invitation) Deadline() time.Time {
	return inv.Answered.Add(time.Duration(inv.Timeout) * time.Second)
}

// ledger is every invitation the load made, and the operations' count.
type ledger struct {
	mu    sync.Mutex
	invs  []*Invitation
	ops   int // operations answered
	sends int // requests sent for them (retries included)
	log   io.Writer
}

func (l *ledger) add(inv *Invitation) {
	l.mu.Lock()
	l.invs = append(l.invs, inv)
	l.mu.Unlock()
}

// answered counts one answered operation and logs it.
func (l *ledger) answered(user, op, requestID string, sends, code int, result json.RawMessage) {
	l.mu.Lock()
	l.ops++
	l.sends += sends
	l.mu.Unlock()
	l.note("%s %s %s sends=%d code=%d %s", user, op, requestID, sends, code, result)
}

// note writes a line to the log, after the time in UTC (as the server's
// log has it).
func (l *ledger) note(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.log, "%s %s\n", time.Now().UTC().Format("15:04:05.000000"), fmt.Sprintf(format, args...))
}

func (l *ledger) all() []*Invitation {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Invitation(nil), l.invs...)
}

// codeClosed is 8010: the invitation is closed. Only a timeout closes an
// invitation the load has not closed itself.
const codeClosed = 8010

// pair is a caller and a callee playing rounds.
type pair struct {
	n      int
	caller *device
	callee *device
	seed   uint64
	ledger *ledger
}

// play plays rounds one after the other until stop is closed, and
// returns the first operation whose answer breaks the rules. A pair plays
// on several lanes at once, each with its own rng and request IDs.
func (p *pair) play(ctx context.Context, lane int, stop <-chan struct{}) error {
	rng := rand.New(rand.NewPCG(p.seed, uint64(lane)))
	for round := 1; ; round++ {
		select {
		case <-stop:
			return nil
		default:
		}
		if err := p.round(ctx, rng, fmt.Sprintf("l%d-r%d", lane, round)); err != nil {
			return err
		}
	}
}

// thinkMax bounds the pause before the closing operation (half of it,
// before each modify): beyond the shortest timeout (1 s), so that some
// come after the deadline and are refused (8010).
const thinkMax = 1200 * time.Millisecond

// round is one invitation: invited with a timeout of 1 to 3 s, modified
// 0 to 2 times by either side, then accepted, rejected, cancelled, or left
// to time out.
func (p *pair) round(ctx context.Context, rng *rand.Rand, round string) error {
	rid := func(op string, k int) string { return fmt.Sprintf("%s-%s%d", round, op, k) }
	inv := &Invitation{Inviter: p.caller.User, Invitee: p.callee.User, Data: fmt.Sprintf("p%d-%s-invite", p.n, round),
		Timeout: 1 + rng.IntN(3), Sent: time.Now()}
	args := wire.InviteArgs{Invitee: inv.Invitee, Data: inv.Data, Timeout: inv.Timeout}
	r, err := p.do(ctx, p.caller, "invite", rid("invite", 0), args)
	if err != nil {
		return err
	}
	var res wire.InviteResult
	if r.Code != 0 || json.Unmarshal(r.Result, &res) != nil || res.InviteID == "" {
		return fmt.Errorf("crash: %s: invite %s: code %d %s, result %s: want success and an invite ID", inv.Inviter, rid("invite", 0), r.Code, r.Message, r.Result)
	}
	inv.ID, inv.Answered = res.InviteID, time.Now()
	p.ledger.add(inv)

	plan := rng.IntN(10) // 0-2 accept, 3 reject, 4-5 cancel, 6-9 time out
	for k := range rng.IntN(3) {
		sleep(ctx, upTo(rng, thinkMax/2))
		by := p.caller
		if rng.IntN(2) == 0 {
			by = p.callee
		}
		data := fmt.Sprintf("p%d-%s-modify%d", p.n, round, k)
		ok, err := p.respond(ctx, by, "modify", rid("modify", k), inv, data)
		if err != nil || !ok {
			return err
		}
		inv.Modifies = append(inv.Modifies, data)
	}
	if plan >= 6 {
		return nil
	}
	sleep(ctx, upTo(rng, thinkMax))
	op, by := "cancel", p.caller
	switch {
	case plan <= 2:
		op, by = "accept", p.callee
	case plan == 3:
		op, by = "reject", p.callee
	}
	data := fmt.Sprintf("p%d-%s-%s", p.n, round, op)
	ok, err := p.respond(ctx, by, op, rid(op, 0), inv, data)
	if ok {
		inv.Closer, inv.CloserData = op, data
	}
	return err
}

// respond calls op on inv and reports whether it succeeded; 8010 (the
// invitation timed out) is the only other answer the rules allow.
func (p *pair) respond(ctx context.Context, by *device, op, requestID string, inv *Invitation, data string) (bool, error) {
	r, err := p.do(ctx, by, op, requestID, wire.RespondArgs{InviteID: inv.ID, Data: data})
	switch {
	case err != nil:
		return false, err
	case r.Code == 0:
		return true, nil
	case r.Code == codeClosed:
		return false, nil
	}
	return false, fmt.Errorf("crash: %s: %s %s of %s: code %d %s: want 0, or 8010 once it timed out", by.User, op, requestID, inv.ID, r.Code, r.Message)
}

// do sends a request until it is answered, and logs the answer.
func (p *pair) do(ctx context.Context, by *device, op, requestID string, args any) (scale.Reply, error) {
	r, sends, err := by.call(ctx, op, requestID, args)
	if err == nil {
		p.ledger.answered(by.User, op, requestID, sends, r.Code, r.Result)
	}
	return r, err
}
