package bolt_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"slices"
	"testing"

	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	"github.com/beckonhq/beckon/port/storetest"
	bbolt "go.etcd.io/bbolt"
)

// migratingStore writes calls in batches of one to a new store at path,
// with a snapshot (a fold) after the fifth, and closes it: calls 1..5 are
// folded into calllog, the others in the journal. It returns the calls.
func migratingStore(t *testing.T, path string) []kernel.ClosedCall {
	t.Helper()
	s := mustOpen(t, path)
	var calls []kernel.ClosedCall
	conv := kernel.C2C("alice", "bob")
	for i := 1; i <= 10; i++ {
		c := storetest.Call(uint64(i), i)
		b := port.Batch{Records: storetest.Records(uint64(i), uint64(i)), History: []kernel.History{storetest.History(conv, i)},
			Closed: []kernel.ClosedCall{c}}
		if err := s.Append(b); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c)
		if i == 5 {
			if err := s.SaveSnapshot(5, []byte("snap")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return calls
}

var usersOfCalls = []string{"alice", "bob", "carol", "dave"}

// sameUsersRecords fails unless s lists for every user the records of
// calls, all at once and in pages of 2.
func sameUsersRecords(t *testing.T, s *bolt.Store, what string, calls []kernel.ClosedCall, r port.Retention) {
	t.Helper()
	for _, u := range usersOfCalls {
		want := storetest.WantRecords(u, calls, r)
		got, err := s.Records(u, port.RecordCursor{}, 0)
		if err != nil {
			t.Fatalf("%s: Records(%s): %v", what, u, err)
		}
		storetest.SameCallRecords(t, fmt.Sprintf("%s: Records(%s)", what, u), got, want)
		var paged []port.CallRecord
		for after := (port.RecordCursor{}); ; {
			page, err := s.Records(u, after, 2)
			if err != nil {
				t.Fatalf("%s: Records(%s, limit 2): %v", what, u, err)
			}
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			after = page[len(page)-1].Cursor()
		}
		storetest.SameCallRecords(t, fmt.Sprintf("%s: Records(%s) in pages of 2", what, u), paged, want)
	}
}

// migrates checks a store of an older schema at path that holds calls:
// sessions that only read list the same records as the store did and
// leave the file as it was; the first write migrates it to SchemaVersion,
// with every call once in calllog and the same records listed, before
// and after a reopen and a fold.
func migrates(t *testing.T, path string, calls []kernel.ClosedCall, oldBuckets ...string) {
	t.Helper()
	before, _ := os.ReadFile(path)
	readOnly(t, path, "a store of an older schema", func(s *bolt.Store) {
		sameUsersRecords(t, s, "not migrated", calls, port.Retention{})
	})

	for _, opts := range [][]bolt.Option{nil, {bolt.WithoutOpenCheck()}} {
		if err := os.WriteFile(path, before, 0o600); err != nil {
			t.Fatal(err)
		}
		s := mustOpen(t, path, opts...)
		c := storetest.Call(11, 11)
		if err := s.Append(port.Batch{Records: storetest.Records(11, 11), Closed: []kernel.ClosedCall{c}}); err != nil {
			t.Fatal(err)
		}
		all := append(slices.Clip(calls), c)
		sameUsersRecords(t, s, "migrated", all, port.Retention{})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if ver, _ := schemaOf(t, path); ver != bolt.SchemaVersion {
			t.Fatalf("after a write: schema %d, want %d", ver, bolt.SchemaVersion)
		}
		for _, b := range oldBuckets {
			if hasBucket(t, path, b) {
				t.Fatalf("after the migrating write the store still has a %q bucket", b)
			}
		}
		s = mustOpen(t, path)
		sameUsersRecords(t, s, "migrated, reopened", all, port.Retention{})
		if err := s.SaveSnapshot(11, []byte("snap")); err != nil { // folds the journal's calls
			t.Fatal(err)
		}
		sameUsersRecords(t, s, "migrated, all folded", all, port.Retention{})
		if _, n, err := bolt.CallLog(s); err != nil || n != len(all) {
			t.Fatalf("calllog holds %d calls (%v), want each of the %d once", n, err, len(all))
		}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A schema 4 store (each folded call filed under each participant in
// "records", the others in the journal) is read as it is and migrated by
// the first write: each call goes into calllog once.
func TestSchema4Migrates(t *testing.T) {
	path := dbPath(t)
	calls := migratingStore(t, path)
	if n := schema4(t, path); n != 5 {
		t.Fatalf("filed %d calls, want 5", n)
	}
	migrates(t, path, calls, "records")
}

// A schema 3 store (the calls not filed yet in a bucket "calls") is read
// as it is and migrated by the first write.
func TestSchema3Migrates(t *testing.T) {
	path := dbPath(t)
	calls := migratingStore(t, path)
	schema4(t, path)
	if n := schema3(t, path); n != 5 {
		t.Fatalf("the journal held %d unfiled calls, want 5", n)
	}
	migrates(t, path, calls, "records", "calls")
}

// frame returns a value framed for key in domain, as the store frames
// every value.
func frame(domain string, key, payload []byte) []byte {
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	sum := crc32.Update(crc32.Update(crc32.Update(0, castagnoli, []byte(domain)), castagnoli, key), castagnoli, payload)
	return append(binary.BigEndian.AppendUint32(nil, sum), payload...)
}

// eachCall calls fn with each call of a calls entry's value v.
func eachCall(t *testing.T, v []byte, fn func(call []byte)) {
	t.Helper()
	if v[4] != 0 {
		t.Fatal("not a calls entry")
	}
	for p := v[5:]; len(p) > 0; {
		_, n := binary.Varint(p) // the close time
		p = p[n:]
		l, n := binary.Uvarint(p)
		fn(p[n : n+int(l)])
		p = p[n+int(l):]
	}
}

// schema4 turns the closed store at path into one of schema 4: each call
// of calllog goes into "records", filed under each participant, and
// calllog goes. It returns how many calls it filed.
func schema4(t *testing.T, path string) int {
	t.Helper()
	filed := 0
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		rb, err := tx.CreateBucket([]byte("records"))
		if err != nil {
			return err
		}
		newest := int64(-1 << 63)
		err = tx.Bucket([]byte("calllog")).ForEach(func(_, v []byte) error {
			var ferr error
			eachCall(t, v, func(raw []byte) {
				c, err := kernel.DecodeClosedCall(raw)
				if err != nil {
					t.Fatal(err)
				}
				newest = max(newest, c.Closed)
				filed++
				key := port.RecordCursor{Closed: c.Closed, InviteID: c.InviteID, Index: c.Index}.AppendKey(nil)
				for u := range c.Participants {
					ub, err := rb.CreateBucketIfNotExists([]byte(u))
					if err == nil {
						err = ub.Put(key, frame(u, key, raw))
					}
					if err == nil {
						err = ub.SetSequence(ub.Sequence() + 1)
					}
					if err != nil {
						ferr = err
					}
				}
			})
			return ferr
		})
		if err != nil {
			return err
		}
		if filed > 0 {
			if err := rb.Put([]byte("\x00newest"), binary.BigEndian.AppendUint64(nil, uint64(newest))); err != nil {
				return err
			}
		}
		if err := tx.DeleteBucket([]byte("calllog")); err != nil {
			return err
		}
		return tx.Bucket([]byte("beckon")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, 4))
	})
	return filed
}

// schema3 turns the closed store at path, of schema 4, into one of schema
// 3: the closed calls of its journal's entries go into a bucket "calls",
// each under the next key, framed for that bucket, and the kept bucket
// goes. It returns how many calls it moved.
func schema3(t *testing.T, path string) int {
	t.Helper()
	moved := 0
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		cb, err := tx.CreateBucket([]byte("calls"))
		if err != nil {
			return err
		}
		jb := tx.Bucket([]byte("journal"))
		var entries [][]byte
		c := jb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v[4] != 0 {
				continue // a message
			}
			entries = append(entries, bytes.Clone(k))
			var perr error
			eachCall(t, v, func(call []byte) {
				moved++
				key := binary.BigEndian.AppendUint64(nil, uint64(moved))
				if err := cb.Put(key, frame("calls", key, call)); err != nil {
					perr = err
				}
			})
			if perr != nil {
				return perr
			}
		}
		for _, k := range entries {
			if err := jb.Delete(k); err != nil {
				return err
			}
		}
		if err := cb.SetSequence(uint64(moved)); err != nil {
			return err
		}
		if err := tx.DeleteBucket([]byte("kept")); err != nil {
			return err
		}
		return tx.Bucket([]byte("beckon")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, 3))
	})
	return moved
}

// hasBucket reports whether the closed store at path has a top-level
// bucket name.
func hasBucket(t *testing.T, path, name string) bool {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	has := false
	_ = db.View(func(tx *bbolt.Tx) error {
		has = tx.Bucket([]byte(name)) != nil
		return nil
	})
	return has
}

// A store refuses to open, with ErrCorrupt, a file whose schema and
// buckets disagree about where the unfiled calls are.
func TestSchemaCallsBucketChecked(t *testing.T) {
	for _, tc := range []struct {
		ver   uint64
		calls bool
	}{{3, false}, {bolt.SchemaVersion, true}} {
		t.Run(fmt.Sprintf("schema=%d/calls=%v", tc.ver, tc.calls), func(t *testing.T) {
			path := dbPath(t)
			if err := mustOpen(t, path).Close(); err != nil {
				t.Fatal(err)
			}
			db, err := bbolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bbolt.Tx) error {
				if tc.calls {
					if _, err := tx.CreateBucket([]byte("calls")); err != nil {
						return err
					}
				}
				return tx.Bucket([]byte("beckon")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, tc.ver))
			})
			if cerr := db.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, opts := range [][]bolt.Option{nil, {bolt.WithoutOpenCheck()}} {
				s, err := bolt.Open(path, opts...)
				if err == nil {
					s.Close()
				}
				wantErr(t, err, bolt.ErrCorrupt, path)
			}
		})
	}
}
