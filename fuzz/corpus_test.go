package fuzz

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestWriteSeedCorpus writes a few of the in-code seeds to
// testdata/fuzz/<Target>/seed-* in the "go test fuzz v1" format, so that the
// committed corpus shows what each target reads. It runs only with
// BECKON_FUZZ_WRITE_SEEDS=1 (after changing the seeds or an encoding).
func TestWriteSeedCorpus(t *testing.T) {
	if os.Getenv("BECKON_FUZZ_WRITE_SEEDS") != "1" {
		t.Skip("set BECKON_FUZZ_WRITE_SEEDS=1 to rewrite the committed seeds")
	}
	c := corpusFromRuns(t)
	write := func(target, name string, b []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		content := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range c.snapshots[len(c.snapshots)-3:] {
		write("FuzzSnapshot", fmt.Sprintf("run-%d", i), b)
		write("FuzzSnapshotBody", fmt.Sprintf("run-%d", i), b[len(snapshotMagic):len(b)-4])
	}
	write("FuzzRecord", "invite-push", c.records[len(c.records)-1])
	write("FuzzRecord", "first", c.records[0])
	write("FuzzSignalingInfo", "history", c.envelopes[len(c.envelopes)-1])
}
