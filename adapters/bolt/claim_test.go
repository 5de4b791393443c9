package bolt_test

import (
	"errors"
	"testing"
	"time"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/port"
)

// One store serves one runtime: the same *bolt.Store given to a second
// runtime is refused at New, and a second Open of the file, with an error
// matching port.ErrLocked in both cases (not a store failure at the first
// write).
func TestOneRuntimePerStore(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	first, err := beckon.New(beckon.WithStore(s))
	if err != nil {
		t.Fatal(err)
	}
	second, err := beckon.New(beckon.WithStore(s))
	if !errors.Is(err, port.ErrLocked) || !errors.Is(err, bolt.ErrLocked) {
		if second != nil {
			second.Close()
		}
		t.Errorf("New on a store another runtime uses: got %v, want an error matching port.ErrLocked", err)
	}
	if _, err := bolt.Open(path, bolt.WithLockTimeout(10*time.Millisecond)); !errors.Is(err, port.ErrLocked) {
		t.Errorf("second Open of the file: got %v, want an error matching port.ErrLocked", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := beckon.New(beckon.WithStore(s))
	if err != nil {
		t.Fatalf("New on the store after the first runtime closed: got %v, want nil", err)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
}
