package bolt_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	"github.com/beckonhq/beckon/port/storetest"
	bbolt "go.etcd.io/bbolt"
)

// call11 is a 1:1 call closed at closed, by the record with Index index.
func call11(index uint64, id, inviter, invitee string, closed int64) kernel.ClosedCall {
	return kernel.ClosedCall{Index: index, InviteID: id, Inviter: inviter, Invitees: []string{invitee},
		States: []kernel.State{kernel.Accepted}, Created: closed - 1e9, Closed: closed}
}

// callLogSize returns the entries and calls of calllog, or fails.
func callLogSize(t *testing.T, s *bolt.Store) (entries, calls int) {
	t.Helper()
	entries, calls, err := bolt.CallLog(s)
	if err != nil {
		t.Fatal(err)
	}
	return entries, calls
}

// An entry of calllog stays while some participant's retention keeps one
// of its calls, and a fold deletes it once none does: by count, after a
// reopen with a smaller MaxPerUser, and by age, after a call MaxAge later.
func TestRetentionDeletesEntries(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	t0 := int64(1_700_000_000_000_000_000)
	var calls []kernel.ClosedCall
	for i := range 20 {
		index := uint64(i + 1)
		c := call11(index, fmt.Sprintf("c%02d", i), "alice", "bob", t0+int64(i)*1e9)
		if i == 0 {
			c = call11(index, "first", "carol", "alice", t0) // carol's only call
		}
		if err := s.Append(port.Batch{Records: storetest.Records(index, index), Closed: []kernel.ClosedCall{c}}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSnapshot(index, []byte("snap")); err != nil { // each batch's entry goes into calllog
			t.Fatal(err)
		}
		calls = append(calls, c)
	}
	if e, n := callLogSize(t, s); e != 20 || n != 20 {
		t.Fatalf("calllog holds %d entries of %d calls, want 20 of 20", e, n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	r := port.Retention{MaxPerUser: 3}
	s = mustOpen(t, path, bolt.WithRecordRetention(r))
	defer s.Close()
	sameUsersRecords(t, s, "reopened with MaxPerUser 3", calls, r)
	if e, _ := callLogSize(t, s); e != 20 {
		t.Fatalf("before a fold: calllog holds %d entries, want the 20 still", e)
	}
	if err := s.SaveSnapshot(20, []byte("snap")); err != nil { // a fold deletes the garbage
		t.Fatal(err)
	}
	// alice's and bob's 3 newest, and carol's only call.
	if e, _ := callLogSize(t, s); e != 4 {
		t.Fatalf("after a fold: calllog holds %d entries, want 4", e)
	}
	sameUsersRecords(t, s, "after the fold", calls, r)

	late := call11(21, "late", "dave", "erin", t0+20e9+int64(port.DefaultRecordMaxAge))
	if err := s.Append(port.Batch{Records: storetest.Records(21, 21), Closed: []kernel.ClosedCall{late}}); err != nil {
		t.Fatal(err)
	}
	calls = append(calls, late)
	for range 2 { // the first fold's commit finds the garbage, the second deletes it
		if err := s.SaveSnapshot(21, []byte("snap")); err != nil {
			t.Fatal(err)
		}
	}
	if e, _ := callLogSize(t, s); e != 1 {
		t.Fatalf("after a call %v later: calllog holds %d entries, want 1", port.DefaultRecordMaxAge, e)
	}
	sameUsersRecords(t, s, "after a late call", calls, r)
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// damageCallLog flips a byte of the value of the first entry of calllog
// in the closed store at path, the bbolt structure intact.
func damageCallLog(t *testing.T, path string, at int) {
	t.Helper()
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		cl := tx.Bucket([]byte("calllog"))
		k, v := cl.Cursor().First()
		if k == nil {
			return errors.New("calllog is empty")
		}
		v = append([]byte(nil), v...)
		v[at] ^= 0x20
		return cl.Put(append([]byte(nil), k...), v)
	})
}

// A damaged entry of calllog is refused by a checked Open, and with
// WithoutOpenCheck reported by Records and by Check, as ErrCorrupt.
func TestCallLogDamaged(t *testing.T) {
	for _, at := range []int{0, 4, 5, 12, 40} { // checksum, zero byte, call
		t.Run(fmt.Sprint("byte=", at), func(t *testing.T) {
			path := dbPath(t)
			migratingStore(t, path)
			damageCallLog(t, path, at)
			_, err := bolt.Open(path)
			wantErr(t, err, bolt.ErrCorrupt, path)
			s := mustOpen(t, path, bolt.WithoutOpenCheck())
			defer s.Close()
			_, err = s.Records("alice", port.RecordCursor{}, 0)
			wantErr(t, err, bolt.ErrCorrupt, path)
			wantErr(t, s.Check(), bolt.ErrCorrupt, path)
		})
	}
}

// The call index read from the file at a reopen lists what the index kept
// up to date commit by commit listed, under retention, with ties of close
// time within and across batches, calls closed out of order, folds at
// random, and users in group calls.
func TestCallIndexReopen(t *testing.T) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 15))
	r := port.Retention{MaxPerUser: 7, MaxAge: 40 * time.Second}
	for _, opts := range [][]bolt.Option{nil, {bolt.WithoutOpenCheck()}} {
		path := dbPath(t)
		s := mustOpen(t, path, append(opts, bolt.WithRecordRetention(r), bolt.WithJournalLimit(16))...)
		t0 := int64(1_700_000_000_000_000_000)
		var calls []kernel.ClosedCall
		index := uint64(0)
		for b := range 120 {
			index++
			batch := port.Batch{Records: storetest.Records(index, index)}
			for j := range rng.IntN(4) {
				closed := t0 + int64(b/3)*1e9 - int64(rng.IntN(3))*1e9 // ties, and out of order
				inviter, invitee := usersOfCalls[rng.IntN(4)], usersOfCalls[rng.IntN(4)]
				if inviter == invitee {
					invitee = "erin"
				}
				c := call11(index, fmt.Sprintf("c%d-%d", b, j), inviter, invitee, closed)
				if rng.IntN(4) == 0 {
					c.Group = "g"
					c.Invitees = append(c.Invitees, "frank")
					c.States = append(c.States, kernel.Rejected)
				}
				if j == 0 && rng.IntN(5) == 0 && len(calls) > 0 { // the close time and invite ID of an earlier Index's call
					c.Closed, c.InviteID = calls[len(calls)-1].Closed, calls[len(calls)-1].InviteID
				}
				batch.Closed = append(batch.Closed, c)
				batch.History = append(batch.History, storetest.History(kernel.C2C(inviter, invitee), b))
			}
			if err := s.Append(batch); err != nil {
				t.Fatal(err)
			}
			calls = append(calls, batch.Closed...)
			if rng.IntN(10) == 0 {
				if err := s.SaveSnapshot(index, []byte("snap")); err != nil {
					t.Fatal(err)
				}
			}
		}
		sameUsersRecords(t, s, "as written", calls, r)
		listed := map[string][]port.CallRecord{}
		for _, u := range usersOfCalls {
			rs, err := s.Records(u, port.RecordCursor{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			listed[u] = rs
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = mustOpen(t, path, append(opts, bolt.WithRecordRetention(r))...)
		sameUsersRecords(t, s, "reopened", calls, r)
		for _, u := range usersOfCalls {
			if rs, err := s.Records(u, port.RecordCursor{}, 0); err != nil || !reflect.DeepEqual(rs, listed[u]) {
				t.Fatalf("Records(%s) after the reopen differ from before it (%v)", u, err)
			}
		}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Records runs beside Appends and folds, and sees each batch's calls all
// or none: a user's records are always a prefix (by Index) of the calls
// appended.
func TestRecordsBesideWrites(t *testing.T) {
	s := mustOpen(t, dbPath(t), bolt.WithJournalLimit(8), bolt.WithRecordRetention(port.Retention{MaxPerUser: 50}))
	defer s.Close()
	t0 := int64(1_700_000_000_000_000_000)
	done := make(chan error, 1)
	go func() {
		for i := range 300 {
			index := uint64(i + 1)
			b := port.Batch{Records: storetest.Records(index, index),
				History: []kernel.History{storetest.History(kernel.C2C("alice", "bob"), i)}}
			for j := range 2 {
				b.Closed = append(b.Closed, call11(index, fmt.Sprintf("c%03d-%d", i, j), "alice", "bob", t0+int64(i)*1e9))
			}
			if err := s.Append(b); err != nil {
				done <- err
				return
			}
			if i%37 == 0 {
				if err := s.SaveSnapshot(index, []byte("snap")); err != nil {
					done <- err
					return
				}
			}
		}
		done <- nil
	}()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		default:
		}
		rs, err := s.Records("bob", port.RecordCursor{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs)%2 != 0 || len(rs) > 50 {
			t.Fatalf("listed %d records: not whole batches, or past retention", len(rs))
		}
		for i := 1; i < len(rs); i++ {
			if rs[i].Cursor().Compare(rs[i-1].Cursor()) <= 0 {
				t.Fatalf("records %d and %d out of order", i-1, i)
			}
		}
	}
}
