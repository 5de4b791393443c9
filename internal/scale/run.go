package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// The targets (#14 item 5), and the defaults of Config.
const (
	DefaultDevices  = 10_000
	TargetConnect   = 30 * time.Second // all devices connected and subscribed
	TargetRSS       = 1 << 30          // the server's resident set with every device connected
	TargetRingRatio = 2.0              // ring p99 with Devices idle over ring p99 with 2
	TargetStorm     = 60 * time.Second // the storm: every device resumed
)

// Defaults of the rest of Config.
const (
	DefaultRings       = 2000
	DefaultConcurrency = 100
	DefaultKeepAlive   = 30 * time.Second
	DefaultSenders     = 4
	DefaultStormLead   = time.Second
	DefaultStormTail   = time.Second
)

// fewIdle is how many idle devices the baseline ring latency has.
const fewIdle = 2

// settle is the pause between connecting the idle devices and timing
// rings, so that the rings meet idle devices, not the end of the connect
// burst (the server's last Connects, its garbage collection).
const settle = 2 * time.Second

// Config is one run; a zero field takes its default.
type Config struct {
	Devices     int           // idle devices connected, at least 2
	Rings       int           // timed rings per measurement, after Rings/4 untimed ones
	Concurrency int           // connections being set up at once
	KeepAlive   time.Duration // every device's, which pings at half of it
	Storm       bool          // run the reconnect storm
	Senders     int           // devices inviting the idle ones during the storm
	StormLead   time.Duration // invitations before the drop
	StormTail   time.Duration // invitations after the last device resumed
	ServerBin   string        // a beckon binary; "": go build of cmd/beckon
	Progress    io.Writer     // a line as each phase starts; nil: none
}

func (c *Config) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Devices, DefaultDevices)
	c.Devices = max(c.Devices, fewIdle)
	def(&c.Rings, DefaultRings)
	def(&c.Concurrency, DefaultConcurrency)
	def(&c.Senders, DefaultSenders)
	for _, d := range []struct {
		v *time.Duration
		d time.Duration
	}{
		{&c.KeepAlive, DefaultKeepAlive}, {&c.StormLead, DefaultStormLead}, {&c.StormTail, DefaultStormTail},
	} {
		if *d.v <= 0 {
			*d.v = d.d
		}
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// Report is what a run measured.
type Report struct {
	Config         Config
	Connect        time.Duration // Devices-2 idle devices connected and subscribed
	Before, After  Memory        // the server's, with 2 idle devices and the ringers; with all
	PerDevice      int64         // (After.RSS - Before.RSS) / (Devices-2), bytes
	Load           Memory        // this process's, with all devices
	Few, Many      Latency       // rings with 2 idle devices, with Devices
	Storm          *StormReport  // nil without Config.Storm
	Lost           uint64        // connections that ended without the device dropping or closing them
	ServerWarnings int           // the server's log lines at WARN
	ServerErrors   int           // ... at ERROR
	ServerLines    []string      // the first few of them
}

// Run starts a server, connects 2 ringers and 2 idle devices and measures
// ring latency, connects the other idle devices and measures the server's
// memory and ring latency again, then (with Config.Storm) runs the
// reconnect storm. Every phase is bounded; the server is stopped before
// Run returns. The report is never nil: after an error it holds what was
// measured and the server's warnings.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	cfg.defaults()
	rep = &Report{Config: cfg}
	say := func(format string, args ...any) {
		fmt.Fprintf(cfg.Progress, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	say("starting the server")
	srv, err := StartServer(ctx, cfg.ServerBin)
	if err != nil {
		return rep, err
	}
	defer func() {
		var stopErr error
		rep.ServerWarnings, rep.ServerErrors, rep.ServerLines, stopErr = srv.Stop()
		err = errors.Join(err, stopErr)
	}()
	ctx, stopPing := context.WithCancel(ctx)
	defer stopPing()
	var f fleet
	defer func() { closeAll(f.all()) }()
	go f.ping(ctx, cfg.KeepAlive)

	opts := func(user string) (DeviceOptions, error) {
		tok, err := srv.Token(user)
		return DeviceOptions{Addr: srv.Addr, User: user, ID: "d", Token: tok}, err
	}
	var ringers [2]*ringer
	for i, user := range []string{"ring-a", "ring-b"} {
		o, err := opts(user)
		if err != nil {
			return rep, err
		}
		ringers[i] = newRinger(o)
		f.add(ringers[i].Device)
	}
	idle := make([]*Device, cfg.Devices)
	boxes := make([]*inbox, cfg.Devices)
	for i := range idle {
		o, err := opts("idle-" + strconv.Itoa(i))
		if err != nil {
			return rep, err
		}
		boxes[i] = &inbox{}
		o.OnEvent = boxes[i].onEvent
		idle[i] = NewDevice(o)
	}

	say("server at %s: connecting 2 ringers and %d idle devices", srv.Addr, fewIdle)
	few := append([]*Device{ringers[0].Device, ringers[1].Device}, idle[:fewIdle]...)
	f.add(idle[:fewIdle]...)
	if _, err := connectAll(ctx, few, cfg.Concurrency, cfg.KeepAlive, TargetConnect); err != nil {
		return rep, err
	}
	warmup := max(cfg.Rings/4, 1)
	say("ringing %d times with %d idle devices", cfg.Rings, fewIdle)
	if rep.Few, err = ring(ctx, ringers[0], ringers[1], warmup, cfg.Rings); err != nil {
		return rep, err
	}
	if rep.Before, err = srv.Memory(); err != nil {
		return rep, err
	}
	say("connecting %d more idle devices, %d at once", cfg.Devices-fewIdle, cfg.Concurrency)
	f.add(idle[fewIdle:]...)
	if rep.Connect, err = connectAll(ctx, idle[fewIdle:], cfg.Concurrency, cfg.KeepAlive, 2*TargetConnect); err != nil {
		return rep, err
	}
	if rep.After, err = srv.Memory(); err != nil {
		return rep, err
	}
	rep.PerDevice = (rep.After.RSS - rep.Before.RSS) / int64(cfg.Devices-fewIdle)
	if rep.Load, err = readMemory("self"); err != nil {
		return rep, err
	}
	sleep(ctx, settle)
	say("ringing %d times with %d idle devices", cfg.Rings, cfg.Devices)
	if rep.Many, err = ring(ctx, ringers[0], ringers[1], warmup, cfg.Rings); err != nil {
		return rep, err
	}
	rep.Lost = f.lost()
	if !cfg.Storm {
		return rep, nil
	}
	senders := make([]*Device, cfg.Senders)
	for k := range senders {
		o, err := opts("sender-" + strconv.Itoa(k))
		if err != nil {
			return rep, err
		}
		senders[k] = NewDevice(o)
	}
	f.add(senders...)
	if _, err := connectAll(ctx, senders, cfg.Concurrency, cfg.KeepAlive, TargetConnect); err != nil {
		return rep, err
	}
	say("storm: %d senders inviting; all %d idle devices drop after %v and resume", cfg.Senders, cfg.Devices, cfg.StormLead)
	if rep.Storm, err = storm(ctx, cfg, idle, boxes, senders, 2*TargetStorm); err != nil {
		return rep, err
	}
	rep.Lost = f.lost()
	return rep, nil
}
