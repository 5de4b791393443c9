package scale

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRun runs every phase against a real `beckon serve` at a small scale.
// The storm's verdict is checked only against a server that resumes
// sessions (it says so with its Session message).
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs beckon serve")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress strings.Builder
	rep, err := Run(ctx, Config{Devices: 50, Rings: 50, Concurrency: 16, Storm: true,
		StormLead: 300 * time.Millisecond, StormTail: 300 * time.Millisecond, Progress: &progress})
	var out strings.Builder
	rep.Write(&out)
	t.Logf("%s\n%s", progress.String(), out.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Few.N != 50 || rep.Many.N != 50 || rep.Few.P99 <= 0 || rep.Many.P99 <= 0 {
		t.Errorf("rings: %v and %v, want 50 timed each", rep.Few, rep.Many)
	}
	if rep.Before.RSS <= 0 || rep.After.RSS <= 0 || rep.Load.RSS <= 0 {
		t.Errorf("memory: server %+v then %+v, load %+v: want resident sets read", rep.Before, rep.After, rep.Load)
	}
	if rep.Lost != 0 {
		t.Errorf("%d connections lost outside the storm's drop", rep.Lost)
	}
	s := rep.Storm
	if s.Invitations == 0 || s.Resubscribed <= 0 {
		t.Errorf("storm: %d invitations, resubscribed after %v: want some and a time", s.Invitations, s.Resubscribed)
	}
	if !s.Resumes {
		t.Log("the server does not resume sessions yet (no Session message): the storm's losses are not checked")
		return
	}
	if !s.OK() {
		t.Errorf("storm lost, duplicated or reordered events, or a session was not resumed: %+v", s)
	}
}

func TestDiff(t *testing.T) {
	for _, c := range []struct {
		want, got      []string
		missing, extra int
	}{
		{nil, nil, 0, 0},
		{[]string{"a", "b"}, []string{"b", "a"}, 0, 0},
		{[]string{"a", "b", "c"}, []string{"a", "c"}, 1, 0},
		{[]string{"a"}, []string{"a", "a", "d"}, 0, 2},
	} {
		if m, e := diff(c.want, c.got); m != c.missing || e != c.extra {
			t.Errorf("diff(%q, %q) = %d missing, %d extra; want %d, %d", c.want, c.got, m, e, c.missing, c.extra)
		}
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Microsecond)
	}
	l := summarize(ds)
	if l.N != 100 || l.P50 != 51*time.Microsecond || l.P99 != 100*time.Microsecond || l.Max != 100*time.Microsecond {
		t.Errorf("summarize(1..100 us) = %+v", l)
	}
}
