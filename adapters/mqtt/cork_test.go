package mqtt

import (
	"bytes"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// writeLog is a net.Conn that records each Write (and fails them with
// err, or blocks them until unblock is closed) and its Close.
type writeLog struct {
	net.Conn
	mu      sync.Mutex
	writes  [][]byte
	err     error
	block   chan struct{} // not nil: a Write waits for it to close
	closed  bool
	entered chan struct{} // closed when a blocked Write has begun
}

func (w *writeLog) Write(p []byte) (int, error) {
	if w.block != nil {
		close(w.entered)
		<-w.block
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func (w *writeLog) SetWriteDeadline(time.Time) error { return nil }

func (w *writeLog) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	return nil
}

// Writes while corked go out together, in order, in one write at uncork;
// writes outside a cork pass straight through.
func TestCorkHoldsWritesUntilUncork(t *testing.T) {
	w := &writeLog{}
	c := &corkConn{Conn: w}
	must := func(n int, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Write([]byte("a")))
	c.cork()
	must(c.Write([]byte("bc")))
	must(c.Write([]byte("d")))
	if len(w.writes) != 1 {
		t.Fatalf("got %d writes while corked, want 1 (the one before the cork)", len(w.writes))
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	must(c.Write([]byte("e")))
	got := make([]string, len(w.writes))
	for i, b := range w.writes {
		got[i] = string(b)
	}
	if want := []string{"a", "bcd", "e"}; !slices.Equal(got, want) {
		t.Fatalf("got writes %q, want %q", got, want)
	}
}

// A cork that holds maxHeld bytes writes them at once; an uncork with
// nothing held writes nothing; a failed write of what was held is
// uncork's error.
func TestCorkLimitsAndErrors(t *testing.T) {
	w := &writeLog{}
	c := &corkConn{Conn: w}
	c.cork()
	if _, err := c.Write(make([]byte, maxHeld)); err != nil {
		t.Fatal(err)
	}
	if len(w.writes) != 1 || len(w.writes[0]) != maxHeld {
		t.Fatalf("got %d writes, want the %d bytes held written at once", len(w.writes), maxHeld)
	}
	if err := c.uncork(); err != nil || len(w.writes) != 1 {
		t.Fatalf("uncork with nothing held: got %v and %d writes, want nil and no new write", err, len(w.writes))
	}
	lost := errors.New("connection reset")
	w.err = lost
	c.cork()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatalf("a held write: got %v, want it held", err)
	}
	if err := c.uncork(); !errors.Is(err, lost) {
		t.Fatalf("uncork: got %v, want the held write's failure %v", err, lost)
	}
}

// Close writes what a cork holds before it closes (mochi's DISCONNECT of
// a takeover, written while a flush had the connection corked), and does
// not wait for a write stuck on the connection: the close ends it.
func TestCorkCloseWritesHeld(t *testing.T) {
	w := &writeLog{}
	c := &corkConn{Conn: w}
	c.cork()
	if _, err := c.Write([]byte("event")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("disconnect")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if len(w.writes) != 1 || string(w.writes[0]) != "eventdisconnect" || !w.closed {
		t.Fatalf("got writes %q, closed %v; want the held bytes in one write, then the close", w.writes, w.closed)
	}

	stuck := &writeLog{block: make(chan struct{}), entered: make(chan struct{})}
	c = &corkConn{Conn: stuck}
	go func() { _, _ = c.Write([]byte("x")) }()
	<-stuck.entered
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a stuck write")
	}
	close(stuck.block)
	if !stuck.closed {
		t.Fatal("Close did not close the connection")
	}
}
