package bolt_test

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/port"
	"github.com/beckonhq/beckon/port/storetest"
)

// A second Open of a store that is open, in this process, waits for the
// lock timeout and then fails with ErrLocked naming the path; it never
// hangs. Once the first is closed, the store opens.
func TestLockedInProcess(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	if err := s.Append(port.Batch{Records: storetest.Records(1, 1)}); err != nil {
		t.Fatal(err)
	}
	for _, timeout := range []time.Duration{50 * time.Millisecond, 300 * time.Millisecond} {
		start := time.Now()
		_, err := bolt.Open(path, bolt.WithLockTimeout(timeout))
		took := time.Since(start)
		wantErr(t, err, bolt.ErrLocked, path)
		if !strings.Contains(err.Error(), "in use") {
			t.Fatalf("error %q does not say the store is in use", err)
		}
		// Open must wait the whole timeout, and must not hang: the upper
		// bound is a liveness check with slack for a loaded machine, not a
		// speed target.
		if took < timeout || took > timeout+10*time.Second {
			t.Fatalf("gave up after %v with a timeout of %v", took, timeout)
		}
	}
	// The default timeout is bounded too.
	start := time.Now()
	_, err := bolt.Open(path)
	wantErr(t, err, bolt.ErrLocked, path)
	if took := time.Since(start); took < bolt.DefaultLockTimeout || took > bolt.DefaultLockTimeout+10*time.Second {
		t.Fatalf("default: gave up after %v", took)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path)
	_, _, rs := mustLoad(t, s)
	storetest.SameRecords(t, rs, storetest.Records(1, 1))
	s.Close()
}

// The same across processes: a child holds the store open.
func TestLockedByOtherProcess(t *testing.T) {
	if os.Getenv("BECKON_BOLT_HOLD") != "" {
		t.Skip("helper")
	}
	path := dbPath(t)
	mustOpen(t, path).Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldLockChild$", "-test.v")
	cmd.Env = append(os.Environ(), "BECKON_BOLT_HOLD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.Contains(sc.Text(), "holding") {
	}
	start := time.Now()
	_, err = bolt.Open(path, bolt.WithLockTimeout(200*time.Millisecond))
	wantErr(t, err, bolt.ErrLocked, path)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("gave up after %v", took)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	s := mustOpen(t, path) // the lock dies with its process
	s.Close()
}

// TestHoldLockChild is the child of TestLockedByOtherProcess.
func TestHoldLockChild(t *testing.T) {
	path := os.Getenv("BECKON_BOLT_HOLD")
	if path == "" {
		t.Skip("helper of TestLockedByOtherProcess")
	}
	s := mustOpen(t, path)
	defer s.Close()
	os.Stdout.WriteString("holding\n")
	time.Sleep(30 * time.Second)
}
