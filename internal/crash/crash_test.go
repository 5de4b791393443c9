package crash

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Environment variables of TestCrash.
const (
	envKills = "BECKON_CRASH_KILLS" // kills of the server (default 20, 5 with -short)
	envSeed  = "BECKON_CRASH_SEED"  // the random choices' seed (default: the clock)
)

// maxWarnings bounds the server warnings logged (devices that drop their
// connection make a few, harmless).
const maxWarnings = 5

// lastFailed is where the logs of the last failing run are kept, under
// os.TempDir(): each failing run replaces them.
const lastFailed = "beckon-crash-last"

// TestCrash kills `beckon serve -store bolt` with SIGKILL under load from
// devices in this process and checks that nothing acknowledged is lost,
// no timeout fires twice, and every device keeps its session and handles
// each of its events exactly once (see the package doc).
func TestCrash(t *testing.T) {
	kills := 20
	if testing.Short() {
		kills = 5
	}
	if s := os.Getenv(envKills); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a number of kills, at least 1", envKills, s)
		}
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(envSeed); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an unsigned number", envSeed, s)
		}
		seed = n
	}
	t.Logf("%d kills, seed %d (%s=%d replays the random choices; timing differs)", kills, seed, envSeed, seed)
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(kills)*15*time.Second+2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{Dir: dir, Logs: logs, Kills: kills, Seed: seed, Progress: testWriter{t}})
	if rep != nil {
		t.Logf("report:\n%s", rep)
		for i, w := range rep.Warnings {
			if i == maxWarnings {
				t.Logf("%d more server warnings: see the servers' logs", len(rep.Warnings)-i)
				break
			}
			t.Logf("server warning: %s", w)
		}
	}
	if err == nil && rep.Kills >= 3 && rep.DownTimeouts == 0 {
		// Every third kill keeps the server down longer than the shortest
		// timeout, while dozens of rounds invite: some deadline should
		// have passed in the dark.
		t.Errorf("no deadline passed while the server was down: TMO-4 was not exercised")
	}
	if err == nil && len(rep.Problems) == 0 {
		return
	}
	kept := keepLogs(t, dir)
	if err != nil {
		t.Errorf("the run failed: %v", err)
	}
	if rep != nil {
		for _, p := range rep.Problems {
			t.Errorf("%s", p)
		}
	}
	t.Errorf("logs of this run (each server process, the operations, each device's events) and the server's data: %s", kept)
}

// keepLogs copies the run's logs and data directory to
// os.TempDir()/beckon-crash-last, replacing the last ones, and returns
// its path.
func keepLogs(t *testing.T, dir string) string {
	last := filepath.Join(os.TempDir(), lastFailed)
	if err := os.RemoveAll(last); err != nil {
		t.Logf("removing the last failing run's logs: %v", err)
	}
	for _, sub := range []string{"logs", "data"} {
		if err := os.CopyFS(filepath.Join(last, sub), os.DirFS(filepath.Join(dir, sub))); err != nil {
			t.Logf("keeping %s: %v", sub, err)
		}
	}
	return last
}

// testWriter logs each line written to it.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
