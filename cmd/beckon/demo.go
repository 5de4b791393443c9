package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/beckonhq/beckon"
)

// stepWait bounds how long the demo waits for the callbacks of one step.
const stepWait = 5 * time.Second

// thinkTime is the pause of the demo's users before each call they make.
const thinkTime = 150 * time.Millisecond

// demo plays the calls of the demo command in real time, printing to w;
// its users pause for think before each call.
func demo(w io.Writer, store beckon.Store, storeName string, think time.Duration) error {
	p := &printer{w: w, start: time.Now(), heard: make(chan struct{}, 1)}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rt, err := beckon.New(beckon.WithStore(store), beckon.WithLogger(logger),
		beckon.WithInviteIDs(beckon.SequentialInviteIDs("call-")))
	if err != nil {
		return err
	}
	defer rt.Close()
	if storeName == "" {
		storeName = "in memory"
	}
	ctx := context.Background()
	fmt.Fprintf(w, "beckon demo: one runtime, store %s, every device in this process.\n", storeName)
	fmt.Fprintf(w, "Lines: time since start, device, then >> a call it makes or << a callback it gets.\n")

	d := &demoRun{p: p, rt: rt, ctx: ctx, think: think, devices: map[string]*beckon.Client{}}
	for _, dev := range []string{"alice/phone", "alice/laptop", "bob/phone", "carol/phone", "dave/phone"} {
		if err := d.login(dev); err != nil {
			return err
		}
	}
	if err := rt.SetGroup(ctx, "team", []string{"alice", "bob", "carol", "dave"}); err != nil {
		return err
	}
	p.printf("users: alice (phone, laptop), bob, carol, dave; group team: all four\n")
	for _, step := range []func() error{d.accepted, d.cancelled, d.group, d.modified, d.devices3} {
		if err := step(); err != nil {
			return err
		}
	}
	p.printf("\ndone in %.1fs\n", time.Since(p.start).Seconds())
	return nil
}

// demoRun is the state of one demo: the devices and what they heard.
type demoRun struct {
	p       *printer
	rt      *beckon.Runtime
	ctx     context.Context
	think   time.Duration
	devices map[string]*beckon.Client // by "user/session"
}

func (d *demoRun) login(device string) error {
	user, session, _ := strings.Cut(device, "/")
	c, err := d.rt.Login(d.ctx, user, session, beckon.EventFunc(func(ev beckon.Event) { d.p.callback(device, ev) }))
	if err != nil {
		return fmt.Errorf("login %s: %w", device, err)
	}
	d.devices[device] = c
	return nil
}

// do prints a call, makes it, and waits for the callbacks it causes.
func (d *demoRun) do(device, call string, callbacks int, f func(c *beckon.Client) error) error {
	time.Sleep(d.think)
	d.p.printf("%s  %-13s >> %s\n", d.p.since(), device, call)
	base := d.p.count()
	if err := f(d.devices[device]); err != nil {
		return fmt.Errorf("%s %s: %w", device, call, err)
	}
	return d.p.wait(base+callbacks, call)
}

// invite is do for an invite: it returns the new invite ID.
func (d *demoRun) invite(device, call string, callbacks int, f func(c *beckon.Client) (string, error)) (id string, err error) {
	err = d.do(device, call, callbacks, func(c *beckon.Client) error {
		id, err = f(c)
		return err
	})
	return id, err
}

func (d *demoRun) accepted() error {
	d.p.printf("\n1. A 1:1 call, accepted: both of alice's devices hear it\n")
	id, err := d.invite("alice/phone", `Invite(bob, "video call", timeout 30s)`, 1, func(c *beckon.Client) (string, error) {
		return c.Invite(d.ctx, "bob", "video call", beckon.TimeoutSeconds(30))
	})
	if err != nil {
		return err
	}
	if err := d.do("bob/phone", fmt.Sprintf(`Accept(%s, "on my way")`, id), 3, func(c *beckon.Client) error {
		return c.Accept(d.ctx, id, "on my way")
	}); err != nil {
		return err
	}
	time.Sleep(d.think)
	d.p.printf("%s  %-13s >> Accept(%s) again\n", d.p.since(), "bob/phone", id)
	err = d.devices["bob/phone"].Accept(d.ctx, id, "")
	d.p.printf("%s  %-13s    error %d: %v\n", d.p.since(), "bob/phone", beckon.Code(err), err)
	return nil
}

func (d *demoRun) cancelled() error {
	d.p.printf("\n2. A 1:1 call, cancelled by the caller\n")
	id, err := d.invite("bob/phone", `Invite(carol, "voice call")`, 1, func(c *beckon.Client) (string, error) {
		return c.Invite(d.ctx, "carol", "voice call")
	})
	if err != nil {
		return err
	}
	return d.do("bob/phone", fmt.Sprintf(`Cancel(%s, "wrong number")`, id), 2, func(c *beckon.Client) error {
		return c.Cancel(d.ctx, id, "wrong number")
	})
}

func (d *demoRun) group() error {
	d.p.printf("\n3. A group call: bob accepts, carol rejects, dave does not answer and times out\n")
	before, err := d.rt.History(beckon.GroupConversation("team"), 0, 0)
	if err != nil {
		return err
	}
	id, err := d.invite("alice/laptop", `InviteInGroup(team, [bob carol dave], "standup", timeout 1s)`, 3, func(c *beckon.Client) (string, error) {
		return c.InviteInGroup(d.ctx, "team", []string{"bob", "carol", "dave"}, "standup", beckon.TimeoutSeconds(1))
	})
	if err != nil {
		return err
	}
	if err := d.do("bob/phone", fmt.Sprintf(`Accept(%s, "joining")`, id), 5, func(c *beckon.Client) error {
		return c.Accept(d.ctx, id, "joining")
	}); err != nil {
		return err
	}
	if err := d.do("carol/phone", fmt.Sprintf(`Reject(%s, "in a meeting")`, id), 5, func(c *beckon.Client) error {
		return c.Reject(d.ctx, id, "in a meeting")
	}); err != nil {
		return err
	}
	d.p.printf("%s  (dave does not answer; the 1 s timeout runs out)\n", d.p.since())
	if err := d.p.wait(d.p.count()+3, "the timeout"); err != nil {
		return err
	}
	msgs, err := d.rt.History(beckon.GroupConversation("team"), uint64(len(before)), 0)
	if err != nil {
		return err
	}
	var parts []string
	for _, m := range msgs {
		info, err := beckon.GetSignalingInfo(m.Payload)
		if err != nil {
			return err
		}
		parts = append(parts, fmt.Sprintf("%s by %s", actionNames[info.ActionType], m.Sender))
	}
	d.p.printf("%s  history of team: %s\n", d.p.since(), strings.Join(parts, ", "))
	return nil
}

var actionNames = map[beckon.Action]string{
	beckon.ActionInvite: "invite", beckon.ActionCancel: "cancel", beckon.ActionAccept: "accept",
	beckon.ActionReject: "reject", beckon.ActionTimeout: "timeout", beckon.ActionModify: "modify",
}

func (d *demoRun) modified() error {
	d.p.printf("\n4. A modify: carol changes the data of her invitation, then dave accepts\n")
	id, err := d.invite("carol/phone", `Invite(dave, "screen share")`, 1, func(c *beckon.Client) (string, error) {
		return c.Invite(d.ctx, "dave", "screen share")
	})
	if err != nil {
		return err
	}
	if err := d.do("carol/phone", fmt.Sprintf(`Modify(%s, "screen share at 3pm")`, id), 2, func(c *beckon.Client) error {
		return c.Modify(d.ctx, id, "screen share at 3pm")
	}); err != nil {
		return err
	}
	return d.do("dave/phone", fmt.Sprintf(`Accept(%s, "see you")`, id), 2, func(c *beckon.Client) error {
		return c.Accept(d.ctx, id, "see you")
	})
}

func (d *demoRun) devices3() error {
	d.p.printf("\n5. Devices: alice's phone and laptop ring, a tablet logging in rings too, one rejects, all stop\n")
	id, err := d.invite("dave/phone", `Invite(alice, "quick question")`, 2, func(c *beckon.Client) (string, error) {
		return c.Invite(d.ctx, "alice", "quick question")
	})
	if err != nil {
		return err
	}
	time.Sleep(d.think)
	d.p.printf("%s  %-13s >> Login\n", d.p.since(), "alice/tablet")
	base := d.p.count()
	if err := d.login("alice/tablet"); err != nil {
		return err
	}
	if err := d.p.wait(base+1, "the tablet's login"); err != nil {
		return err
	}
	if err := d.do("alice/laptop", fmt.Sprintf(`Reject(%s, "busy")`, id), 4, func(c *beckon.Client) error {
		return c.Reject(d.ctx, id, "busy")
	}); err != nil {
		return err
	}
	time.Sleep(d.think)
	d.p.printf("%s  %-13s >> Close (log out)\n", d.p.since(), "alice/tablet")
	return d.devices["alice/tablet"].Close()
}

// printer writes the demo's lines, one at a time, and counts callbacks.
type printer struct {
	mu      sync.Mutex
	w       io.Writer
	start   time.Time
	heard   chan struct{} // receives after each callback
	counted int
}

func (p *printer) since() string { return fmt.Sprintf("%6.3fs", time.Since(p.start).Seconds()) }

func (p *printer) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}

// callback prints one callback of device.
func (p *printer) callback(device string, ev beckon.Event) {
	var args string
	switch ev.Type {
	case beckon.EventNewInvitation:
		group := ""
		if ev.GroupID != "" {
			group = " group=" + ev.GroupID
		}
		args = fmt.Sprintf("inviter=%s%s invitees=%v data=%q", ev.Inviter, group, ev.Invitees, ev.Data)
	case beckon.EventCancelled:
		args = fmt.Sprintf("inviter=%s data=%q", ev.Inviter, ev.Data)
	case beckon.EventAccepted, beckon.EventRejected:
		args = fmt.Sprintf("invitee=%s data=%q", ev.Invitee, ev.Data)
	case beckon.EventTimeout:
		args = fmt.Sprintf("invitees=%v", ev.Invitees)
	case beckon.EventModified:
		args = fmt.Sprintf("data=%q", ev.Data)
	}
	p.mu.Lock()
	fmt.Fprintf(p.w, "%s  %-13s << %-20s %s %s\n", p.since(), device, ev.Type, ev.InviteID, args)
	p.counted++
	p.mu.Unlock()
	select {
	case p.heard <- struct{}{}:
	default:
	}
}

func (p *printer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counted
}

// wait waits until n callbacks were printed in all.
func (p *printer) wait(n int, after string) error {
	deadline := time.After(stepWait)
	for p.count() < n {
		select {
		case <-p.heard:
		case <-deadline:
			return fmt.Errorf("after %s: %d callbacks so far, expected %d", after, p.count(), n)
		}
	}
	return nil
}
