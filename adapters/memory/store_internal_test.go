package memory

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// After a snapshot, the records log reuses the chunks of the records it
// dropped: over many snapshot intervals of the same size it holds the
// chunks of about one interval, and what it keeps reads back intact.
func TestStoreReusesRecordChunks(t *testing.T) {
	s := NewStore()
	const perInterval = 5000 // ~40 B each: a few 64 KiB chunks
	var index uint64
	appendN := func(n int) {
		for range n {
			index++
			in := kernel.Invite("alice", "bob", "data-"+strconv.FormatUint(index, 10), 30)
			in.InviteID = "c" + strconv.FormatUint(index, 10)
			rec := kernel.Record{Index: index, At: time.Unix(1_700_000_000, 0), Input: in}
			if err := s.Append(port.Batch{Records: []kernel.Record{rec}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendN(perInterval + 10)
	first := chunkCount(&s.log)
	if first < 3 {
		t.Fatalf("the first interval fills %d chunks; the test needs 3 or more", first)
	}
	for interval := range 20 {
		// keep the last 10 records, as a snapshot taken a little before
		// the last Append would
		if err := s.SaveSnapshot(index-10, []byte("snap")); err != nil {
			t.Fatal(err)
		}
		appendN(perInterval)
		if got := chunkCount(&s.log); got > first+1 {
			t.Fatalf("after interval %d the records log holds %d chunks, want at most %d (the first interval's, plus one)", interval, got, first+1)
		}
	}
	snap, _, records, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if want := perInterval + 10; len(records) != want {
		t.Fatalf("Load: got %d records, want %d", len(records), want)
	}
	for i, r := range records {
		want := snap + uint64(i) + 1
		if r.Index != want || r.Input.Data != "data-"+strconv.FormatUint(want, 10) {
			t.Fatalf("record %d: got index %d data %q, want index %d data %q", i, r.Index, r.Input.Data, want, "data-"+strconv.FormatUint(want, 10))
		}
	}
}

// A full history refuses the batch that would pass MaxHistory, whole:
// neither its records nor its messages are kept, and the store goes on.
func TestStoreHistoryFull(t *testing.T) {
	defer func(m uint64) { maxHistory = m }(maxHistory)
	maxHistory = 3
	s := NewStore()
	conv := kernel.C2C("alice", "bob")
	msg := kernel.History{Conv: conv, Sender: "alice", At: 1, Info: kernel.SignalingInfo{BusinessID: 1, InviteID: "c1",
		Inviter: "alice", InviteeList: []string{"bob"}, ActionType: kernel.ActionInvite}}
	rec := func(i uint64) kernel.Record {
		return kernel.Record{Index: i, At: time.Unix(1, 0), Input: kernel.Connect("alice", "s"+strconv.FormatUint(i, 10))}
	}
	if err := s.Append(port.Batch{Records: []kernel.Record{rec(1)}, History: []kernel.History{msg, msg}}); err != nil {
		t.Fatal(err)
	}
	err := s.Append(port.Batch{Records: []kernel.Record{rec(2)}, History: []kernel.History{msg, msg}})
	if err == nil || !strings.Contains(err.Error(), "history is full") {
		t.Fatalf("Append past MaxHistory: got %v, want a \"history is full\" error", err)
	}
	if _, _, records, _ := s.Load(); len(records) != 1 {
		t.Fatalf("after the refused Append the log has %d records, want 1", len(records))
	}
	if got, _ := s.History(conv, 0, 0); len(got) != 2 {
		t.Fatalf("after the refused Append the history has %d messages, want 2", len(got))
	}
	if err := s.Append(port.Batch{Records: []kernel.Record{rec(2)}, History: []kernel.History{msg}}); err != nil {
		t.Fatalf("Append up to MaxHistory: %v", err)
	}
}

// chunkCount is how many data chunks l holds, in use and free.
func chunkCount(l *log) int { return len(l.data) + len(l.freeData) }
