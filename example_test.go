package beckon_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/beckonhq/beckon"
)

// Two users log in through the runtime's in-process hub; alice calls bob,
// bob accepts, and both hear it.
func Example() {
	ctx := context.Background()
	rt, err := beckon.New(beckon.WithInviteIDs(beckon.SequentialInviteIDs("call-")))
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()

	heard := make(chan string)
	alice, err := rt.Login(ctx, "alice", "phone", beckon.ListenerFuncs{
		InviteeAccepted: func(inviteID, invitee, data string) {
			heard <- fmt.Sprintf("alice: %s accepted %s (%s)", invitee, inviteID, data)
		},
	})
	if err != nil {
		log.Fatalf("login: %v (code %d)", err, beckon.Code(err))
	}
	bob, err := rt.Login(ctx, "bob", "phone", beckon.ListenerFuncs{
		ReceiveNewInvitation: func(inviteID, inviter, groupID string, inviteeList []string, data string) {
			heard <- fmt.Sprintf("bob: %s calls (%s, %s)", inviter, inviteID, data)
		},
	})
	if err != nil {
		log.Fatalf("login: %v (code %d)", err, beckon.Code(err))
	}

	id, err := alice.Invite(ctx, "bob", "video call", beckon.TimeoutSeconds(30))
	if err != nil {
		log.Fatalf("invite: %v (code %d)", err, beckon.Code(err))
	}
	fmt.Println(<-heard)
	if err := bob.Accept(ctx, id, "on my way"); err != nil {
		log.Fatalf("accept: %v (code %d)", err, beckon.Code(err))
	}
	fmt.Println(<-heard)
	// Output:
	// bob: alice calls (call-1, video call)
	// alice: bob accepted call-1 (on my way)
}

// Errors carry the SDK's codes: match them with errors.Is, read the number
// with Code. Accepting an invitation twice is 8010.
func ExampleCode() {
	ctx := context.Background()
	rt, err := beckon.New()
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	alice, err := rt.Login(ctx, "alice", "phone", beckon.ListenerFuncs{}) // no callbacks
	if err != nil {
		log.Fatal(err)
	}
	bob, err := rt.Login(ctx, "bob", "phone", beckon.ListenerFuncs{}) // no callbacks
	if err != nil {
		log.Fatal(err)
	}

	id, _ := alice.Invite(ctx, "bob", "")
	fmt.Println(beckon.Code(bob.Accept(ctx, id, "")))
	err = bob.Accept(ctx, id, "")
	fmt.Println(beckon.Code(err), errors.Is(err, beckon.ErrInvalidInviteID))
	err = bob.Cancel(ctx, id, "", beckon.TimeoutSeconds(5)) // Cancel takes no timeout
	fmt.Println(beckon.Code(err), errors.Is(err, beckon.ErrInvalidParameters))
	bob.Close()
	err = bob.Accept(ctx, id, "")
	fmt.Println(beckon.Code(err), errors.Is(err, beckon.ErrNotLoggedIn))
	// Output:
	// 0
	// 8010 true
	// 6017 true
	// 6014 true
}

// Every device of a user rings, and every device hears how the call ended
// (DLV-1): a device stops ringing when its user accepted or rejected on any
// device, or when the call was cancelled or timed out.
func ExampleEventFunc() {
	ctx := context.Background()
	rt, err := beckon.New(beckon.WithInviteIDs(beckon.SequentialInviteIDs("call-")))
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()

	heard := make(chan string)
	device := func(user, session string) *beckon.Client {
		c, err := rt.Login(ctx, user, session, beckon.EventFunc(func(ev beckon.Event) {
			switch ev.Type {
			case beckon.EventNewInvitation:
				heard <- session + " rings for " + ev.InviteID
			case beckon.EventAccepted, beckon.EventRejected:
				if ev.Invitee == user {
					heard <- session + " stops ringing: " + ev.Type.String()
				}
			case beckon.EventCancelled, beckon.EventTimeout:
				heard <- session + " stops ringing: " + ev.Type.String()
			}
		}))
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	alice := device("alice", "desk")
	phone := device("bob", "phone")
	device("bob", "laptop")

	id, err := alice.Invite(ctx, "bob", "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-heard)
	fmt.Println(<-heard)
	if err := phone.Accept(ctx, id, ""); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-heard)
	fmt.Println(<-heard)
	// Unordered output:
	// phone rings for call-1
	// laptop rings for call-1
	// phone stops ringing: InviteeAccepted
	// laptop stops ringing: InviteeAccepted
}

// Each operation also leaves a signaling message in the conversation's
// history; GetSignalingInfo reads it back.
func ExampleClient_History() {
	ctx := context.Background()
	rt, err := beckon.New(beckon.WithInviteIDs(beckon.SequentialInviteIDs("call-")))
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	alice, err := rt.Login(ctx, "alice", "phone", beckon.ListenerFuncs{}) // no callbacks
	if err != nil {
		log.Fatal(err)
	}
	bob, err := rt.Login(ctx, "bob", "phone", beckon.ListenerFuncs{}) // no callbacks
	if err != nil {
		log.Fatal(err)
	}
	id, _ := alice.Invite(ctx, "bob", "v1")
	alice.Modify(ctx, id, "v2")
	bob.Reject(ctx, id, "busy")

	msgs, _ := bob.History("alice", 0, 0)
	for _, m := range msgs {
		info, _ := bob.GetSignalingInfo(m.Payload)
		fmt.Println(m.Seq, m.Sender, info.InviteID, info.ActionType == beckon.ActionReject, info.Data)
	}
	// Output:
	// 1 alice call-1 false v1
	// 2 alice call-1 false v2
	// 3 bob call-1 true busy
}
