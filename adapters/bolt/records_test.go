package bolt_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"reflect"
	"testing"

	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	"github.com/beckonhq/beckon/port/storetest"
	bbolt "go.etcd.io/bbolt"
)

// A schema 3 store (the calls not filed yet in a bucket "calls") is read
// as it is, left unchanged by a session that only reads, and migrated by
// the first write, which files those calls: every user lists the same
// records before and after.
func TestSchema3Migrates(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path)
	var calls []kernel.ClosedCall
	conv := kernel.C2C("alice", "bob")
	appendCall := func(i int) {
		t.Helper()
		c := storetest.Call(uint64(i), i)
		b := port.Batch{Records: storetest.Records(uint64(i), uint64(i)), History: []kernel.History{storetest.History(conv, i)},
			Closed: []kernel.ClosedCall{c}}
		if err := s.Append(b); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c)
	}
	for i := 1; i <= 10; i++ {
		appendCall(i)
		if i == 5 {
			if err := s.SaveSnapshot(5, []byte("snap")); err != nil { // files calls 1..5
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := schema3(t, path); n != 5 {
		t.Fatalf("the journal held %d unfiled calls, want 5", n)
	}
	users := []string{"alice", "bob", "carol", "dave"}
	sameUsersRecords := func(s *bolt.Store, what string) {
		t.Helper()
		for _, u := range users {
			got, err := s.Records(u, port.RecordCursor{}, 0)
			if err != nil {
				t.Fatalf("%s: Records(%s): %v", what, u, err)
			}
			want := storetest.WantRecords(u, calls, port.Retention{})
			if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
				t.Fatalf("%s: Records(%s):\n got %+v\nwant %+v", what, u, got, want)
			}
		}
	}

	before, _ := os.ReadFile(path)
	for _, opts := range [][]bolt.Option{nil, {bolt.WithoutOpenCheck()}} {
		s = mustOpen(t, path, opts...)
		sameUsersRecords(s, "schema 3")
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("a session that only read a schema 3 store changed it")
	}

	s = mustOpen(t, path)
	appendCall(11)
	sameUsersRecords(s, "migrated")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if ver, _ := schemaOf(t, path); ver != bolt.SchemaVersion {
		t.Fatalf("after a write: schema %d, want %d", ver, bolt.SchemaVersion)
	}
	if has := hasBucket(t, path, "calls"); has {
		t.Fatal("after the migrating write the store still has a \"calls\" bucket")
	}
	s = mustOpen(t, path)
	defer s.Close()
	sameUsersRecords(s, "migrated, reopened")
	if err := s.SaveSnapshot(11, []byte("snap")); err != nil { // files call 11
		t.Fatal(err)
	}
	sameUsersRecords(s, "migrated, all filed")
}

// schema3 turns the closed store at path into one of schema 3: the closed
// calls of its journal's entries go into a bucket "calls", each under the
// next key, framed for that bucket, and the kept bucket goes. It returns
// how many calls it moved.
func schema3(t *testing.T, path string) int {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	moved := 0
	err = db.Update(func(tx *bbolt.Tx) error {
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
			for p := v[5:]; len(p) > 0; {
				_, n := binary.Varint(p) // the close time
				p = p[n:]
				l, n := binary.Uvarint(p)
				call := p[n : n+int(l)]
				p = p[n+int(l):]
				moved++
				key := binary.BigEndian.AppendUint64(nil, uint64(moved))
				sum := crc32.Update(crc32.Update(crc32.Update(0, castagnoli, []byte("calls")), castagnoli, key), castagnoli, call)
				if err := cb.Put(key, append(binary.BigEndian.AppendUint32(nil, sum), call...)); err != nil {
					return err
				}
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
	if err != nil {
		t.Fatal(err)
	}
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
