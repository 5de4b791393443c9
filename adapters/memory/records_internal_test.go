package memory

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	"github.com/beckonhq/beckon/port/storetest"
)

// The calls log holds the calls some user lists and at most about as many
// more: compactions drop the rest (and forget users left without records)
// and reuse their chunks, and every user still lists what retention keeps.
func TestStoreCompactsCalls(t *testing.T) {
	r := port.Retention{MaxPerUser: 20, MaxAge: 1000 * time.Second}
	s := NewStore(WithRetention(r))
	var calls []kernel.ClosedCall
	early := storetest.Call(1, 0)
	early.Inviter, early.InviteID = "zed", "early" // zed calls once, then ages out
	calls = append(calls, early)
	if err := s.Append(port.Batch{Closed: []kernel.ClosedCall{early}}); err != nil {
		t.Fatal(err)
	}
	const batches, perBatch = 250, 1000 // ~4 compactions
	firstChunks := 0
	for b := range batches {
		batch := make([]kernel.ClosedCall, perBatch)
		for i := range batch {
			n := b*perBatch + i
			batch[i] = storetest.Call(uint64(n+2), n)
		}
		if err := s.Append(port.Batch{Closed: batch}); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, batch...)
		if got, max := s.calls.len(), 2*minCompaction+perBatch; got > max {
			t.Fatalf("after %d calls the calls log holds %d, want at most %d", len(calls), got, max)
		}
		if firstChunks == 0 && s.compactAt != minCompaction {
			firstChunks = chunkCount(&s.calls)
		} else if got := chunkCount(&s.calls); firstChunks > 0 && got > 2*firstChunks+1 {
			t.Fatalf("after %d calls the calls log has %d chunks, want at most %d (twice that after its first compaction, plus one)", len(calls), got, 2*firstChunks+1)
		}
	}
	if firstChunks == 0 {
		t.Fatal("the calls log was never compacted")
	}
	if _, ok := s.records["zed"]; ok {
		t.Error("zed's only record aged out, yet the store still has an index for zed")
	}
	for _, u := range []string{"alice", "bob", "carol", "dave", "zed"} {
		got, err := s.Records(u, port.RecordCursor{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		storetest.SameCallRecords(t, fmt.Sprintf("Records(%s)", u), got, storetest.WantRecords(u, calls, r))
	}
}

// A store whose users list MaxCalls calls refuses, whole, a batch that
// would pass it, and goes on.
func TestStoreCallsFull(t *testing.T) {
	defer func(m uint64) { maxCalls = m }(maxCalls)
	maxCalls = 10
	r := port.Retention{MaxPerUser: 3}
	s := NewStore(WithRetention(r))
	var calls []kernel.ClosedCall
	var index, logged uint64
	appendCalls := func(n int) error {
		var batch []kernel.ClosedCall
		for range n {
			index++
			c := storetest.Call(index, 6*int(index)) // alice and bob
			batch = append(batch, c)
		}
		err := s.Append(port.Batch{Records: []kernel.Record{storetest.Record(logged + 1)}, Closed: batch})
		if err == nil {
			logged++
			calls = append(calls, batch...)
		} else {
			index -= uint64(n)
		}
		return err
	}
	for range 12 { // a compaction at the 11th: alice and bob list 3
		if err := appendCalls(1); err != nil {
			t.Fatal(err)
		}
	}
	if err := appendCalls(8); err == nil || !strings.Contains(err.Error(), "call records are full") {
		t.Fatalf("Append of 8 calls where 3 are listed and MaxCalls is 10: got %v, want a \"call records are full\" error", err)
	}
	if _, _, recs, _ := s.Load(); len(recs) != 12 {
		t.Fatalf("after the refused Append the log has %d records, want 12", len(recs))
	}
	if err := appendCalls(7); err != nil {
		t.Fatalf("Append up to MaxCalls: %v", err)
	}
	got, err := s.Records("alice", port.RecordCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	storetest.SameCallRecords(t, "Records(alice)", got, storetest.WantRecords("alice", calls, r))
}

// Records runs beside Appends that compact the calls log, and each listing
// is whole: in order, at most the retention's count, every record intact.
func TestStoreRecordsDuringCompaction(t *testing.T) {
	r := port.Retention{MaxPerUser: 50}
	s := NewStore(WithRetention(r))
	done := make(chan struct{})
	go func() {
		defer close(done)
		n := 0
		for n < 4*minCompaction { // about four compactions
			batch := make([]kernel.ClosedCall, 500)
			for i := range batch {
				n++
				batch[i] = storetest.Call(uint64(n), n)
			}
			if err := s.Append(port.Batch{Closed: batch}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for listings := 0; ; listings++ {
		select {
		case <-done:
			if listings == 0 {
				t.Fatal("no listing ran beside the appends")
			}
			return
		default:
		}
		got, err := s.Records("alice", port.RecordCursor{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > r.MaxPerUser {
			t.Fatalf("listed %d records, retention keeps %d", len(got), r.MaxPerUser)
		}
		for i := range got {
			if _, ok := got[i].Call.Outcome("alice"); !ok {
				t.Fatalf("record %d is of a call without alice: %+v", i, got[i].Call)
			}
			if i > 0 && got[i-1].Cursor().Compare(got[i].Cursor()) >= 0 {
				t.Fatalf("records %d and %d are out of order", i-1, i)
			}
		}
	}
}
