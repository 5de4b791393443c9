package beckon_test

import (
	"context"
	"fmt"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/kernel"
)

// Two users log in through the runtime's in-process hub; alice calls bob,
// bob accepts, and both hear it.
func Example() {
	ctx := context.Background()
	rt, err := beckon.New(beckon.WithInviteIDs(beckon.SequentialInviteIDs("call-")))
	if err != nil {
		panic(err)
	}
	defer rt.Close()

	heard := make(chan string)
	alice, _ := rt.Login(ctx, "alice", "phone", beckon.ListenerFuncs{
		InviteeAccepted: func(inviteID, invitee, data string) {
			heard <- fmt.Sprintf("alice: %s accepted %s (%s)", invitee, inviteID, data)
		},
	})
	bob, _ := rt.Login(ctx, "bob", "phone", beckon.ListenerFuncs{
		ReceiveNewInvitation: func(inviteID, inviter, groupID string, inviteeList []string, data string) {
			heard <- fmt.Sprintf("bob: %s calls (%s, %s)", inviter, inviteID, data)
		},
	})

	id, err := alice.Invite(ctx, "bob", "video call", beckon.TimeoutSeconds(30))
	if err != nil {
		panic(err)
	}
	fmt.Println(<-heard)
	if err := bob.Accept(ctx, id, "on my way"); err != nil {
		panic(err)
	}
	fmt.Println(<-heard)
	// Output:
	// bob: alice calls (call-1, video call)
	// alice: bob accepted call-1 (on my way)
}

// Errors carry the SDK's codes: accepting an invitation twice is 8010.
func ExampleCode() {
	ctx := context.Background()
	rt, _ := beckon.New()
	defer rt.Close()
	alice, _ := rt.Login(ctx, "alice", "phone", nil)
	bob, _ := rt.Login(ctx, "bob", "phone", nil)

	id, _ := alice.Invite(ctx, "bob", "")
	fmt.Println(beckon.Code(bob.Accept(ctx, id, "")))
	fmt.Println(beckon.Code(bob.Accept(ctx, id, "")))
	fmt.Println(beckon.Code(bob.Cancel(ctx, "no-such-call", "")))
	bob.Close()
	fmt.Println(beckon.Code(bob.Accept(ctx, id, "")))
	// Output:
	// 0
	// 8010
	// 8010
	// 6014
}

// Each operation also leaves a signaling message in the conversation's
// history; GetSignalingInfo reads it back.
func ExampleClient_History() {
	ctx := context.Background()
	rt, _ := beckon.New(beckon.WithInviteIDs(beckon.SequentialInviteIDs("call-")))
	defer rt.Close()
	alice, _ := rt.Login(ctx, "alice", "phone", nil)
	bob, _ := rt.Login(ctx, "bob", "phone", nil)
	id, _ := alice.Invite(ctx, "bob", "v1")
	alice.Modify(ctx, id, "v2")
	bob.Reject(ctx, id, "busy")

	msgs, _ := bob.History("alice", 0, 0)
	for _, m := range msgs {
		info, _ := bob.GetSignalingInfo(m.Payload)
		fmt.Println(m.Seq, m.Sender, info.InviteID, info.ActionType == kernel.ActionReject, info.Data)
	}
	// Output:
	// 1 alice call-1 false v1
	// 2 alice call-1 false v2
	// 3 bob call-1 true busy
}
