//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package bolt_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/beckonhq/beckon/port"
	"github.com/beckonhq/beckon/port/storetest"
)

// A create killed before it linked its file into place leaves
// "<name>.creating-NNNN" behind. The next Open of that path removes those
// files, and only those: the store itself, the temporary files of other
// names and anything merely alike stay.
func TestOpenRemovesStaleCreatingFiles(t *testing.T) {
	for _, existing := range []bool{false, true} {
		name := map[bool]string{false: "NewStore", true: "ExistingStore"}[existing]
		t.Run(name, func(t *testing.T) {
			path := dbPath(t)
			dir := filepath.Dir(path)
			if existing {
				s := mustOpen(t, path)
				if err := s.Append(port.Batch{Records: storetest.Records(1, 3)}); err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			stale := []string{"beckon.db.creating-1234567", "beckon.db.creating-9"}
			kept := []string{
				"beckon.db.creating-", "beckon.db.creating-12a", "beckon.db.creating-1.bak",
				"other.db.creating-123", "xbeckon.db.creating-123", "beckon.db.bak",
			}
			for i, f := range append(slices.Clone(stale), kept...) {
				content := []byte("partial bbolt file")
				if i == 0 {
					content = nil // killed right after the temporary file was made
				}
				if err := os.WriteFile(filepath.Join(dir, f), content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Mkdir(filepath.Join(dir, "beckon.db.creating-77"), 0o700); err != nil {
				t.Fatal(err)
			}
			kept = append(kept, "beckon.db.creating-77") // a directory, not a file create made

			s := mustOpen(t, path)
			defer s.Close()
			for _, f := range stale {
				if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
					t.Errorf("stale %s after Open: got %v, want it removed", f, err)
				}
			}
			for _, f := range kept {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s after Open: got %v, want it left alone", f, err)
				}
			}
			_, _, rs := mustLoad(t, s)
			if want := map[bool]int{false: 0, true: 3}[existing]; len(rs) != want {
				t.Errorf("the store after Open: got %d records, want %d", len(rs), want)
			}
		})
	}
}
