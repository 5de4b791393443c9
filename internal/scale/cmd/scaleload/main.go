// Command scaleload measures beckon with many connected devices (issue #14
// item 5): it starts `beckon serve -store memory` as a child process on
// loopback, connects -devices idle devices (authenticated, subscribed,
// persistent sessions) with raw MQTT 3.1.1 clients, reports the server's
// memory per device, the time to connect them all and the ring latency of
// two active devices with 2 and with all idle devices connected, then
// drops every idle device at once and checks that all resume without
// losing an event. Each phase is bounded; it stops by itself, and exits 1
// if a target is missed or an event lost.
//
// Usage (from the repository's root):
//
//	go run ./internal/scale/cmd/scaleload [-devices 10000] [-rings 2000] [-storm=true] [flags]
//
// Ten thousand devices need ten thousand descriptors in each process: the
// shell's `ulimit -n` must allow it (Go raises the soft limit to the hard).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/beckonhq/beckon/internal/scale"
)

func main() {
	var c scale.Config
	flag.IntVar(&c.Devices, "devices", scale.DefaultDevices, "idle devices to connect (at least 2)")
	flag.IntVar(&c.Rings, "rings", scale.DefaultRings, "timed rings per latency measurement")
	flag.IntVar(&c.Concurrency, "concurrency", scale.DefaultConcurrency, "connections being set up at once")
	flag.DurationVar(&c.KeepAlive, "keepalive", scale.DefaultKeepAlive, "keep-alive of every device (each pings at half of it)")
	flag.BoolVar(&c.Storm, "storm", true, "run the reconnect storm (needs a server that resumes sessions, REM-5)")
	flag.IntVar(&c.Senders, "senders", scale.DefaultSenders, "devices inviting the idle ones during the storm")
	flag.DurationVar(&c.StormLead, "storm-lead", scale.DefaultStormLead, "invitations before the drop")
	flag.DurationVar(&c.StormTail, "storm-tail", scale.DefaultStormTail, "invitations after the last device resumed")
	flag.StringVar(&c.ServerBin, "server", "", "a beckon binary to run; empty: go build of cmd/beckon")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "scaleload takes flags only; -h lists them")
		os.Exit(2)
	}
	c.Progress = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := scale.Run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaleload:", err)
		for _, l := range rep.ServerLines {
			fmt.Fprintln(os.Stderr, "server:", l)
		}
		os.Exit(1)
	}
	rep.Write(os.Stdout)
	if !rep.OK() {
		os.Exit(1)
	}
}
