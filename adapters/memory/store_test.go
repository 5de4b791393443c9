package memory_test

import (
	"errors"
	"testing"
	"time"

	"github.com/beckonhq/beckon/adapters/memory"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

func record(index uint64, in kernel.Input) kernel.Record {
	return kernel.Record{Index: index, At: time.Unix(int64(index), 0), Input: in}
}

func TestStoreLogAndSnapshot(t *testing.T) {
	s := memory.NewStore()
	idx, snap, recs, err := s.Load()
	if err != nil || idx != 0 || snap != nil || len(recs) != 0 {
		t.Fatalf("empty store: %d %v %v %v", idx, snap, recs, err)
	}
	invitees := []string{"bob"}
	in := kernel.Invite("alice", "bob", "d", 30)
	in.Invitees = invitees
	in.Push = &kernel.PushInfo{Desc: "ring"}
	b := port.Batch{Records: []kernel.Record{record(1, in), record(2, kernel.Connect("bob", "s"))}}
	if err := s.Append(b); err != nil {
		t.Fatal(err)
	}
	invitees[0], in.Push.Desc = "mallory", "changed" // the store kept copies
	if err := s.Append(port.Batch{Records: []kernel.Record{record(4, kernel.Input{Op: kernel.OpTick})}}); err == nil {
		t.Error("a gap in the log was accepted")
	}
	if err := s.Append(port.Batch{Records: []kernel.Record{record(3, kernel.Input{Op: kernel.OpTick})}}); err != nil {
		t.Fatal(err)
	}
	_, _, recs, err = s.Load()
	if err != nil || len(recs) != 3 || recs[0].Input.Invitees[0] != "bob" || recs[0].Input.Push.Desc != "ring" ||
		!recs[0].At.Equal(time.Unix(1, 0)) || recs[2].Index != 3 {
		t.Fatalf("load: %+v %v", recs, err)
	}
	recs[1].Input.User = "changed" // the caller owns what Load returns

	if err := s.SaveSnapshot(4, []byte("x")); err == nil {
		t.Error("a snapshot past the log was accepted")
	}
	snapshot := []byte("snap")
	if err := s.SaveSnapshot(2, snapshot); err != nil {
		t.Fatal(err)
	}
	snapshot[0] = 'X'
	idx, snap, recs, err = s.Load()
	if err != nil || idx != 2 || string(snap) != "snap" || len(recs) != 1 || recs[0].Index != 3 {
		t.Fatalf("after snapshot: %d %q %+v %v", idx, snap, recs, err)
	}
	if err := s.SaveSnapshot(1, nil); err == nil {
		t.Error("a snapshot behind the current one was accepted")
	}
	if err := s.SaveSnapshot(3, []byte("all")); err != nil {
		t.Fatal(err)
	}
	// Every record is covered: the index says where the log goes on.
	idx, _, recs, _ = s.Load()
	if idx != 3 || len(recs) != 0 {
		t.Fatalf("after full snapshot: %d %d", idx, len(recs))
	}
	if err := s.Append(port.Batch{Records: []kernel.Record{record(4, kernel.Input{Op: kernel.OpTick})}}); err != nil {
		t.Fatal(err)
	}
}

func TestStoreHistory(t *testing.T) {
	s := memory.NewStore()
	conv := kernel.C2C("bob", "alice")
	var hist []kernel.History
	for i, action := range []kernel.Action{kernel.ActionInvite, kernel.ActionModify, kernel.ActionAccept} {
		hist = append(hist, kernel.History{Conv: conv, Sender: "alice", At: int64(i) * 1e9, Info: kernel.SignalingInfo{
			BusinessID: 1, InviteID: "c1", Inviter: "alice", InviteeList: []string{"bob"}, Data: "d",
			Timeout: 30, ActionType: action}})
	}
	hist = append(hist, kernel.History{Conv: kernel.GroupConversation("g"), Sender: "x",
		Info: kernel.SignalingInfo{BusinessID: 1, InviteID: "c2", GroupID: "g", Inviter: "x", ActionType: kernel.ActionInvite}})
	if err := s.Append(port.Batch{History: hist}); err != nil {
		t.Fatal(err)
	}
	hist[0].Info.InviteeList[0] = "mallory"

	msgs, err := s.History(kernel.C2C("alice", "bob"), 0, 0)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("history: %v %v", msgs, err)
	}
	info, err := kernel.GetSignalingInfo(msgs[0].Payload)
	if err != nil || info.InviteeList[0] != "bob" || info.ActionType != kernel.ActionInvite || info.Timeout != 30 {
		t.Errorf("first message: %+v %v", info, err)
	}
	if msgs[2].Seq != 3 || !msgs[2].At.Equal(time.Unix(2, 0)) || msgs[2].Sender != "alice" {
		t.Errorf("third message: %+v", msgs[2])
	}
	page, _ := s.History(conv, 1, 1)
	if len(page) != 1 || page[0].Seq != 2 {
		t.Errorf("page after 1: %+v", page)
	}
	if rest, _ := s.History(conv, 3, 0); len(rest) != 0 {
		t.Errorf("after the end: %+v", rest)
	}
	group, _ := s.History(kernel.GroupConversation("g"), 0, 0)
	if info, err := kernel.GetSignalingInfo(group[0].Payload); err != nil || info.GroupID != "g" || len(info.InviteeList) != 0 {
		t.Errorf("group message: %+v %v", info, err)
	}
}

func TestStoreClose(t *testing.T) {
	s := memory.NewStore()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := s.Load()
	errs := []error{err, s.Append(port.Batch{}), s.SaveSnapshot(0, nil)}
	_, err = s.History(kernel.C2C("a", "b"), 0, 0)
	errs = append(errs, err)
	for i, err := range errs {
		if !errors.Is(err, port.ErrClosed) {
			t.Errorf("call %d after Close: %v", i, err)
		}
	}
}
