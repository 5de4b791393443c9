package beckon_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beckonhq/beckon"
)

// Every test runs in a synctest bubble: time is fake, and synctest.Wait
// returns once every callback of the events so far has run.

func TestINV1_INV5_ACC3_InviteAndAccept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		alice, ra := login(t, rt, "alice", "phone")
		bob, rb := login(t, rt, "bob", "phone")
		_, rc := login(t, rt, "carol", "phone")

		id, err := alice.Invite(ctx, "bob", "video")
		must(t, err)
		if id != "c1" {
			t.Fatalf("invite ID %q, want c1", id)
		}
		synctest.Wait()
		want(t, "alice (inviter hears no invitation, INV-5)", ra)
		want(t, "bob", rb, "new c1 from=alice group= invitees=bob video")

		must(t, bob.Accept(ctx, id, "ok"))
		synctest.Wait()
		want(t, "alice", ra, "accepted c1 by=bob ok")
		want(t, "bob", rb, "new c1 from=alice group= invitees=bob video", "accepted c1 by=bob ok")
		want(t, "carol (not a participant)", rc)

		// END-1: the only invitee answered, so the invitation is closed.
		wantCode(t, "accept again (ACC-2)", bob.Accept(ctx, id, ""), 8010)
		wantCode(t, "cancel after close (CAN-2)", alice.Cancel(ctx, id, ""), 8010)
		if got := history(t, rt, beckon.C2C("alice", "bob")); got != "invite:alice accept:bob" {
			t.Errorf("history %q", got)
		}
	})
}

func TestINV2_InviteInGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		alice, ra := login(t, rt, "alice", "phone")
		_, rb := login(t, rt, "bob", "phone")
		_, rc := login(t, rt, "carol", "phone")

		_, err := alice.InviteInGroup(ctx, "team", []string{"bob"}, "")
		wantCode(t, "unknown group", err, 10010)
		must(t, rt.SetGroup(ctx, "team", []string{"bob", "carol"}))
		_, err = alice.InviteInGroup(ctx, "team", []string{"bob"}, "")
		wantCode(t, "inviter not a member", err, 10007)
		must(t, rt.JoinGroup(ctx, "team", "alice"))
		_, err = alice.InviteInGroup(ctx, "team", []string{"bob", "dave"}, "")
		wantCode(t, "invitee not a member", err, 6017)
		_, err = alice.InviteInGroup(ctx, "team", []string{"bob"}, "", beckon.WithPush(beckon.PushInfo{Desc: "x"}))
		wantCode(t, "group invite with push info", err, 6017)

		id, err := alice.InviteInGroup(ctx, "team", []string{"bob", "carol"}, "standup")
		must(t, err)
		synctest.Wait()
		want(t, "alice", ra)
		want(t, "bob", rb, "new "+id+" from=alice group=team invitees=bob,carol standup")
		want(t, "carol", rc, "new "+id+" from=alice group=team invitees=bob,carol standup")

		must(t, rt.LeaveGroup(ctx, "team", "carol")) // membership changes never touch invitations made
		wantCode(t, "leave unknown group", rt.LeaveGroup(ctx, "nope", "carol"), 10010)
		if got := history(t, rt, beckon.GroupConversation("team")); got != "invite:alice" {
			t.Errorf("group history %q", got)
		}
	})
}

func TestCAN1_CAN3_Cancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		alice, ra := login(t, rt, "alice", "phone")
		bob, rb := login(t, rt, "bob", "phone")
		carol, _ := login(t, rt, "carol", "phone")
		id, err := alice.Invite(ctx, "bob", "call")
		must(t, err)

		wantCode(t, "invitee cancels", bob.Cancel(ctx, id, ""), 8011)
		wantCode(t, "stranger cancels", carol.Cancel(ctx, id, ""), 8010)
		must(t, alice.Cancel(ctx, id, "sorry"))
		synctest.Wait()
		want(t, "alice", ra, "cancelled c1 by=alice sorry")
		want(t, "bob", rb, "new c1 from=alice group= invitees=bob call", "cancelled c1 by=alice sorry")
		wantCode(t, "accept after cancel (ACC-2)", bob.Accept(ctx, id, ""), 8010)
		wantCode(t, "cancel twice", alice.Cancel(ctx, id, ""), 8010)
	})
}

func TestREJ1_REJ3_END1_Reject(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		must(t, rt.SetGroup(ctx, "g", []string{"alice", "bob", "carol"}))
		alice, ra := login(t, rt, "alice", "phone")
		bob, rb := login(t, rt, "bob", "phone")
		carol, rc := login(t, rt, "carol", "phone")
		id, err := alice.InviteInGroup(ctx, "g", []string{"bob", "carol"}, "")
		must(t, err)

		wantCode(t, "inviter rejects", alice.Reject(ctx, id, ""), 8010)
		must(t, bob.Reject(ctx, id, "busy"))
		wantCode(t, "reject twice (REJ-2)", bob.Reject(ctx, id, ""), 8010)
		must(t, carol.Accept(ctx, id, "here"))
		wantCode(t, "modify once closed (END-1)", alice.Modify(ctx, id, "x"), 8010)
		synctest.Wait()
		newInv := "new c1 from=alice group=g invitees=bob,carol"
		want(t, "alice", ra, "rejected c1 by=bob busy", "accepted c1 by=carol here")
		want(t, "bob", rb, newInv, "rejected c1 by=bob busy", "accepted c1 by=carol here")
		want(t, "carol", rc, newInv, "rejected c1 by=bob busy", "accepted c1 by=carol here")
		if got := history(t, rt, beckon.GroupConversation("g")); got != "invite:alice reject:bob accept:carol" {
			t.Errorf("history %q", got)
		}
	})
}

func TestMOD1_MOD3_SYN1_ModifyThenLateLogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		alice, ra := login(t, rt, "alice", "phone")
		bob, rb := login(t, rt, "bob", "phone")
		id, err := alice.Invite(ctx, "bob", "v1", beckon.TimeoutSeconds(60))
		must(t, err)
		must(t, bob.Modify(ctx, id, "v2"))
		synctest.Wait()
		want(t, "alice", ra, "modified c1 v2")
		want(t, "bob", rb, "new c1 from=alice group= invitees=bob v1", "modified c1 v2")

		// SYN-1: a session logging in later gets the invitation with the current data.
		_, rb2 := login(t, rt, "bob", "laptop")
		synctest.Wait()
		want(t, "bob/laptop", rb2, "new c1 from=alice group= invitees=bob v2")

		// MOD-1: the deadline did not move.
		time.Sleep(60 * time.Second)
		synctest.Wait()
		want(t, "bob/laptop", rb2, "new c1 from=alice group= invitees=bob v2", "timeout c1 invitees=bob")
	})
}

func TestSYN1_NeverForClosedOrNotPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		must(t, rt.SetGroup(ctx, "g", []string{"alice", "bob", "carol"}))
		alice, _ := login(t, rt, "alice", "phone")
		bob, _ := login(t, rt, "bob", "phone")
		cancelled, err := alice.Invite(ctx, "carol", "cancelled")
		must(t, err)
		must(t, alice.Cancel(ctx, cancelled, ""))
		_, err = alice.Invite(ctx, "carol", "expires", beckon.TimeoutSeconds(5))
		must(t, err)
		answered, err := alice.InviteInGroup(ctx, "g", []string{"bob", "carol"}, "group")
		must(t, err)
		_, err = alice.Invite(ctx, "carol", "online only", beckon.OnlineUserOnly())
		must(t, err)
		pending, err := alice.Invite(ctx, "carol", "pending")
		must(t, err)
		must(t, bob.Accept(ctx, answered, ""))
		time.Sleep(10 * time.Second) // the 5 s invitation expires

		carol, rc := login(t, rt, "carol", "phone")
		synctest.Wait()
		want(t, "carol", rc,
			"new "+answered+" from=alice group=g invitees=bob,carol group",
			"new "+pending+" from=alice group= invitees=carol pending")

		// Once carol answered, her next device is not rung for it.
		must(t, carol.Reject(ctx, answered, ""))
		_, rc2 := login(t, rt, "carol", "tablet")
		synctest.Wait()
		want(t, "carol/tablet", rc2, "new "+pending+" from=alice group= invitees=carol pending")
	})
}

func TestDLV1_EveryDeviceHearsAccept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		alice, ra1 := login(t, rt, "alice", "phone")
		_, ra2 := login(t, rt, "alice", "laptop")
		bob, rb1 := login(t, rt, "bob", "phone")
		_, rb2 := login(t, rt, "bob", "laptop")
		_, rc := login(t, rt, "carol", "phone")

		id, err := alice.Invite(ctx, "bob", "video")
		must(t, err)
		must(t, bob.Accept(ctx, id, "from phone"))
		synctest.Wait()
		inviter := []string{"accepted c1 by=bob from phone"}
		invitee := []string{"new c1 from=alice group= invitees=bob video", "accepted c1 by=bob from phone"}
		want(t, "alice/phone", ra1, inviter...)
		want(t, "alice/laptop", ra2, inviter...)
		want(t, "bob/phone (the device that acted)", rb1, invitee...)
		want(t, "bob/laptop (stops ringing)", rb2, invitee...)
		want(t, "carol", rc)
	})
}

func TestDLV2_OrderPerRecipient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		alice, ra := login(t, rt, "alice", "phone")
		bob, rb := login(t, rt, "bob", "phone")
		id, err := alice.Invite(ctx, "bob", "0")
		must(t, err)
		wantA, wantB := []string{}, []string{"new c1 from=alice group= invitees=bob 0"}
		for i := 1; i <= 50; i++ {
			c := alice
			if i%2 == 0 {
				c = bob
			}
			data := string(rune('0' + i%10))
			must(t, c.Modify(ctx, id, data))
			wantA = append(wantA, "modified c1 "+data)
			wantB = append(wantB, "modified c1 "+data)
		}
		must(t, alice.Cancel(ctx, id, "bye"))
		wantA = append(wantA, "cancelled c1 by=alice bye")
		wantB = append(wantB, "cancelled c1 by=alice bye")
		wantCode(t, "modify after cancel", bob.Modify(ctx, id, "late"), 8010)
		synctest.Wait()
		want(t, "alice", ra, wantA...)
		want(t, "bob", rb, wantB...)
	})
}

func TestONL1_ONL2_ONL3_OnlineOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		alice, ra := login(t, rt, "alice", "phone")
		bob, rb := login(t, rt, "bob", "phone")
		online, err := alice.Invite(ctx, "bob", "now", beckon.OnlineUserOnly(), beckon.TimeoutSeconds(5))
		must(t, err)
		offline, err := alice.Invite(ctx, "carol", "never", beckon.OnlineUserOnly())
		must(t, err)
		wantCode(t, "modify online-only (ONL-3)", alice.Modify(ctx, online, "x"), 8011)

		_, rc := login(t, rt, "carol", "phone")
		synctest.Wait()
		want(t, "carol, offline at invite time (ONL-1)", rc)
		must(t, alice.Cancel(ctx, offline, ""))
		must(t, bob.Accept(ctx, online, ""))
		synctest.Wait()
		want(t, "bob", rb, "new c1 from=alice group= invitees=bob now", "accepted c1 by=bob")
		want(t, "alice", ra, "cancelled c2 by=alice", "accepted c1 by=bob")
		want(t, "carol, offline at invite time, hears nothing of it, not even its cancel (ONL-1)", rc)
		for _, conv := range []beckon.Conversation{beckon.C2C("alice", "bob"), beckon.C2C("alice", "carol")} {
			if got := history(t, rt, conv); got != "" {
				t.Errorf("ONL-2: history of %s is %q, want none", conv, got)
			}
		}
	})
}

func TestTMO1_TMO2_TimeoutOnTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		must(t, rt.SetGroup(ctx, "g", []string{"alice", "bob", "carol", "dave"}))
		alice, ra := login(t, rt, "alice", "phone")
		bob, rb := login(t, rt, "bob", "phone")
		_, rc := login(t, rt, "carol", "phone")
		start := time.Now()
		id, err := alice.InviteInGroup(ctx, "g", []string{"bob", "carol", "dave"}, "", beckon.TimeoutSeconds(30))
		must(t, err)
		must(t, bob.Accept(ctx, id, ""))

		time.Sleep(29 * time.Second)
		synctest.Wait()
		if n := len(ra.got()); n != 1 {
			t.Fatalf("after 29 s alice heard %d events, want only the accept", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if d := time.Since(start); d != 30*time.Second {
			t.Errorf("timed out after %v", d)
		}
		want(t, "alice (every invitee that timed out)", ra, "accepted c1 by=bob", "timeout c1 invitees=carol,dave")
		want(t, "carol (itself only)", rc, "new c1 from=alice group=g invitees=bob,carol,dave", "accepted c1 by=bob", "timeout c1 invitees=carol")
		want(t, "bob (accepted: no timeout)", rb, "new c1 from=alice group=g invitees=bob,carol,dave", "accepted c1 by=bob")
		if got := history(t, rt, beckon.GroupConversation("g")); got != "invite:alice accept:bob timeout:alice" {
			t.Errorf("history %q", got)
		}
		time.Sleep(time.Hour) // exactly once
		synctest.Wait()
		if n := len(ra.got()); n != 2 {
			t.Errorf("alice heard %d events, want 2", n)
		}
	})
}

func TestTMO3_ZeroTimeoutNeverTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		alice, ra := login(t, rt, "alice", "phone")
		bob, _ := login(t, rt, "bob", "phone")
		id, err := alice.Invite(ctx, "bob", "")
		must(t, err)
		time.Sleep(1000 * time.Hour)
		must(t, bob.Accept(ctx, id, "still here"))
		synctest.Wait()
		want(t, "alice", ra, "accepted c1 by=bob still here")
	})
}

func TestIDM1_RetryWithRequestID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		alice, _ := login(t, rt, "alice", "phone")
		bob, rb := login(t, rt, "bob", "phone")
		id1, err := alice.Invite(ctx, "bob", "", beckon.WithRequestID("r1"))
		must(t, err)
		id2, err := alice.Invite(ctx, "bob", "", beckon.WithRequestID("r1"))
		must(t, err)
		if id1 != id2 {
			t.Errorf("retry got invite ID %q, first %q", id2, id1)
		}
		must(t, bob.Accept(ctx, id1, "", beckon.WithRequestID("a1")))
		must(t, bob.Accept(ctx, id1, "", beckon.WithRequestID("a1"))) // the retry succeeds as the first did
		wantCode(t, "a new accept without the request ID", bob.Accept(ctx, id1, ""), 8010)
		synctest.Wait()
		want(t, "bob", rb, "new c1 from=alice group= invitees=bob", "accepted c1 by=bob")
	})
}

func TestSYN2_PushHookForOfflineInvitee(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var pushes []beckon.PushRequest
		hook := beckon.PushFunc(func(req beckon.PushRequest) error { pushes = append(pushes, req); return nil })
		rt := newRuntime(t, beckon.WithPushHook(hook))
		alice, _ := login(t, rt, "alice", "phone")
		login(t, rt, "bob", "phone")
		push := beckon.WithPush(beckon.PushInfo{Title: "Alice", Desc: "is calling"})
		_, err := alice.Invite(ctx, "bob", "", push)
		must(t, err)
		_, err = alice.Invite(ctx, "carol", "hi", push)
		must(t, err)
		_, err = alice.Invite(ctx, "dave", "", push, beckon.OnlineUserOnly())
		wantCode(t, "push info on an online-only invite (INV-7)", err, 6017)
		_, err = alice.Invite(ctx, "erin", "", beckon.WithPush(beckon.PushInfo{Title: "no desc"}))
		wantCode(t, "push without desc (INV-4)", err, 6017)
		if len(pushes) != 1 || pushes[0].To != "carol" || pushes[0].Info.Desc != "is calling" || pushes[0].Data != "hi" {
			t.Errorf("pushes %+v, want one to carol", pushes)
		}
	})
}

func TestHIS1_HIS3_HistoryThroughTheClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		alice, _ := login(t, rt, "alice", "phone")
		bob, _ := login(t, rt, "bob", "phone")
		id, err := alice.Invite(ctx, "bob", "d", beckon.TimeoutSeconds(10))
		must(t, err)
		must(t, alice.Modify(ctx, id, "d2"))
		must(t, bob.Reject(ctx, id, "no"))
		msgs, err := bob.History("alice", 1, 1)
		must(t, err)
		if len(msgs) != 1 || msgs[0].Seq != 2 || msgs[0].Sender != "alice" {
			t.Fatalf("page after 1: %+v", msgs)
		}
		info, err := bob.GetSignalingInfo(msgs[0].Payload)
		must(t, err)
		if info.ActionType != beckon.ActionModify || info.Data != "d2" || info.InviteID != id || info.Timeout != 10 {
			t.Errorf("info %+v", info)
		}
		_, err = bob.GetSignalingInfo([]byte(`{"businessID":2}`))
		if !errors.Is(err, beckon.ErrNotSignalingMessage) {
			t.Errorf("not a signaling message: %v", err)
		}
		all, err := alice.History("bob", 0, 0)
		must(t, err)
		if len(all) != 3 {
			t.Errorf("%d messages, want 3", len(all))
		}
		grp, err := alice.GroupHistory("none", 0, 0)
		wantCode(t, "history of an unknown group (HIS-4)", err, 10010)
		if len(grp) != 0 {
			t.Errorf("unknown group history: got %v, want nothing", grp)
		}
	})
}

func TestLoginAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		alice, _ := login(t, rt, "alice", "phone")
		_, err := rt.Login(ctx, "alice", "phone", beckon.ListenerFuncs{})
		if !errors.Is(err, beckon.ErrSessionInUse) {
			t.Errorf("second login of one session: %v", err)
		}
		_, err = rt.Login(ctx, "alice", "", beckon.ListenerFuncs{})
		wantCode(t, "empty session ID", err, 6017)
		_, err = rt.Login(ctx, "", "s", beckon.ListenerFuncs{})
		wantCode(t, "empty user ID", err, 6017)

		bob, rb := login(t, rt, "bob", "phone")
		must(t, bob.Close())
		must(t, bob.Close()) // twice is fine
		_, err = bob.Invite(ctx, "alice", "")
		wantCode(t, "call after client Close (not logged in)", err, 6014)
		if !errors.Is(err, beckon.ErrNotLoggedIn) {
			t.Errorf("err %v, want ErrNotLoggedIn", err)
		}
		_, err = bob.History("alice", 0, 0)
		wantCode(t, "history after Close", err, 6014)

		// bob is offline now: nothing reaches the closed client, and the
		// invitation waits for his next login (SYN-1).
		_, err = alice.Invite(ctx, "bob", "later")
		must(t, err)
		synctest.Wait()
		want(t, "closed bob", rb)
		_, rb2 := login(t, rt, "bob", "phone") // the session ID is free again
		synctest.Wait()
		want(t, "bob again", rb2, "new c1 from=alice group= invitees=bob later")

		must(t, rt.Close())
		must(t, rt.Close())
		_, err = alice.Invite(ctx, "bob", "")
		if !errors.Is(err, beckon.ErrClosed) || beckon.Code(err) != 6013 {
			t.Errorf("invite after runtime Close: %v (code %d)", err, beckon.Code(err))
		}
		must(t, alice.Close()) // closing a client of a closed runtime is fine
		_, err = rt.Login(ctx, "carol", "phone", beckon.ListenerFuncs{})
		if !errors.Is(err, beckon.ErrClosed) {
			t.Errorf("login after Close: %v", err)
		}
		if !errors.Is(rt.Err(), beckon.ErrClosed) {
			t.Errorf("Err after Close: %v", rt.Err())
		}
	})
}

func TestCancelledContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		alice, _ := login(t, rt, "alice", "phone")
		done, cancel := contextWithCancel()
		cancel()
		_, err := alice.Invite(done, "bob", "")
		if !errors.Is(err, errCanceled) {
			t.Fatalf("invite with a cancelled context: %v", err)
		}
		id, err := alice.Invite(ctx, "bob", "")
		must(t, err)
		if id != "c1" {
			t.Errorf("the cancelled invite drew an ID: next is %q", id)
		}
	})
}

// A nil option, or one the operation does not take, fails the call with
// 6017 and a message naming it; nothing is applied.
func TestCallOptionsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		must(t, rt.SetGroup(ctx, "g", []string{"alice", "bob"}))
		alice, ra := login(t, rt, "alice", "phone")
		bob, rb := login(t, rt, "bob", "phone")
		id, err := alice.Invite(ctx, "bob", "")
		must(t, err)
		synctest.Wait()
		want(t, "bob", rb, "new c1 from=alice group= invitees=bob")

		push := beckon.WithPush(beckon.PushInfo{Desc: "x"})
		for _, c := range []struct {
			what, inMsg string
			call        func() error
		}{
			{"Invite with a nil option", "nil CallOption", func() error {
				_, err := alice.Invite(ctx, "bob", "", beckon.TimeoutSeconds(5), nil)
				return err
			}},
			{"Accept with a nil option", "nil CallOption", func() error { return bob.Accept(ctx, id, "", nil) }},
			{"Accept with a timeout", "Accept does not take", func() error { return bob.Accept(ctx, id, "", beckon.TimeoutSeconds(5)) }},
			{"Accept with a zero timeout", "Accept does not take", func() error { return bob.Accept(ctx, id, "", beckon.TimeoutSeconds(0)) }},
			{"Accept with an invite ID", "WithInviteID", func() error { return bob.Accept(ctx, "other", "", beckon.WithInviteID(id)) }},
			{"Reject online-only", "Reject does not take", func() error { return bob.Reject(ctx, id, "", beckon.OnlineUserOnly()) }},
			{"Cancel with push info", "WithPush", func() error { return alice.Cancel(ctx, id, "", push) }},
			{"Modify with a timeout", "Modify does not take", func() error { return alice.Modify(ctx, id, "", beckon.TimeoutSeconds(5)) }},
			{"InviteInGroup with push info", "InviteInGroup does not take", func() error {
				_, err := alice.InviteInGroup(ctx, "g", []string{"bob"}, "", push)
				return err
			}},
		} {
			err := c.call()
			wantCode(t, c.what, err, 6017)
			if !errors.Is(err, beckon.ErrInvalidParameters) || !strings.Contains(err.Error(), c.inMsg) {
				t.Errorf("%s: got %v, want ErrInvalidParameters saying %q", c.what, err, c.inMsg)
			}
		}
		synctest.Wait()
		want(t, "alice (nothing applied)", ra)
		want(t, "bob (nothing applied)", rb, "new c1 from=alice group= invitees=bob")
		must(t, bob.Accept(ctx, id, "", beckon.WithRequestID("r1"))) // still pending
	})
}
