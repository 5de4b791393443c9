package memory_test

import (
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/beckonhq/beckon/adapters/memory"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// historyOf is one history message of conv whose data is data.
func historyOf(conv kernel.Conversation, data string) kernel.History {
	return kernel.History{Conv: conv, Sender: "alice", At: 1, Info: kernel.SignalingInfo{
		BusinessID: 1, InviteID: "c1", Inviter: "alice", InviteeList: []string{"bob"}, Data: data,
		ActionType: kernel.ActionModify}}
}

// A conversation with one message must cost about that message, not a
// whole chunk of the store's log: a server has a conversation per pair of
// users who ever called.
func TestStoreConversationCost(t *testing.T) {
	const convs = 2000
	s := memory.NewStore()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range convs {
		conv := kernel.C2C("a"+strconv.Itoa(i), "b"+strconv.Itoa(i))
		if err := s.Append(port.Batch{History: []kernel.History{historyOf(conv, "d")}}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	const limit = 1 << 10
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / convs
	t.Logf("%d bytes per conversation", per)
	if per > limit {
		t.Errorf("a conversation with one message costs %d bytes of heap, want <= %d", per, limit)
	}
}

// A long conversation spans many chunks of data and of references; every
// message must come back, in order, whole, and paging must cross the chunk
// boundaries.
func TestStoreLongHistory(t *testing.T) {
	s := memory.NewStore()
	conv := kernel.C2C("alice", "bob")
	const n = 9000 // > 2 chunks of references, > 64 KiB of data
	big := strings.Repeat("x", 70<<10)
	var batch []kernel.History
	for i := 1; i <= n; i++ {
		data := strconv.Itoa(i)
		if i == 5000 {
			data = big // longer than a chunk: a chunk of its own
		}
		batch = append(batch, historyOf(conv, data))
		if len(batch) == 100 || i == n {
			if err := s.Append(port.Batch{History: batch}); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	var after uint64
	for after < n {
		page, err := s.History(conv, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			t.Fatalf("history after %d: empty page, want messages up to %d", after, n)
		}
		for _, m := range page {
			after++
			if m.Seq != after {
				t.Fatalf("got Seq %d, want %d", m.Seq, after)
			}
			info, err := kernel.GetSignalingInfo(m.Payload)
			want := strconv.Itoa(int(after))
			if after == 5000 {
				want = big
			}
			if err != nil || info.Data != want {
				t.Fatalf("message %d: got data of %d bytes (%.20q), err %v; want %.20q", after, len(info.Data), info.Data, err, want)
			}
		}
	}
}
