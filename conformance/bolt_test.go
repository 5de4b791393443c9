package conformance

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/bolt"
	"pgregory.net/rapid"
)

// boltStack runs the runtime harness (runtime_test.go) on adapters/bolt:
// each harness gets a new store file in a temporary directory, and Restart
// closes the file and opens it again (its lock released and taken, the
// whole file checked, the snapshot and log loaded from disk).
var boltStack = &rtStack{
	name: "bolt",
	open: func(t TB) (beckon.Store, func(beckon.Store) (beckon.Store, error)) {
		path := filepath.Join(tempDir(t), "beckon.db")
		s, err := bolt.Open(path)
		if err != nil {
			t.Fatalf("bolt runtime harness: Open: %v", err)
		}
		return s, func(old beckon.Store) (beckon.Store, error) {
			if err := old.Close(); err != nil {
				return nil, err
			}
			return bolt.Open(path)
		}
	},
}

// tempDir is t.TempDir for a *testing.T; a *rapid.T has none.
func tempDir(t TB) string {
	if tt, ok := t.(interface{ TempDir() string }); ok {
		return tt.TempDir()
	}
	dir, err := os.MkdirTemp("", "beckon-conformance-bolt-*")
	if err != nil {
		t.Fatalf("bolt runtime harness: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func TestBoltSuite(t *testing.T) {
	Run(t, runtimeHarnessWith(boltStack, suiteLimits, true))
}

// Every operation of the bolt stack is an fsynced bbolt commit, so the
// property test runs fewer times by default than for the other
// implementations; RAPID_CHECKS or -rapid.checks set the depth.
func TestBoltProperties(t *testing.T) {
	runPropertiesWith(t, boltChecks, runtimeHarnessWith(boltStack, propLimits, false))
}

const boltChecks = "20"

func FuzzBoltStateMachine(f *testing.F) {
	f.Fuzz(rapid.MakeFuzz(StateMachine(runtimeHarnessWith(boltStack, propLimits, false))))
}
