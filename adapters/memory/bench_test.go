package memory_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/beckonhq/beckon/adapters/memory"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// BenchmarkStoreAppend appends batches of 64 invites, each with its
// history message, to 64 conversations.
func BenchmarkStoreAppend(b *testing.B) {
	s := memory.NewStore()
	const batch = 64
	recs := make([]kernel.Record, batch)
	hist := make([]kernel.History, batch)
	for i := range batch {
		inviter, invitee := "a"+strconv.Itoa(i), "b"+strconv.Itoa(i)
		in := kernel.Invite(inviter, invitee, "0123456789abcdef", 30)
		in.InviteID = "9b2c51e8-3f0a-4d6e-8a57-0c1f2e3d4b5a"
		recs[i] = kernel.Record{At: time.Unix(1_700_000_000, 0), Input: in}
		hist[i] = kernel.History{Conv: kernel.C2C(inviter, invitee), Sender: inviter, At: 1, Info: kernel.SignalingInfo{
			BusinessID: 1, InviteID: in.InviteID, Inviter: inviter, InviteeList: in.Invitees, Data: in.Data, Timeout: 30, ActionType: 1}}
	}
	var index uint64
	b.ReportAllocs()
	for b.Loop() {
		for i := range recs {
			index++
			recs[i].Index = index
		}
		if err := s.Append(port.Batch{Records: recs, History: hist}); err != nil {
			b.Fatal(err)
		}
		if index%(batch*1024) == 0 {
			s.SaveSnapshot(index, nil)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(index), "ns/record")
}

// BenchmarkHubDeliver delivers events to 128 sessions whose handlers do
// nothing.
func BenchmarkHubDeliver(b *testing.B) {
	h := memory.NewHub()
	defer h.Close()
	const sessions = 128
	for i := range sessions {
		if _, err := h.Register("u"+strconv.Itoa(i), "s", func(kernel.Event) {}); err != nil {
			b.Fatal(err)
		}
	}
	ev := kernel.Event{Type: kernel.EventAccepted, InviteID: "x", Invitee: "u1"}
	users := make([]string, sessions)
	for i := range users {
		users[i] = "u" + strconv.Itoa(i)
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Deliver(users[i%sessions], "s", ev); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
