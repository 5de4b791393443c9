package bolt_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

var _ beckon.Store = (*bolt.Store)(nil)

// dbPath returns a path for a new store in a test's temporary directory.
func dbPath(t testing.TB) string { return filepath.Join(t.TempDir(), "beckon.db") }

// mustOpen opens path or fails the test.
func mustOpen(t testing.TB, path string, opts ...bolt.Option) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// rec returns a record with Index i whose content varies with i.
func rec(i uint64) kernel.Record {
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

// recs returns records from..to inclusive.
func recs(from, to uint64) []kernel.Record {
	var out []kernel.Record
	for i := from; i <= to; i++ {
		out = append(out, rec(i))
	}
	return out
}

// hist returns the i-th history message of conversation c.
func hist(c kernel.Conversation, i int) kernel.History {
	inviter := c.A
	if c.Group != "" {
		inviter = "carol"
	}
	return kernel.History{
		Conv: c, Sender: inviter, At: int64(1_700_000_000_000_000_000 + i),
		Info: kernel.SignalingInfo{
			BusinessID: kernel.BusinessID, InviteID: fmt.Sprintf("inv-%d", i), GroupID: c.Group,
			Inviter: inviter, InviteeList: []string{"bob"}, Data: strings.Repeat("x", i%50),
			Timeout: 30, ActionType: kernel.Action(1 + i%6),
		},
	}
}

// want returns the HistoryMessage the store should give for h at seq.
func want(t testing.TB, h kernel.History, seq uint64) port.HistoryMessage {
	t.Helper()
	p, err := kernel.MarshalSignalingInfo(h.Info)
	if err != nil {
		t.Fatal(err)
	}
	return port.HistoryMessage{Seq: seq, Sender: h.Sender, At: time.Unix(0, h.At), Payload: p}
}

// mustLoad loads or fails.
func mustLoad(t testing.TB, s *bolt.Store) (uint64, []byte, []kernel.Record) {
	t.Helper()
	i, snap, rs, err := s.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return i, snap, rs
}

// sameRecords compares records field by field (times with Equal).
func sameRecords(t testing.TB, got, want []kernel.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Index != w.Index || !g.At.Equal(w.At) || !reflect.DeepEqual(g.Input, w.Input) {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// sameHistory compares history messages (times with Equal).
func sameHistory(t testing.TB, got, want []port.HistoryMessage) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d history messages, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.Sender != w.Sender || !g.At.Equal(w.At) || string(g.Payload) != string(w.Payload) {
			t.Fatalf("message %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// wantErr fails unless err wraps target and names path.
func wantErr(t testing.TB, err, target error, path string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want one wrapping %v", err, target)
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q does not name the path %s", err, path)
	}
}
