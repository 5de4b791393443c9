package scale

import (
	"fmt"
	"io"
	"time"
)

// OK reports whether every target was met and nothing was lost.
func (r *Report) OK() bool {
	return r.Connect <= TargetConnect && r.After.RSS <= TargetRSS && r.ratio() <= TargetRingRatio && r.Lost == 0 &&
		(r.Storm == nil || (r.Storm.OK() && r.Storm.Resumed <= TargetStorm))
}

// ratio is ring p99 with every device over ring p99 with 2 idle ones.
func (r *Report) ratio() float64 {
	if r.Few.P99 == 0 {
		return 0
	}
	return float64(r.Many.P99) / float64(r.Few.P99)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// Write prints the report, a line per measure with its target's verdict.
func (r *Report) Write(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "devices: %d idle + 2 ringers, connected %d at once, keep-alive %v\n", c.Devices, c.Concurrency, c.KeepAlive)
	fmt.Fprintf(w, "connect: %d idle devices connected and subscribed in %s (target <= %s: %s)\n",
		c.Devices-fewIdle, secs(r.Connect), secs(TargetConnect), verdict(r.Connect <= TargetConnect))
	fmt.Fprintf(w, "server memory: VmRSS %s with 2 idle devices, %s with %d (VmHWM %s); %d bytes per device (target RSS <= %s: %s)\n",
		mib(r.Before.RSS), mib(r.After.RSS), c.Devices, mib(r.After.Peak), r.PerDevice, mib(TargetRSS), verdict(r.After.RSS <= TargetRSS))
	fmt.Fprintf(w, "load process memory: VmRSS %s (VmHWM %s)\n", mib(r.Load.RSS), mib(r.Load.Peak))
	fmt.Fprintf(w, "ring, %d idle devices: %v\n", fewIdle, r.Few)
	fmt.Fprintf(w, "ring, %d idle devices: %v\n", c.Devices, r.Many)
	fmt.Fprintf(w, "ring p99 ratio: %.2f (target <= %.1f: %s)\n", r.ratio(), TargetRingRatio, verdict(r.ratio() <= TargetRingRatio))
	fmt.Fprintf(w, "connections lost (not dropped by the program): %d\n", r.Lost)
	if s := r.Storm; s != nil {
		if !s.Resumes {
			fmt.Fprintln(w, "storm: the server sent no Session message: it does not resume sessions (REM-5), so what follows is what a device without resume loses")
		}
		resumed, delivered := "never", "never (events missing)"
		if s.Resumes {
			resumed = secs(s.Resumed)
		}
		if s.Delivered > 0 {
			delivered = secs(s.Delivered)
		}
		fmt.Fprintf(w, "storm: all resubscribed %s after the drop, all resumed %s (target <= %s: %s), every event delivered %s (senders stop %v after the last resumed)\n",
			secs(s.Resubscribed), resumed, secs(TargetStorm), verdict(s.Resumes && s.Resumed <= TargetStorm), delivered, c.StormTail)
		fmt.Fprintf(w, "storm: %d invitations (invite then cancel) by %d senders, %d events to idle devices: %d missing, %d extra, %d devices out of order, %d seq gaps, %d fresh sessions, %d re-deliveries dropped by seq (%s)\n",
			s.Invitations, c.Senders, s.Events, s.Missing, s.Extra, s.Disordered, s.Gaps, s.Fresh, s.Dups, verdict(s.OK()))
		for _, e := range s.SenderErrors {
			fmt.Fprintln(w, "storm: sender:", e)
		}
		for _, e := range s.Examples {
			fmt.Fprintln(w, "storm: e.g.", e)
		}
	}
	fmt.Fprintf(w, "server log: %d WARN, %d ERROR lines\n", r.ServerWarnings, r.ServerErrors)
	for _, l := range r.ServerLines {
		fmt.Fprintln(w, "  ", l)
	}
}
