// Package storetest states the contract of port.Store once, as a test
// suite that every storage adapter runs (as go-cloud's drivertest does for
// its drivers):
//
//	func TestStorePort(t *testing.T) {
//		storetest.Run(t, func(*testing.T) port.Store { return memory.NewStore() }, nil)
//	}
//
// Each check is a subtest named for what it checks; a failure reads "got X,
// want Y".
package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// Run checks the Store contract, each check on a new, empty store from
// newStore; the suite closes the stores it gets when the check ends.
// reopen, if not nil, returns a store on the data of s as a restarted
// process would see it (for a file: close s and open the file again); the
// Reopen check needs it and is skipped without it.
func Run(t *testing.T, newStore func(t *testing.T) port.Store, reopen func(t *testing.T, s port.Store) port.Store) {
	kept := func(t *testing.T, s port.Store) port.Store {
		t.Cleanup(func() { _ = s.Close() }) // a check may have closed it: ErrClosed
		return s
	}
	checks := []struct {
		name string
		run  func(t *testing.T, s port.Store)
	}{
		{"LoadEmpty", checkLoadEmpty},
		{"AppendThenLoad", checkAppendThenLoad},
		{"AppendIsAtomic", checkAppendIsAtomic},
		{"SnapshotCompacts", checkSnapshotCompacts},
		{"SnapshotAtZero", checkSnapshotAtZero},
		{"HistoryPaging", checkHistoryPaging},
		{"CallerOwnsSlices", checkCallerOwnsSlices},
		{"HistoryDuringAppend", checkHistoryDuringAppend},
		{"ClaimIsExclusive", checkClaimIsExclusive},
		{"RecordsOrderAndPaging", checkRecordsOrderAndPaging},
		{"RecordsInTheBatch", checkRecordsInTheBatch},
		{"RecordsRetention", checkRecordsRetention},
		{"Kept", checkKept},
		{"Close", checkClose},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, kept(t, newStore(t))) })
	}
	t.Run("Reopen", func(t *testing.T) {
		if reopen == nil {
			t.Skip("no reopen given")
		}
		checkReopen(t, kept(t, newStore(t)), func(s port.Store) port.Store { return kept(t, reopen(t, s)) })
	})
	t.Run("KeptReopen", func(t *testing.T) {
		if reopen == nil {
			t.Skip("no reopen given")
		}
		checkKeptReopen(t, kept(t, newStore(t)), func(s port.Store) port.Store { return kept(t, reopen(t, s)) })
	})
}

// A store serves one runtime at a time: a Claim while another holds fails
// with ErrLocked, release frees it (twice is harmless), and after Close
// Claim fails with ErrClosed.
func checkClaimIsExclusive(t *testing.T, s port.Store) {
	release, err := s.Claim()
	if err != nil {
		t.Fatalf("Claim of a new store: got %v, want nil", err)
	}
	if r, err := s.Claim(); !errors.Is(err, port.ErrLocked) {
		if r != nil {
			r()
		}
		t.Errorf("Claim while claimed: got %v, want an error matching port.ErrLocked", err)
	}
	release()
	release()
	again, err := s.Claim()
	if err != nil {
		t.Fatalf("Claim after release: got %v, want nil", err)
	}
	if _, err := s.Claim(); !errors.Is(err, port.ErrLocked) {
		t.Errorf("Claim while claimed again (a second release must not free another claim): got %v, want ErrLocked", err)
	}
	again()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Claim(); !errors.Is(err, port.ErrClosed) {
		t.Errorf("Claim after Close: got %v, want an error matching port.ErrClosed", err)
	}
}

// A new store holds nothing.
func checkLoadEmpty(t *testing.T, s port.Store) {
	if i, snap, rs := mustLoad(t, s); i != 0 || snap != nil || len(rs) != 0 {
		t.Fatalf("Load of a new store: got (%d, %q, %d records), want (0, nil, none)", i, snap, len(rs))
	}
}

// Load returns every record appended, in order, whatever the batches; an
// empty batch and a batch of history alone add no record.
func checkAppendThenLoad(t *testing.T, s port.Store) {
	for _, b := range [][2]uint64{{1, 1}, {2, 9}, {10, 300}} {
		mustAppend(t, s, port.Batch{Records: Records(b[0], b[1])})
	}
	mustAppend(t, s, port.Batch{})
	mustAppend(t, s, port.Batch{History: []kernel.History{History(kernel.C2C("alice", "bob"), 0)}})
	i, snap, rs := mustLoad(t, s)
	if i != 0 || snap != nil {
		t.Fatalf("Load: got snapshot (%d, %q), want none", i, snap)
	}
	SameRecords(t, rs, Records(1, 300))
}

// A batch whose records do not continue the log fails with ErrBadIndex and
// leaves nothing behind, neither records nor history; the log goes on.
func checkAppendIsAtomic(t *testing.T, s port.Store) {
	conv := kernel.C2C("alice", "bob")
	h := []kernel.History{History(conv, 1), History(conv, 2)}
	bad := func(name string, rs []kernel.Record) {
		t.Helper()
		if err := s.Append(port.Batch{Records: rs, History: h}); !errors.Is(err, port.ErrBadIndex) {
			t.Errorf("Append of %s: got %v, want an error matching port.ErrBadIndex", name, err)
		}
	}
	bad("record 2 to an empty log", Records(2, 2))
	bad("record 0 to an empty log", Records(0, 0))
	mustAppend(t, s, port.Batch{Records: Records(1, 2)})
	bad("record 4 after 2 (a gap)", Records(4, 4))
	bad("records 2..3 after 2 (a repeat)", Records(2, 3))
	bad("record 1 after 2 (a step back)", Records(1, 1))
	bad("records 3, 5 (a gap inside the batch)", []kernel.Record{Record(3), Record(5)})
	bad("records 3, 3 (a repeat inside the batch)", []kernel.Record{Record(3), Record(3)})
	_, _, rs := mustLoad(t, s)
	SameRecords(t, rs, Records(1, 2))
	if got := mustHistory(t, s, conv, 0, 0); len(got) != 0 {
		t.Fatalf("History after refused batches: got %d messages, want none", len(got))
	}
	mustAppend(t, s, port.Batch{Records: Records(3, 4), History: h[:1]})
	if got := mustHistory(t, s, conv, 0, 0); len(got) != 1 || got[0].Seq != 1 {
		t.Fatalf("History after a refused batch and a good one: got %d messages, want 1 with Seq 1", len(got))
	}
}

// A snapshot replaces the one before; Load returns it with its index and
// the records after it only, and the log goes on after the last record,
// even when the snapshot covers every record. An index behind the current
// snapshot or past the last record fails with ErrBadIndex.
func checkSnapshotCompacts(t *testing.T, s port.Store) {
	mustAppend(t, s, port.Batch{Records: Records(1, 10)})
	mustSnapshot(t, s, 6, "snap-6")
	wantLoad(t, s, 6, "snap-6", Records(7, 10))
	for _, index := range []uint64{5, 11} {
		if err := s.SaveSnapshot(index, []byte("bad")); !errors.Is(err, port.ErrBadIndex) {
			t.Errorf("SaveSnapshot at %d (snapshot at 6, last record 10): got %v, want an error matching port.ErrBadIndex", index, err)
		}
	}
	wantLoad(t, s, 6, "snap-6", Records(7, 10))
	mustAppend(t, s, port.Batch{Records: Records(11, 12)})
	mustSnapshot(t, s, 12, "snap-12")
	wantLoad(t, s, 12, "snap-12", nil)
	mustSnapshot(t, s, 12, "snap-12b")
	mustAppend(t, s, port.Batch{Records: Records(13, 13)})
	wantLoad(t, s, 12, "snap-12b", Records(13, 13))
}

// A snapshot at index 0 (before any record) is kept, and the log starts at
// record 1 after it.
func checkSnapshotAtZero(t *testing.T, s port.Store) {
	mustSnapshot(t, s, 0, "empty")
	wantLoad(t, s, 0, "empty", nil)
	mustAppend(t, s, port.Batch{Records: Records(1, 2)})
	wantLoad(t, s, 0, "empty", Records(1, 2))
}

// Each conversation numbers its messages from 1 in append order, however
// the batches mix conversations; History pages by after and limit; a
// snapshot leaves the history alone; the payload is the SDK's envelope.
func checkHistoryPaging(t *testing.T, s port.Store) {
	c2c, grp := kernel.C2C("bob", "alice"), kernel.GroupConversation("g1")
	var wantC2C, wantGrp []port.HistoryMessage
	for i := range 25 {
		b := port.Batch{Records: Records(uint64(i+1), uint64(i+1)), History: []kernel.History{History(c2c, i), History(grp, i)}}
		if i%3 == 0 {
			b.History = append(b.History, History(c2c, 100+i))
		}
		mustAppend(t, s, b)
		for _, h := range b.History {
			if h.Conv == c2c {
				wantC2C = append(wantC2C, Message(t, h, uint64(len(wantC2C)+1)))
			} else {
				wantGrp = append(wantGrp, Message(t, h, uint64(len(wantGrp)+1)))
			}
		}
		if i == 12 {
			mustSnapshot(t, s, uint64(i+1), "snap")
		}
	}
	for _, tc := range []struct {
		conv  kernel.Conversation
		all   []port.HistoryMessage
		after uint64
		limit int
	}{
		{c2c, wantC2C, 0, 0}, {grp, wantGrp, 0, 0}, {grp, wantGrp, 0, -1},
		{c2c, wantC2C, 0, 10}, {c2c, wantC2C, 10, 10}, {c2c, wantC2C, 30, 10},
		{grp, wantGrp, 20, 10}, {grp, wantGrp, 24, 1}, {grp, wantGrp, 25, 10}, {grp, wantGrp, 1 << 40, 0},
		{kernel.C2C("x", "y"), nil, 0, 0},
	} {
		exp := tc.all[min(tc.after, uint64(len(tc.all))):]
		if tc.limit > 0 && len(exp) > tc.limit {
			exp = exp[:tc.limit]
		}
		what := fmt.Sprintf("History(%s, after %d, limit %d)", tc.conv, tc.after, tc.limit)
		sameHistory(t, what, mustHistory(t, s, tc.conv, tc.after, tc.limit), exp)
	}
	var paged []port.HistoryMessage
	for after := uint64(0); ; {
		page := mustHistory(t, s, c2c, after, 4)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].Seq
	}
	sameHistory(t, "pages of 4 chained by after", paged, wantC2C)
}

// The store copies what it keeps: the caller may change or reuse the
// slices it passed in once the call returns, and owns the slices it gets.
func checkCallerOwnsSlices(t *testing.T, s port.Store) {
	conv := kernel.GroupConversation("g1")
	b := port.Batch{Records: Records(1, 2), History: []kernel.History{History(conv, 1)}}
	mustAppend(t, s, b)
	snapshot := []byte("snap-1")
	if err := s.SaveSnapshot(1, snapshot); err != nil {
		t.Fatalf("SaveSnapshot: got %v, want nil", err)
	}
	for i := range b.Records {
		in := &b.Records[i].Input
		for j := range in.Invitees {
			in.Invitees[j] = "mallory"
		}
		if in.Push != nil {
			in.Push.Desc = "changed"
		}
		b.Records[i] = kernel.Record{}
	}
	b.History[0].Info.InviteeList[0] = "mallory"
	b.History[0] = kernel.History{}
	snapshot[0] = 'X'

	_, snap, rs := mustLoad(t, s)
	SameRecords(t, rs, Records(2, 2))
	if string(snap) != "snap-1" {
		t.Fatalf("Load after the caller changed what it passed: got snapshot %q, want %q", snap, "snap-1")
	}
	msgs := mustHistory(t, s, conv, 0, 0)
	sameHistory(t, "History after the caller changed what it passed", msgs, []port.HistoryMessage{Message(t, History(conv, 1), 1)})

	for i := range rs {
		for j := range rs[i].Input.Invitees {
			rs[i].Input.Invitees[j] = "mallory"
		}
	}
	clear(snap)
	clear(msgs[0].Payload)
	wantLoad(t, s, 1, "snap-1", Records(2, 2))
	sameHistory(t, "History after the caller changed what it got", mustHistory(t, s, conv, 0, 0),
		[]port.HistoryMessage{Message(t, History(conv, 1), 1)})
}

// History may run at any time, concurrently with Append and SaveSnapshot
// (the committer and callers' goroutines): it sees, at each call, a
// gapless prefix of each conversation that holds all of a batch or none of
// it, and never less than a call before it saw.
func checkHistoryDuringAppend(t *testing.T, s port.Store) {
	const batches, perBatch, readers = 120, 3, 4
	conv := kernel.GroupConversation("all")
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for i := range batches {
			b := port.Batch{Records: Records(uint64(i+1), uint64(i+1)), History: []kernel.History{History(kernel.C2C("u", fmt.Sprint(i%5)), i)}}
			for j := range perBatch {
				b.History = append(b.History, History(conv, i*perBatch+j))
			}
			if err := s.Append(b); err != nil {
				t.Errorf("Append of batch %d: got %v, want nil", i, err)
				return
			}
			if i%40 == 39 {
				if err := s.SaveSnapshot(uint64(i+1), []byte("snap")); err != nil {
					t.Errorf("SaveSnapshot at %d: got %v, want nil", i+1, err)
					return
				}
			}
		}
	})
	for r := range readers {
		wg.Go(func() {
			seen := 0
			for {
				select {
				case <-done:
					return
				default:
				}
				msgs, err := s.History(conv, 0, 0)
				if err != nil {
					t.Errorf("reader %d: History: got %v, want nil", r, err)
					return
				}
				if len(msgs)%perBatch != 0 || len(msgs) < seen {
					t.Errorf("reader %d: History: got %d messages after %d, want a multiple of %d (whole batches), never fewer",
						r, len(msgs), seen, perBatch)
					return
				}
				for i, m := range msgs {
					if m.Seq != uint64(i+1) {
						t.Errorf("reader %d: message %d: got Seq %d, want %d", r, i, m.Seq, i+1)
						return
					}
				}
				seen = len(msgs)
			}
		})
	}
	wg.Wait()
	if got := mustHistory(t, s, conv, 0, 0); len(got) != batches*perBatch {
		t.Fatalf("History after every Append: got %d messages, want %d", len(got), batches*perBatch)
	}
}

// After Close every call, Close included, fails with ErrClosed.
func checkClose(t *testing.T, s port.Store) {
	mustAppend(t, s, port.Batch{Records: Records(1, 1), History: []kernel.History{History(kernel.C2C("a", "b"), 1)}})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: got %v, want nil", err)
	}
	_, _, _, loadErr := s.Load()
	_, historyErr := s.History(kernel.C2C("a", "b"), 0, 0)
	_, recordsErr := s.Records("a", port.RecordCursor{}, 0)
	_, keptErr := s.Kept()
	for _, c := range []struct {
		call string
		err  error
	}{
		{"Load", loadErr},
		{"Append", s.Append(port.Batch{Records: Records(2, 2)})},
		{"Append of an empty batch", s.Append(port.Batch{})},
		{"SaveSnapshot", s.SaveSnapshot(1, nil)},
		{"History", historyErr},
		{"Records", recordsErr},
		{"Kept", keptErr},
		{"Close", s.Close()},
	} {
		if !errors.Is(c.err, port.ErrClosed) {
			t.Errorf("%s after Close: got %v, want an error matching port.ErrClosed", c.call, c.err)
		}
	}
}

// What was appended and saved survives a restart, and the log and each
// conversation's Seq go on from where they were.
func checkReopen(t *testing.T, s port.Store, reopen func(port.Store) port.Store) {
	conv := kernel.C2C("alice", "bob")
	var hs []port.HistoryMessage
	var calls []kernel.ClosedCall
	for i := range 50 {
		h := History(conv, i)
		c := Call(uint64(2*i+2), i)
		calls = append(calls, c)
		mustAppend(t, s, port.Batch{Records: Records(uint64(2*i+1), uint64(2*i+2)), History: []kernel.History{h},
			Closed: []kernel.ClosedCall{c}})
		hs = append(hs, Message(t, h, uint64(i+1)))
		if i == 30 {
			mustSnapshot(t, s, 40, "snap-40")
		}
	}
	for round := range 3 {
		s = reopen(s)
		wantLoad(t, s, 40, "snap-40", Records(41, 100+uint64(round)))
		sameHistory(t, fmt.Sprintf("History after reopen %d", round+1), mustHistory(t, s, conv, 0, 0), hs)
		for _, u := range []string{"alice", "bob", "carol", "dave"} {
			SameCallRecords(t, fmt.Sprintf("Records(%s) after reopen %d", u, round+1),
				mustRecords(t, s, u, port.RecordCursor{}, 0), WantRecords(u, calls, port.Retention{}))
		}
		h := History(conv, 50+round)
		mustAppend(t, s, port.Batch{Records: Records(101+uint64(round), 101+uint64(round)), History: []kernel.History{h}})
		hs = append(hs, Message(t, h, uint64(len(hs)+1)))
	}
	sameHistory(t, "History after the last reopen and Append", mustHistory(t, s, conv, 0, 0), hs)
}

// Records are listed per user, newest first (close time, then invite ID,
// then the later Index), with each user's outcome; a cursor pages through
// them without a gap or a repeat; nobody else's are listed.
func checkRecordsOrderAndPaging(t *testing.T, s port.Store) {
	var calls []kernel.ClosedCall
	for i := range 30 {
		b := port.Batch{Records: Records(uint64(i+1), uint64(i+1))}
		for j := range i % 3 {
			c := Call(uint64(i+1), i+j)
			if i%7 == 2 && j == 0 { // ties of close time, and of invite ID (one per Index, as the kernel gives)
				c.Closed, c.InviteID = calls[0].Closed, "same"
			}
			b.Closed = append(b.Closed, c)
		}
		calls = append(calls, b.Closed...)
		mustAppend(t, s, b)
	}
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin", "mallory"} {
		want := WantRecords(u, calls, port.Retention{})
		SameCallRecords(t, fmt.Sprintf("Records(%s)", u), mustRecords(t, s, u, port.RecordCursor{}, 0), want)
		var paged []port.CallRecord
		for after := (port.RecordCursor{}); ; {
			page := mustRecords(t, s, u, after, 4)
			if len(page) == 0 {
				break
			}
			if len(page) > 4 {
				t.Fatalf("Records(%s, limit 4): got %d", u, len(page))
			}
			paged = append(paged, page...)
			after = page[len(page)-1].Cursor()
		}
		SameCallRecords(t, fmt.Sprintf("Records(%s) in pages of 4 chained by the cursor", u), paged, want)
	}
	if got := mustRecords(t, s, "mallory", port.RecordCursor{}, 0); len(got) != 0 {
		t.Fatalf("Records of a user in no call: got %d, want none", len(got))
	}
}

// A batch refused for its records leaves no call record behind, and the
// store copies the calls it keeps.
func checkRecordsInTheBatch(t *testing.T, s port.Store) {
	c := Call(1, 1)
	if err := s.Append(port.Batch{Records: Records(2, 2), Closed: []kernel.ClosedCall{c}}); !errors.Is(err, port.ErrBadIndex) {
		t.Fatalf("Append of record 2 to an empty log: got %v, want ErrBadIndex", err)
	}
	if got := mustRecords(t, s, c.Inviter, port.RecordCursor{}, 0); len(got) != 0 {
		t.Fatalf("Records after a refused batch: got %d, want none", len(got))
	}
	b := port.Batch{Records: Records(1, 1), Closed: []kernel.ClosedCall{c}}
	want := WantRecords(c.Inviter, []kernel.ClosedCall{Call(1, 1)}, port.Retention{}) // not sharing b.Closed
	mustAppend(t, s, b)
	b.Closed[0].Invitees[0], b.Closed[0].States[0] = "mallory", kernel.Accepted
	SameCallRecords(t, "Records after the caller changed what it passed", mustRecords(t, s, c.Inviter, port.RecordCursor{}, 0), want)
}

// A user keeps at most DefaultRecordsPerUser records, the newest, and
// none older than DefaultRecordMaxAge before the newest call given.
func checkRecordsRetention(t *testing.T, s port.Store) {
	n := port.DefaultRecordsPerUser + 10
	var calls []kernel.ClosedCall
	b := port.Batch{Records: Records(1, 1)}
	for i := range n {
		c := kernel.ClosedCall{Index: 1, InviteID: fmt.Sprintf("c%05d", i), Inviter: "alice", Invitees: []string{fmt.Sprint("bob", i%2)},
			States: []kernel.State{kernel.Accepted}, Created: int64(i) * 1e9, Closed: int64(i)*1e9 + 1}
		b.Closed = append(b.Closed, c)
	}
	calls = append(calls, b.Closed...)
	mustAppend(t, s, b)
	for _, u := range []string{"alice", "bob0", "bob1"} {
		SameCallRecords(t, fmt.Sprintf("Records(%s) beyond the count", u), mustRecords(t, s, u, port.RecordCursor{}, 0),
			WantRecords(u, calls, port.Retention{}))
	}
	late := kernel.ClosedCall{Index: 2, InviteID: "late", Inviter: "bob0", Invitees: []string{"carol"},
		States: []kernel.State{kernel.Rejected}, Closed: int64(n)*1e9 + int64(port.DefaultRecordMaxAge)}
	mustAppend(t, s, port.Batch{Records: Records(2, 2), Closed: []kernel.ClosedCall{late}})
	calls = append(calls, late)
	for _, u := range []string{"alice", "bob0", "carol"} {
		SameCallRecords(t, fmt.Sprintf("Records(%s) after a call %v later", u, port.DefaultRecordMaxAge),
			mustRecords(t, s, u, port.RecordCursor{}, 0), WantRecords(u, calls, port.Retention{}))
	}
}

// Call returns a closed call whose content varies with i, closed by the
// record with Index index: test data for a Store.
func Call(index uint64, i int) kernel.ClosedCall {
	c := kernel.ClosedCall{Index: index, InviteID: fmt.Sprintf("call-%d", i), Inviter: "alice",
		Invitees: []string{"bob"}, States: []kernel.State{kernel.State(1 + i%4)},
		Created: 1_700_000_000_000_000_000 + int64(i/2)*1e9, Closed: 1_700_000_000_000_000_000 + int64(i/2)*1e9 + 5}
	if i%3 == 1 {
		c.Inviter, c.Group = "carol", "g1"
		c.Invitees = []string{"alice", "bob", "dave"}
		c.States = []kernel.State{kernel.Accepted, kernel.State(1 + i%4), kernel.Rejected}
	}
	return c
}

// WantRecords returns the records of user that a store with retention r
// lists after it was given calls, in order.
func WantRecords(user string, calls []kernel.ClosedCall, r port.Retention) []port.CallRecord {
	r = r.WithDefaults()
	var out []port.CallRecord
	newest := int64(-1 << 63)
	for _, c := range calls {
		newest = max(newest, c.Closed)
	}
	for _, c := range calls {
		if o, ok := c.Outcome(user); ok && c.Closed >= r.Cutoff(newest) {
			out = append(out, port.CallRecord{User: user, Outcome: o, Call: c})
		}
	}
	slices.SortStableFunc(out, func(a, b port.CallRecord) int { return a.Cursor().Compare(b.Cursor()) })
	if len(out) > r.MaxPerUser {
		out = out[:r.MaxPerUser]
	}
	return out
}

func mustRecords(t *testing.T, s port.Store, user string, after port.RecordCursor, limit int) []port.CallRecord {
	t.Helper()
	rs, err := s.Records(user, after, limit)
	if err != nil {
		t.Fatalf("Records(%s, after %+v, limit %d): got %v, want nil", user, after, limit, err)
	}
	return rs
}

// SameCallRecords fails unless got and want are the same call records, in
// order (what names the listing in the message).
func SameCallRecords(t *testing.T, what string, got, want []port.CallRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d records, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s: record %d:\n got %+v\nwant %+v", what, i, got[i], want[i])
		}
	}
}

// Record returns a record with Index i whose content varies with i: test
// data for a Store (adapters' own tests use it too).
func Record(i uint64) kernel.Record {
	in := kernel.Invite(fmt.Sprintf("alice%d", i%7), fmt.Sprintf("bob%d", i%5), strings.Repeat("d", int(i%40)), int(i%60))
	in.RequestID = fmt.Sprintf("req-%d", i)
	in.InviteID = fmt.Sprintf("inv-%d", i)
	switch i % 4 {
	case 1:
		in.Push = &kernel.PushInfo{Title: "t", Desc: "call", Ext: "x", Sound: "ring"}
	case 2:
		in = kernel.Accept(fmt.Sprintf("bob%d", i%5), fmt.Sprintf("inv-%d", i-1), "ok")
	case 3:
		in = kernel.InviteInGroup("carol", "g1", []string{"dave", "erin", "frank"}, "grp", 30)
		in.InviteID = fmt.Sprintf("inv-%d", i)
	}
	return kernel.Record{Index: i, At: time.Unix(1_700_000_000+int64(i), int64(i)*1000), Input: in}
}

// Records returns Record(from)..Record(to).
func Records(from, to uint64) []kernel.Record {
	var out []kernel.Record
	for i := from; i <= to; i++ {
		out = append(out, Record(i))
	}
	return out
}

// History returns the i-th history message of conversation c (every
// seventh without invitees): test data for a Store.
func History(c kernel.Conversation, i int) kernel.History {
	inviter := c.A
	if c.Group != "" {
		inviter = "carol"
	}
	h := kernel.History{
		Conv: c, Sender: inviter, At: int64(1_700_000_000_000_000_000 + i),
		Info: kernel.SignalingInfo{
			BusinessID: kernel.BusinessID, InviteID: fmt.Sprintf("inv-%d", i), GroupID: c.Group,
			Inviter: inviter, InviteeList: []string{"bob", fmt.Sprint("dave", i%3)}, Data: strings.Repeat("x", i%50),
			Timeout: 30, ActionType: kernel.Action(1 + i%6), OnlineUserOnly: i%2 == 0,
		},
	}
	if i%7 == 3 {
		h.Info.InviteeList = nil
	}
	return h
}

// Message returns the HistoryMessage a Store gives for h at seq.
func Message(t testing.TB, h kernel.History, seq uint64) port.HistoryMessage {
	t.Helper()
	p, err := kernel.MarshalSignalingInfo(h.Info)
	if err != nil {
		t.Fatal(err)
	}
	return port.HistoryMessage{Seq: seq, Sender: h.Sender, At: time.Unix(0, h.At), Payload: p}
}

func mustAppend(t *testing.T, s port.Store, b port.Batch) {
	t.Helper()
	if err := s.Append(b); err != nil {
		t.Fatalf("Append of %d records, %d messages: got %v, want nil", len(b.Records), len(b.History), err)
	}
}

func mustSnapshot(t *testing.T, s port.Store, index uint64, snapshot string) {
	t.Helper()
	if err := s.SaveSnapshot(index, []byte(snapshot)); err != nil {
		t.Fatalf("SaveSnapshot at %d: got %v, want nil", index, err)
	}
}

func mustLoad(t *testing.T, s port.Store) (uint64, []byte, []kernel.Record) {
	t.Helper()
	i, snap, rs, err := s.Load()
	if err != nil {
		t.Fatalf("Load: got %v, want nil", err)
	}
	return i, snap, rs
}

func mustHistory(t *testing.T, s port.Store, conv kernel.Conversation, after uint64, limit int) []port.HistoryMessage {
	t.Helper()
	msgs, err := s.History(conv, after, limit)
	if err != nil {
		t.Fatalf("History(%s, after %d, limit %d): got %v, want nil", conv, after, limit, err)
	}
	return msgs
}

// wantLoad fails unless Load returns the snapshot at index and records.
func wantLoad(t *testing.T, s port.Store, index uint64, snapshot string, records []kernel.Record) {
	t.Helper()
	i, snap, rs := mustLoad(t, s)
	if i != index || string(snap) != snapshot {
		t.Fatalf("Load: got snapshot (%d, %q), want (%d, %q)", i, snap, index, snapshot)
	}
	SameRecords(t, rs, records)
}

// SameRecords fails t unless got are want, field by field (times with
// Equal): what Load should give back (adapters' own tests use it too).
func SameRecords(t testing.TB, got, want []kernel.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("Load: got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Index != w.Index || !g.At.Equal(w.At) || !reflect.DeepEqual(g.Input, w.Input) {
			t.Fatalf("Load: record %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// sameHistory compares history messages (times with Equal).
func sameHistory(t *testing.T, what string, got, want []port.HistoryMessage) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d messages, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.Sender != w.Sender || !g.At.Equal(w.At) || string(g.Payload) != string(w.Payload) {
			t.Fatalf("%s: message %d:\n got %+v\nwant %+v", what, i, g, w)
		}
	}
}
