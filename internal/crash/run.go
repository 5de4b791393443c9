package crash

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config is one crash run.
type Config struct {
	Bin   string // the beckon binary; "" builds it (Build) into Dir
	Dir   string // the run's directory: the server's data, the binary
	Logs  string // where the server's and the devices' logs are written
	Kills int    // SIGKILLs of the server (default 20)
	Pairs int    // caller/callee pairs (default 6)
	Lanes int    // rounds each pair plays at once (default 6)
	Seed  uint64 // of the killer's and the load's random choices
	// Progress, if not nil, gets a line per kill.
	Progress io.Writer
}

// Patience bounds: a server's start (recovery included), the devices'
// delivery of what they are owed once the load stopped.
const (
	startPatience   = 30 * time.Second
	settlePatience  = 20 * time.Second
	problemsPerPart = 10 // problems reported per device, history or records
)

// Report is what a run did and checked.
type Report struct {
	Kills        int
	Early        int // kills before the server served (during its start and recovery)
	Incarnations int
	Starts       []time.Duration // of each server process that served: from its start to serving
	Invitations  int
	Closed       map[string]int // invitations by how they closed: accept, reject, cancel, timeout
	// DownTimeouts are invitations whose deadline passed while the server
	// was down, for sure (the whole window where it can be): fired at
	// recovery (TMO-4).
	DownTimeouts int
	Operations   int // answered
	Sends        int // requests sent for them, retries included
	Events       int // events the devices were owed and checked
	Dups         uint64
	Sessions     int // Session notices (connections that started or resumed a session)
	History      int // history messages checked
	Records      int // call records checked
	Warnings     []string
	Problems     []string // the oracle's findings: the run failed if any
	Wall         time.Duration
}

// String is the report in a few lines.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d kills (%d before serving), %d server processes, %v", r.Kills, r.Early, r.Incarnations, r.Wall.Round(100*time.Millisecond))
	if len(r.Starts) > 0 {
		st := slices.Sorted(slices.Values(r.Starts))
		fmt.Fprintf(&b, "; start to serving: min %v, median %v, max %v", st[0].Round(time.Millisecond),
			st[len(st)/2].Round(time.Millisecond), st[len(st)-1].Round(time.Millisecond))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "%d invitations: %d accepted, %d rejected, %d cancelled, %d timed out (%d while the server was down: TMO-4)\n",
		r.Invitations, r.Closed["accept"], r.Closed["reject"], r.Closed["cancel"], r.Closed["timeout"], r.DownTimeouts)
	fmt.Fprintf(&b, "%d operations answered, %d requests sent; %d Session notices, %d events checked, %d re-deliveries dropped by seq\n",
		r.Operations, r.Sends, r.Sessions, r.Events, r.Dups)
	fmt.Fprintf(&b, "%d history messages, %d call records checked; %d server warnings, %d problems", r.History, r.Records, len(r.Warnings), len(r.Problems))
	return b.String()
}

// Run runs the crash test: it starts the server, connects two devices per
// pair, plays the load while killing and restarting the server
// cfg.Kills times, then stops the load, lets every deadline pass, and
// checks (oracle.go). An error is a run that could not be carried out;
// the oracle's findings are in Report.Problems.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	begin := time.Now()
	if cfg.Kills <= 0 {
		cfg.Kills = 20
	}
	if cfg.Pairs <= 0 {
		cfg.Pairs = 6
	}
	if cfg.Lanes <= 0 {
		cfg.Lanes = 6
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	if cfg.Bin == "" {
		var err error
		if cfg.Bin, err = Build(ctx, cfg.Dir); err != nil {
			return nil, err
		}
	}
	srv, err := NewServer(cfg.Bin, cfg.Dir, cfg.Logs)
	if err != nil {
		return nil, err
	}
	rep := &Report{Closed: make(map[string]int)}
	defer func() {
		srv.Kill() // a run cut short
		srv.Close()
		rep.Incarnations, rep.Starts, rep.Warnings = srv.Incarnations(), srv.Starts(), srv.Warnings()
		rep.Wall = time.Since(begin)
	}()
	if err := srv.Start(); err != nil {
		return rep, err
	}
	if _, err := srv.WaitServing(ctx, startPatience); err != nil {
		return rep, err
	}

	// Devices, each kept connected; every session exists (and is durable)
	// before the load and the kills begin.
	devCtx, stopDevices := context.WithCancel(ctx)
	var keepers sync.WaitGroup
	defer keepers.Wait()
	defer stopDevices()
	var devs []*device
	var pairs []*pair
	oplog, err := os.Create(filepath.Join(cfg.Logs, "operations.log")) // and the kills
	if err != nil {
		return rep, err
	}
	defer oplog.Close()
	led := &ledger{log: oplog}
	for i := range cfg.Pairs {
		p := &pair{n: i, seed: cfg.Seed + uint64(i) + 1, ledger: led}
		for j, user := range []string{fmt.Sprintf("caller%d", i), fmt.Sprintf("callee%d", i)} {
			tok, err := srv.Token(user)
			if err != nil {
				return rep, err
			}
			dv := newDevice(srv.MQTT, user, tok, led.note)
			devs = append(devs, dv)
			if j == 0 {
				p.caller = dv
			} else {
				p.callee = dv
			}
		}
		pairs = append(pairs, p)
	}
	// Best effort, for diagnosis: the run's outcome does not depend on it.
	defer func() { _ = writeDeviceLogs(cfg.Logs, devs) }()
	for _, dv := range devs {
		keepers.Go(func() { dv.keep(devCtx) })
	}
	for _, dv := range devs {
		sctx, cancel := context.WithTimeout(ctx, startPatience)
		err := dv.started(sctx)
		cancel()
		if err != nil {
			return rep, err
		}
	}

	// The load, while the killer kills.
	stopLoad := make(chan struct{})
	loadErrs := make(chan error, len(pairs)*cfg.Lanes)
	var players sync.WaitGroup
	for _, p := range pairs {
		for lane := range cfg.Lanes {
			players.Go(func() { loadErrs <- p.play(ctx, lane, stopLoad) })
		}
	}
	players.Go(func() { drop(ctx, devs, rand.New(rand.NewPCG(cfg.Seed, 0)), stopLoad) })
	windows, killErr := kill(ctx, srv, cfg, rng, rep, led)
	close(stopLoad)
	players.Wait()
	close(loadErrs)
	var errs []error
	for err := range loadErrs {
		errs = append(errs, err)
	}
	if err := errors.Join(append(errs, killErr)...); err != nil {
		return rep, err
	}

	// Every deadline passes, every device gets what it is owed.
	invs := led.all()
	last := time.Now()
	for _, inv := range invs {
		if d := inv.Deadline(); d.After(last) {
			last = d
		}
	}
	sleep(ctx, time.Until(last)+500*time.Millisecond)
	want := owed(invs)
	waitSettled(ctx, devs, want, settlePatience)

	// The oracle.
	rep.Invitations, rep.Operations, rep.Sends = len(invs), led.ops, led.sends
	for _, inv := range invs {
		name := inv.Closer
		if name == "" {
			name = "timeout"
			if windows.holds(inv.Sent.Add(time.Duration(inv.Timeout)*time.Second), inv.Deadline()) {
				rep.DownTimeouts++
			}
		}
		rep.Closed[name]++
	}
	for _, dv := range devs {
		rep.Problems = append(rep.Problems, checkEvents(dv, want[dv.User], problemsPerPart)...)
		for _, types := range want[dv.User] {
			rep.Events += len(types)
		}
		rep.Dups += dv.Stats().Dups.Load()
		n, _ := dv.counts()
		rep.Sessions += n
		if u := dv.unanswered.Load(); u > 0 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %d requests got no reply on a connection that stayed up (REM-3)", dv.User, u))
		}
	}
	for _, p := range pairs {
		n, probs, err := checkHistory(ctx, p.caller, p.callee.User, invs, problemsPerPart)
		if err != nil {
			return rep, err
		}
		rep.History += n
		rep.Problems = append(rep.Problems, probs...)
	}
	for _, dv := range devs {
		n, probs, err := checkRecords(ctx, dv, invs, problemsPerPart)
		if err != nil {
			return rep, err
		}
		rep.Records += n
		rep.Problems = append(rep.Problems, probs...)
		open, err := checkOpen(ctx, dv)
		if err != nil {
			return rep, err
		}
		rep.Problems = append(rep.Problems, open...)
	}

	// The devices leave cleanly, the last server stops cleanly.
	stopDevices()
	keepers.Wait()
	for _, dv := range devs {
		dv.Close()
	}
	if err := srv.Stop(); err != nil {
		rep.Problems = append(rep.Problems, err.Error())
	}
	if err := srv.Failures(); err != nil {
		rep.Problems = append(rep.Problems, err.Error())
	}
	return rep, nil
}

// earlyKill bounds the kills that aim at a server's start: it takes 10 to
// 150 ms to serve (Report.Starts), replaying its log, firing the timeouts
// due (TMO-4) and storing that.
const earlyKill = 50 * time.Millisecond

// downWindows are the spans the server did not serve: from a kill of a
// server that served to the next start of serving.
type downWindows [][2]time.Time

// holds reports whether [from, to] lies within one window.
func (w downWindows) holds(from, to time.Time) bool {
	for _, x := range w {
		if !from.Before(x[0]) && !to.After(x[1]) {
			return true
		}
	}
	return false
}

// kill kills the server cfg.Kills times at random moments, each time
// starting it again after a random pause, and waits for the last to serve.
// Most kills come 0.3 to 1.5 s after the server began serving; one in four
// comes within earlyKill of its start, often while it recovers. Every third
// pause lasts 1.5 s, longer than the shortest timeouts, so that deadlines
// pass while it is down (TMO-4).
func kill(ctx context.Context, srv *Server, cfg Config, rng *rand.Rand, rep *Report, led *ledger) (downWindows, error) {
	var windows downWindows
	var down time.Time // the kill that began the current window; zero while serving
	served := func(at time.Time) {
		if !down.IsZero() {
			windows = append(windows, [2]time.Time{down, at})
			down = time.Time{}
		}
	}
	for i := range cfg.Kills {
		if rng.IntN(4) == 0 && i > 0 {
			sleep(ctx, upTo(rng, earlyKill))
			if at, err := srv.Served(); err == nil {
				served(at)
			} else {
				rep.Early++
			}
		} else {
			at, err := srv.WaitServing(ctx, startPatience)
			if err != nil {
				return windows, err
			}
			served(at)
			sleep(ctx, 300*time.Millisecond+upTo(rng, 1200*time.Millisecond))
		}
		if err := srv.Failures(); err != nil {
			return windows, err
		}
		srv.Kill()
		if down.IsZero() {
			down = time.Now()
		}
		rep.Kills++
		pause := upTo(rng, 300*time.Millisecond)
		if i%3 == 2 {
			pause = 1500 * time.Millisecond
		}
		line := fmt.Sprintf("kill %d of %d (serve-%02d), down for %v", i+1, cfg.Kills, srv.Incarnations(), pause.Round(time.Millisecond))
		fmt.Fprintln(cfg.Progress, line)
		led.note("%s", line)
		sleep(ctx, pause)
		if err := srv.Start(); err != nil {
			return windows, err
		}
	}
	at, err := srv.WaitServing(ctx, startPatience)
	if err == nil {
		served(at)
	}
	return windows, err
}

// dropEvery is the mean pause between two devices' losses of their
// connection; dropAway bounds how long a device stays away then.
const (
	dropEvery = 300 * time.Millisecond
	dropAway  = 500 * time.Millisecond
)

// drop has a random device lose its connection now and then, and stay
// away a moment (its session waits, away, REM-4), until stop is closed:
// kills then find sessions already away.
func drop(ctx context.Context, devs []*device, rng *rand.Rand, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-time.After(upTo(rng, 2*dropEvery)):
		}
		devs[rng.IntN(len(devs))].away.Store(int64(upTo(rng, dropAway)))
	}
}

// writeDeviceLogs writes each device's handled events to
// events-<user>.log: seq, type, invite ID.
func writeDeviceLogs(dir string, devs []*device) error {
	for _, dv := range devs {
		var b strings.Builder
		notices, fresh := dv.counts()
		st := dv.Stats()
		fmt.Fprintf(&b, "# %d connections, %d lost; %d Session notices (%d resumed=false), %d events, %d dropped by seq, %d gaps\n",
			dv.connects.Load(), st.Lost.Load(), notices, fresh, st.Events.Load(), st.Dups.Load(), st.Gaps.Load())
		for _, e := range dv.handled() {
			fmt.Fprintf(&b, "%d %s %s\n", e.Seq, e.Type, e.InviteID)
		}
		if err := os.WriteFile(filepath.Join(dir, "events-"+dv.User+".log"), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
