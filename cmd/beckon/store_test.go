package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/adapters/memory"
)

func TestOpenStoreMemoryByDefault(t *testing.T) {
	s, err := openStore("")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*memory.Store); !ok {
		t.Fatalf("openStore(\"\") = %T, want *memory.Store", s)
	}
}

// The demo runs on a bolt file, and again on the same file (a restart).
func TestDemoOnBoltStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo.db")
	for run := range 2 {
		s, err := openStore(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.(*bolt.Store); !ok {
			t.Fatalf("openStore(path) = %T, want *bolt.Store", s)
		}
		var out bytes.Buffer
		err = demo(&out, s, path, 10*time.Millisecond)
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run+1, err, out.String())
		}
		if !strings.Contains(out.String(), "store "+path) || !strings.Contains(out.String(), "done in") {
			t.Fatalf("run %d printed:\n%s", run+1, out.String())
		}
	}
}

// A file that is not a store is refused with an error naming it, and left alone.
func TestOpenStoreRefusesForeignFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("not a database\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := openStore(path)
	if !errors.Is(err, bolt.ErrNotStore) || !strings.Contains(err.Error(), path) {
		t.Fatalf("openStore(text file): %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "not a database\n" {
		t.Fatal("the refused file was changed")
	}
}
