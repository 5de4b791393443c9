package mqtt_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/mqtt"
	"github.com/beckonhq/beckon/adapters/mqtt/wire"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// patience bounds every wait of these tests.
const patience = 5 * time.Second

var secret = []byte("0123456789abcdef0123456789abcdef")

// engine is the test's Engine over a Runtime; the Runtime is created after
// the Server, which is its Delivery.
// It records the presence inputs it applies.
type engine struct {
	rt       *beckon.Runtime
	mu       sync.Mutex
	presence []string // "Connect bob/phone", ...
}

func (e *engine) Do(ctx context.Context, in kernel.Input) (kernel.Result, error) {
	res, err := e.rt.Do(ctx, in)
	if in.Op == kernel.OpConnect || in.Op == kernel.OpDisconnect || in.Op == kernel.OpSuspend || in.Op == kernel.OpResume {
		e.mu.Lock()
		e.presence = append(e.presence, in.Op.String()+" "+in.User+"/"+in.Session)
		e.mu.Unlock()
	}
	return res, err
}

func (e *engine) connects(session string) int {
	return strings.Count(strings.Join(e.presenceOf(session), " "), "Connect")
}

func (e *engine) presenceOf(session string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, p := range e.presence {
		if strings.HasSuffix(p, " "+session) {
			out = append(out, strings.Fields(p)[0])
		}
	}
	return out
}

func (e *engine) HistoryAs(ctx context.Context, user string, conv kernel.Conversation, after uint64, limit int) ([]port.HistoryMessage, error) {
	return e.rt.HistoryAs(ctx, user, conv, after, limit)
}

func (e *engine) OpenInvitations(ctx context.Context, user string) ([]kernel.OpenInvitation, error) {
	return e.rt.OpenInvitations(ctx, user)
}

func (e *engine) Acked(user, session string, seq uint64) { e.rt.Acked(user, session, seq) }

func (e *engine) Records(user string, after port.RecordCursor, limit int) ([]port.CallRecord, error) {
	return e.rt.Records(user, after, limit)
}

type env struct {
	eng  *engine
	srv  *mqtt.Server
	rt   *beckon.Runtime
	addr string
}

// start runs a Server and its Runtime on a loopback port, stopped at the
// end of the test.
func start(t testing.TB, tune func(*mqtt.Options), rtOpts ...beckon.Option) *env {
	t.Helper()
	e := &engine{}
	opts := mqtt.Options{Engine: e, Authenticator: mqtt.JWT(secret),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if tune != nil {
		tune(&opts)
	}
	srv, err := mqtt.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := beckon.New(append([]beckon.Option{beckon.WithDelivery(srv),
		beckon.WithInviteIDs(beckon.SequentialInviteIDs("call-"))}, rtOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	e.rt = rt
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("Server.Close: %v", err)
		}
		if err := rt.Close(); err != nil {
			t.Errorf("Runtime.Close: %v", err)
		}
	})
	return &env{eng: e, srv: srv, rt: rt, addr: ln.Addr().String()}
}

func token(t testing.TB, user string) string {
	t.Helper()
	tok, err := mqtt.IssueToken(secret, user, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// device is an MQTT 5 device.
type device struct {
	t       *testing.T
	c       *paho.Client
	cid     string
	replies chan *paho.Publish
	events  chan *paho.Publish
	gone    chan struct{}
}

// dial connects an MQTT 5 device; it returns the CONNACK reason.
func (e *env) dial(t *testing.T, user, cid, password string) (*device, byte, error) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", e.addr, patience)
	if err != nil {
		t.Fatal(err)
	}
	d := &device{t: t, cid: cid, replies: make(chan *paho.Publish, 100), events: make(chan *paho.Publish, 100),
		gone: make(chan struct{})}
	d.c = paho.NewClient(paho.ClientConfig{
		ClientID: cid,
		Conn:     nc,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			switch pr.Packet.Topic {
			case "beckon/v1/" + cid + "/reply":
				d.replies <- pr.Packet
			case "beckon/v1/" + cid + "/events":
				d.events <- pr.Packet
			default:
				t.Errorf("%s: got a publish on %q, want only its reply and events topics", cid, pr.Packet.Topic)
			}
			return true, nil
		}},
		OnServerDisconnect: func(*paho.Disconnect) {},
		OnClientError:      func(error) {},
	})
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	ca, err := d.c.Connect(ctx, &paho.Connect{ClientID: cid, Username: user, UsernameFlag: true,
		Password: []byte(password), PasswordFlag: true, CleanStart: true, KeepAlive: 30})
	if ca == nil {
		return nil, 0, err
	}
	go func() { <-d.c.Done(); close(d.gone) }()
	t.Cleanup(func() { _ = d.c.Disconnect(&paho.Disconnect{}) })
	return d, ca.ReasonCode, err
}

// online connects user's device with a valid token and subscribes to its
// reply and events topics.
func (e *env) online(t *testing.T, user, dev string) *device {
	t.Helper()
	cid := wire.ClientID(user, dev)
	d, code, err := e.dial(t, user, cid, token(t, user))
	if err != nil || code != 0 {
		t.Fatalf("%s: connect: reason 0x%02x, %v; want accepted", cid, code, err)
	}
	n := e.eng.connects(user + "/" + dev)
	if got := d.subscribe("beckon/v1/"+cid+"/reply", "beckon/v1/"+cid+"/events"); got[0] != 1 || got[1] != 1 {
		t.Fatalf("%s: subscribing to its own topics: got reasons %v, want [1 1]", cid, got)
	}
	// Presence is applied off the read goroutine: wait for it.
	waitFor(t, cid+" online", func() bool { return e.eng.connects(user+"/"+dev) > n })
	d.notice(false)
	return d
}

// notice reads the Session notice that starts a connection's events, and
// checks whether it says the session was resumed.
func (d *device) notice(resumed bool) {
	d.t.Helper()
	if ev := d.event(); ev.Type != "Session" || ev.Seq != 0 || ev.Resumed != resumed {
		d.t.Fatalf("%s: first message on events: got %+v, want the Session notice with resumed %v", d.cid, ev, resumed)
	}
}

func (d *device) subscribe(filters ...string) []byte {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	var subs []paho.SubscribeOptions
	for _, f := range filters {
		subs = append(subs, paho.SubscribeOptions{Topic: f, QoS: 1})
	}
	sa, err := d.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: subs})
	if sa == nil {
		d.t.Fatalf("%s: subscribe %v: %v", d.cid, filters, err)
	}
	return sa.Reasons
}

// publish sends payload to topic at QoS 1 and returns the PUBACK reason.
func (d *device) publish(topic string, payload []byte, props *paho.PublishProperties) byte {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	pr, err := d.c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload, Properties: props})
	if pr == nil {
		d.t.Fatalf("%s: publish to %s: %v", d.cid, topic, err)
	}
	return pr.ReasonCode
}

type replyMsg = wire.Reply[json.RawMessage]

// call sends a request with correlation ID id and returns its reply.
func (d *device) call(id, op string, args any) replyMsg {
	d.t.Helper()
	b, err := json.Marshal(map[string]any{"id": id, "op": op, "args": args})
	if err != nil {
		d.t.Fatal(err)
	}
	if code := d.publish("beckon/v1/"+d.cid+"/req", b, nil); code != 0 {
		d.t.Fatalf("%s: request %s: PUBACK 0x%02x, want 0", d.cid, id, code)
	}
	return d.reply()
}

func (d *device) reply() replyMsg {
	d.t.Helper()
	select {
	case p := <-d.replies:
		var r replyMsg
		if err := json.Unmarshal(p.Payload, &r); err != nil {
			d.t.Fatalf("%s: reply %q: %v", d.cid, p.Payload, err)
		}
		return r
	case <-time.After(patience):
		d.t.Fatalf("%s: no reply within %v", d.cid, patience)
		return replyMsg{}
	}
}

type eventMsg struct {
	Seq      uint64   `json:"seq"`
	Type     string   `json:"type"`
	InviteID string   `json:"inviteID"`
	Inviter  string   `json:"inviter"`
	Invitee  string   `json:"invitee"`
	Invitees []string `json:"invitees"`
	Data     string   `json:"data"`
	Resumed  bool     `json:"resumed"` // of the Session notice
}

func (d *device) event() eventMsg {
	d.t.Helper()
	select {
	case p := <-d.events:
		var ev eventMsg
		if err := json.Unmarshal(p.Payload, &ev); err != nil {
			d.t.Fatalf("%s: event %q: %v", d.cid, p.Payload, err)
		}
		return ev
	case <-time.After(patience):
		d.t.Fatalf("%s: no event within %v", d.cid, patience)
		return eventMsg{}
	}
}

// quiet fails if anything arrives on ch within a short while.
func quiet(t *testing.T, what string, ch chan *paho.Publish) {
	t.Helper()
	select {
	case p := <-ch:
		t.Errorf("%s: got %s, want nothing", what, p.Payload)
	case <-time.After(200 * time.Millisecond):
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, patience)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
