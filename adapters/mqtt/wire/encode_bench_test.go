package wire

import (
	"encoding/json"
	"testing"

	"github.com/beckonhq/beckon/kernel"
)

// BenchmarkEncode compares, in one binary, json.Marshal (reflection)
// with the hand-written encoders for an invite's reply, an accept's
// reply and a new-invitation event; both sides write the same bytes.
func BenchmarkEncode(b *testing.B) {
	inviteReply := Reply[any]{ID: "c-17", Result: InviteResult{InviteID: "0196c7f2-53b4-7a31-9f4e-3c2d1b0a9e8f"}}
	acceptReply := Reply[any]{ID: "c-18", Result: struct{}{}}
	ev := kernel.Event{Type: kernel.EventNewInvitation, InviteID: "0196c7f2-53b4-7a31-9f4e-3c2d1b0a9e8f",
		Inviter: "alice", Invitees: []string{"bob"}, Data: `{"call":"video"}`}
	for _, c := range []struct {
		name         string
		marshal, own func() ([]byte, error)
	}{
		{"reply=invite", func() ([]byte, error) { return json.Marshal(inviteReply) }, func() ([]byte, error) { return EncodeReply(inviteReply) }},
		{"reply=accept", func() ([]byte, error) { return json.Marshal(acceptReply) }, func() ([]byte, error) { return EncodeReply(acceptReply) }},
		{"event=NewInvitation", func() ([]byte, error) { return json.Marshal(newEvent(1, &ev)) }, func() ([]byte, error) { return EncodeEvent(1, ev) }},
	} {
		for _, side := range []struct {
			name string
			f    func() ([]byte, error)
		}{{"json.Marshal", c.marshal}, {"own", c.own}} {
			b.Run(c.name+"/"+side.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := side.f(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
