package mqtt_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/beckonhq/beckon/adapters/mqtt"
	"github.com/beckonhq/beckon/adapters/mqtt/wire"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// REM-1: only a valid token of the username, with a client ID of that
// user, is a session; the CONNACK says why not.
func TestREM1Refusals(t *testing.T) {
	e := start(t, nil)
	expired, err := mqtt.IssueToken(secret, "alice", time.Second, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	forged, err := mqtt.IssueToken([]byte("another secret of 32 bytes......"), "alice", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, user, cid, password string
		want                      byte
	}{
		{"WrongPassword", "alice", "alice/phone", "not a token", 0x86},
		{"ExpiredToken", "alice", "alice/phone", expired, 0x86},
		{"ForgedToken", "alice", "alice/phone", forged, 0x86},
		{"TokenOfAnotherUser", "alice", "alice/phone", token(t, "bob"), 0x86},
		{"ClientIDOfAnotherUser", "alice", "bob/phone", token(t, "alice"), 0x85},
		{"ClientIDWithoutDevice", "alice", "alice", token(t, "alice"), 0x85},
		{"ClientIDInline", "alice", "inline", token(t, "alice"), 0x85},
		{"ClientIDUnescaped", "a/b", "a/b/x", token(t, "a/b"), 0x85},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, code, _ := e.dial(t, c.user, c.cid, c.password)
			if code != c.want {
				t.Errorf("got CONNACK 0x%02x, want 0x%02x", code, c.want)
			}
		})
	}
	t.Run("EscapedUserAccepted", func(t *testing.T) {
		d := e.online(t, "a/b", "x")
		if d.cid != "a%2Fb/x" {
			t.Errorf("got client ID %q, want a%%2Fb/x", d.cid)
		}
	})
	t.Run("MQTT311", func(t *testing.T) {
		for _, c := range []struct {
			cid, password string
			want          byte
		}{
			{"alice/phone", "nope", 4},
			{"bob/phone", token(t, "alice"), 2},
		} {
			if got := dial311(t, e.addr, "alice", c.cid, c.password, nil); got != c.want {
				t.Errorf("%s: got CONNACK return code %d, want %d", c.cid, got, c.want)
			}
		}
	})
}

// REM-2: a device subscribes to its own reply and events topics only, and
// publishes to its own req topic only.
func TestREM2Isolation(t *testing.T) {
	e := start(t, nil)
	bob := e.online(t, "bob", "phone")
	alice := e.online(t, "alice", "phone")
	for _, f := range []string{"beckon/v1/bob/phone/events", "beckon/v1/bob/phone/reply", "beckon/v1/+/events",
		"beckon/v1/#", "#", "$share/g/beckon/v1/bob/phone/events", "$SYS/#", "beckon/v1/alice/phone/req"} {
		if got := alice.subscribe(f); got[0] != 0x87 {
			t.Errorf("subscribe %q: got reason 0x%02x, want 0x87", f, got[0])
		}
	}
	req := []byte(`{"id":"x","op":"invite","args":{"invitee":"carol"}}`)
	for _, topic := range []string{"beckon/v1/bob/phone/req", "beckon/v1/alice/phone/events", "beckon/v1/bob/phone/events"} {
		if got := alice.publish(topic, req, nil); got != 0x87 {
			t.Errorf("publish to %q: got PUBACK 0x%02x, want 0x87", topic, got)
		}
	}
	quiet(t, "bob's replies", bob.replies)
	quiet(t, "bob's events", bob.events)
	if err := e.rt.Err(); err != nil {
		t.Fatalf("runtime after refused requests: %v, want running", err)
	}
}

// REM-3: every request gets exactly one reply; malformed ones get 6017
// naming the problem, and nothing is applied.
func TestREM3Replies(t *testing.T) {
	e := start(t, nil)
	alice := e.online(t, "alice", "phone")
	e.online(t, "bob", "phone")
	for _, c := range []struct{ name, payload, want string }{
		{"NotJSON", `{"id":"m1",`, ""},
		{"UnknownOp", `{"id":"m1","op":"ring"}`, "unknown op"},
		{"UnknownField", `{"id":"m1","op":"invite","args":{"invitee":"bob","colour":"red"}}`, "colour"},
		{"UnknownTopField", `{"id":"m1","op":"invite","user":"bob","args":{"invitee":"carol"}}`, "user"},
		{"WrongType", `{"id":"m1","op":"invite","args":{"invitee":"bob","timeout":"30"}}`, "timeout"},
		{"TrailingData", `{"id":"m1","op":"invite","args":{"invitee":"bob"}} {}`, "after"},
		{"Oversized", `{"id":"m1","op":"invite","args":{"invitee":"bob","data":"` + strings.Repeat("x", 40<<10) + `"}}`, "limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code := alice.publish("beckon/v1/alice/phone/req", []byte(c.payload), nil)
			if c.name == "NotJSON" {
				// No correlation ID can be read: dropped, no reply.
				quiet(t, "reply", alice.replies)
				return
			}
			if code != 0 {
				t.Fatalf("got PUBACK 0x%02x, want 0", code)
			}
			r := alice.reply()
			if r.ID != "m1" || r.Code != 6017 || !strings.Contains(r.Message, c.want) {
				t.Errorf("got %+v, want id m1, code 6017, a message naming %q", r, c.want)
			}
			quiet(t, "a second reply", alice.replies)
		})
	}
	t.Run("NothingApplied", func(t *testing.T) {
		if r := alice.call("h", "history", map[string]any{"peer": "bob"}); r.Code != 0 || string(r.Result) != `{"messages":[]}` {
			t.Errorf("history after malformed requests: got %+v %s, want no messages", r, r.Result)
		}
	})
	t.Run("CorrelationDataEchoed", func(t *testing.T) {
		code := alice.publish("beckon/v1/alice/phone/req", []byte(`{"op":"cancel","args":{"inviteID":"nope"}}`),
			&paho.PublishProperties{CorrelationData: []byte("corr-9"), ResponseTopic: "beckon/v1/alice/phone/reply"})
		if code != 0 {
			t.Fatalf("got PUBACK 0x%02x, want 0", code)
		}
		select {
		case p := <-alice.replies:
			var r replyMsg
			_ = json.Unmarshal(p.Payload, &r)
			if p.Properties == nil || string(p.Properties.CorrelationData) != "corr-9" || r.Code != 8010 {
				t.Errorf("got reply %s with properties %+v, want code 8010 and CorrelationData corr-9", p.Payload, p.Properties)
			}
		case <-time.After(patience):
			t.Fatal("no reply")
		}
	})
	t.Run("ResponseTopicOfAnother", func(t *testing.T) {
		alice.publish("beckon/v1/alice/phone/req", []byte(`{"id":"rt","op":"cancel","args":{"inviteID":"nope"}}`),
			&paho.PublishProperties{ResponseTopic: "beckon/v1/bob/phone/reply"})
		if r := alice.reply(); r.Code != 6017 || !strings.Contains(r.Message, "ResponseTopic") {
			t.Errorf("got %+v, want 6017 naming ResponseTopic", r)
		}
	})
	t.Run("RequestIDPassesThrough", func(t *testing.T) {
		b := []byte(`{"id":"i1","op":"invite","requestID":"r-1","args":{"invitee":"bob"}}`)
		alice.publish("beckon/v1/alice/phone/req", b, nil)
		first := alice.reply()
		alice.publish("beckon/v1/alice/phone/req", b, nil)
		second := alice.reply()
		if first.Code != 0 || second.Code != 0 || string(first.Result) != string(second.Result) {
			t.Errorf("a retry with the same requestID: got %+v then %+v, want the same answer (IDM-1)", first, second)
		}
	})
	t.Run("MQTT311IDEchoed", func(t *testing.T) {
		got := make(chan []byte, 1)
		cid := "alice/laptop"
		if code := dial311(t, e.addr, "alice", cid, token(t, "alice"), func(c pahov3.Client) {
			c.Subscribe("beckon/v1/"+cid+"/reply", 1, func(_ pahov3.Client, m pahov3.Message) { got <- m.Payload() }).Wait()
			c.Publish("beckon/v1/"+cid+"/req", 1, false, `{"id":"v3-1","op":"reject","args":{"inviteID":"nope"}}`).Wait()
			select {
			case b := <-got:
				var r replyMsg
				if err := json.Unmarshal(b, &r); err != nil || r.ID != "v3-1" || r.Code != 8010 {
					t.Errorf("got %s, want id v3-1 and code 8010", b)
				}
			case <-time.After(patience):
				t.Error("no reply")
			}
		}); code != 0 {
			t.Fatalf("got CONNACK %d, want 0", code)
		}
	})
}

// dial311 connects an MQTT 3.1.1 device, runs use on it if accepted, and
// returns the CONNACK return code.
func dial311(t *testing.T, addr, user, cid, password string, use func(pahov3.Client)) byte {
	t.Helper()
	opts := pahov3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(cid).SetUsername(user).
		SetPassword(password).SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(patience)
	c := pahov3.NewClient(opts)
	tok := c.Connect()
	tok.WaitTimeout(patience)
	ct, _ := tok.(*pahov3.ConnectToken)
	if tok.Error() != nil {
		return ct.ReturnCode()
	}
	defer c.Disconnect(100)
	if use != nil {
		use(c)
	}
	return ct.ReturnCode()
}

// REM-4: a second connection with the same client ID takes the session
// over (one kernel session, not two); the end of the connection ends it.
func TestREM4Takeover(t *testing.T) {
	e := start(t, nil)
	alice := e.online(t, "alice", "phone")
	first := e.online(t, "bob", "phone")
	second := e.online(t, "bob", "phone")
	select {
	case <-first.gone:
	case <-time.After(patience):
		t.Fatal("the first connection was not closed by the takeover")
	}
	// An online-only invite reaches bob only if he is online; one session
	// means one ReceiveNewInvitation, on the new connection, with seq 1.
	r := alice.call("c", "invite", map[string]any{"invitee": "bob", "onlineUserOnly": true})
	if r.Code != 0 {
		t.Fatalf("invite: %+v", r)
	}
	if ev := second.event(); ev.Seq != 1 || ev.Type != "ReceiveNewInvitation" {
		t.Errorf("new connection: got %+v, want ReceiveNewInvitation with seq 1", ev)
	}
	quiet(t, "the new connection's second event", second.events)
	quiet(t, "the old connection", first.events)
	_ = second.c.Disconnect(&paho.Disconnect{})
	waitFor(t, "bob's session ended after his disconnect", func() bool {
		return strings.Join(e.eng.presenceOf("bob/phone"), " ") == "Connect Disconnect Connect Disconnect"
	})
	if err := e.srv.Deliver("bob", "phone", kernel.Event{Type: kernel.EventModified}); !errors.Is(err, port.ErrNoSession) {
		t.Errorf("Deliver after the session ended: got %v, want ErrNoSession", err)
	}
}

// SYN-1: invitations pending when a device connects reach it once it
// subscribes to its events: the re-delivery is not lost.
func TestSYN1RedeliveryNotLost(t *testing.T) {
	e := start(t, nil)
	alice := e.online(t, "alice", "phone")
	if r := alice.call("c", "invite", map[string]any{"invitee": "bob", "data": "while you were away", "timeout": 60}); r.Code != 0 {
		t.Fatalf("invite: %+v", r)
	}
	cid := wire.ClientID("bob", "phone")
	bob, code, err := e.dial(t, "bob", cid, token(t, "bob"))
	if err != nil || code != 0 {
		t.Fatalf("connect: 0x%02x %v", code, err)
	}
	time.Sleep(100 * time.Millisecond) // connected, not yet subscribed: nothing may be sent yet
	bob.subscribe("beckon/v1/" + cid + "/events")
	bob.notice(false)
	if ev := bob.event(); ev.Seq != 1 || ev.Type != "ReceiveNewInvitation" || ev.Data != "while you were away" {
		t.Errorf("got %+v, want the pending invitation with seq 1", ev)
	}
}

// Limits: over the request rate the reply is 7008; too many connections
// of a user are refused; an oversized packet closes the connection; the
// server goes on.
func TestLimits(t *testing.T) {
	e := start(t, func(o *mqtt.Options) {
		o.RequestsPerSecond, o.RequestBurst, o.MaxConnsPerUser, o.MaxPacketBytes = 1, 3, 2, 4096
	})
	alice := e.online(t, "alice", "phone")
	t.Run("Rate", func(t *testing.T) {
		codes := map[int]int{}
		for i := range 6 {
			b, _ := json.Marshal(map[string]any{"id": string(rune('a' + i)), "op": "cancel", "args": map[string]any{"inviteID": "x"}})
			alice.publish("beckon/v1/alice/phone/req", b, nil)
		}
		for range 6 {
			codes[alice.reply().Code]++
		}
		if codes[7008] < 2 || codes[8010] < 3 {
			t.Errorf("6 requests at once with a burst of 3: got codes %v, want at least 3 of 8010 and 2 of 7008", codes)
		}
	})
	t.Run("ConnectionsPerUser", func(t *testing.T) {
		e.online(t, "alice", "laptop")
		if _, code, _ := e.dial(t, "alice", "alice/tablet", token(t, "alice")); code != 0x97 {
			t.Errorf("third connection: got CONNACK 0x%02x, want 0x97", code)
		}
		if got := dial311(t, e.addr, "alice", "alice/tablet", token(t, "alice"), nil); got != 3 {
			t.Errorf("third connection (3.1.1): got CONNACK %d, want 3", got)
		}
	})
	t.Run("PacketSize", func(t *testing.T) {
		bob := e.online(t, "bob", "phone")
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _ = bob.c.Publish(ctx, &paho.Publish{Topic: "beckon/v1/bob/phone/req", QoS: 1, Payload: make([]byte, 8000)})
		select {
		case <-bob.gone:
		case <-time.After(patience):
			t.Fatal("an oversized packet: the connection stays open, want it closed")
		}
		if r := alice.call("after", "cancel", map[string]any{"inviteID": "x"}); r.Code != 8010 && r.Code != 7008 {
			t.Errorf("server after an oversized packet: got %+v", r)
		}
	})
}
