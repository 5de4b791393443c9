// Package mqttload is a second, independent beckon device: an MQTT 3.1.1
// client (Client, its own minimal one) written from docs/protocol.md
// alone, not from the adapter or the Go client, so that the tests that use
// it check the document as much as the server. It also holds the workload
// of the MQTT benchmarks (Pairs).
package mqttload

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Patience bounds every wait of a Device: connecting, subscribing, a
// request's reply.
const Patience = 10 * time.Second

// Options say where and as whom a Device connects.
type Options struct {
	Broker string      // tcp://host:port, ws://host:port/mqtt, tls://host:port or wss://...
	TLS    *tls.Config // for tls:// and wss://
	User   string
	Device string // the device ID; the client ID is ClientID(User, Device)
	Token  string // the password ("Tokens")

	// OnEvent is called with every event, in seq order, one at a time, on
	// a goroutine of the Device (so it may block without holding up the
	// connection). Nil: events wait in Events.
	OnEvent func(Event)

	// InlineEvents calls OnEvent on the connection's own goroutine as each
	// event is read, with no hand-over: OnEvent must then return at once
	// (the benchmarks' devices, which time or drop events).
	InlineEvents bool

	// DropEvents reads of each event only its seq (to drop a repeat, and
	// count it in Handed) and acknowledges it; OnEvent is not called. The
	// load of the benchmarks, whose devices share the server's CPUs: its
	// in-process counterpart's listeners do nothing with their events.
	DropEvents bool
}

// Event is one event ("Events"): which fields are set depends on Type.
type Event struct {
	Seq      uint64   `json:"seq"`
	Type     string   `json:"type"`
	InviteID string   `json:"inviteID"`
	Inviter  string   `json:"inviter"`
	Invitee  string   `json:"invitee"`
	GroupID  string   `json:"groupID"`
	Invitees []string `json:"invitees"`
	Data     string   `json:"data"`
}

// Device is one connected device, subscribed to its reply and events
// topics.
type Device struct {
	c      *Client
	user   string
	cid    string
	Events chan Event // the events, when Options.OnEvent is nil

	replies Replies

	queue   sync.Mutex // guards pending and lastSeq
	pending []Event
	lastSeq uint64
	wake    chan struct{} // capacity 1
	done    chan struct{}
	close   sync.Once
	handed  atomic.Uint64 // events handed to OnEvent
	inline  func(Event)   // Options.OnEvent if InlineEvents
	drop    bool          // Options.DropEvents
}

// ClientID is the client ID of user's device: each part with `%`, `/`,
// `+`, `#` and bytes below 0x20 or 0x7F written %XX ("Connecting").
func ClientID(user, device string) string { return escape(user) + "/" + escape(device) }

func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || c == '/' || c == '+' || c == '#' || c < 0x20 || c == 0x7F {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ConnectError is a refused CONNECT: Code is the MQTT 3.1.1 return code.
type ConnectError struct {
	Code byte
	Err  error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("mqttload: CONNACK return code %d: %v", e.Code, e.Err)
}

// Dial connects the device and subscribes to its reply topic, then to its
// events topic (which makes it the session).
func Dial(o Options) (*Device, error) {
	d := &Device{user: o.User, cid: ClientID(o.User, o.Device), Events: make(chan Event, 4096),
		wake: make(chan struct{}, 1), done: make(chan struct{}), drop: o.DropEvents}
	c, err := DialClient(ClientConfig{Broker: o.Broker, TLS: o.TLS, ClientID: d.cid, User: o.User, Password: o.Token})
	if err != nil {
		return nil, err
	}
	d.c = c
	onEvent := o.OnEvent
	if onEvent == nil {
		onEvent = func(ev Event) { d.Events <- ev }
	}
	switch {
	case o.DropEvents:
	case o.InlineEvents:
		d.inline = onEvent
	default:
		go d.handle(onEvent)
	}
	// Subscribe to reply before the first request; events last, since its
	// grant makes the connection the session.
	if err := d.subscribe(d.topic("reply"), d.replies.Deliver); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.subscribe(d.topic("events"), d.onEvent); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// ClientID is the device's client ID.
func (d *Device) ClientID() string { return d.cid }

// Handed is how many events were handed to OnEvent (the last one perhaps
// still being handled).
func (d *Device) Handed() uint64 { return d.handed.Load() }

// Connected reports whether the connection is still open.
func (d *Device) Connected() bool { return d.c.Connected() }

func (d *Device) topic(kind string) string { return "beckon/v1/" + d.cid + "/" + kind }

func (d *Device) subscribe(topic string, handler func([]byte)) error {
	if err := d.c.Subscribe(topic, handler); err != nil {
		return fmt.Errorf("%s: %w", d.cid, err)
	}
	return nil
}

// onEvent queues an event for handle, dropping one whose seq is not above
// the last one queued (QoS 1 may deliver twice, "Sequence numbers").
func (d *Device) onEvent(payload []byte) {
	var ev Event
	if d.drop {
		seq, ok := seqOf(payload)
		if !ok {
			return
		}
		d.queue.Lock()
		if seq > d.lastSeq {
			d.lastSeq = seq
			d.handed.Add(1)
		}
		d.queue.Unlock()
		return
	}
	if json.Unmarshal(payload, &ev) != nil {
		return
	}
	d.queue.Lock()
	if ev.Seq <= d.lastSeq {
		d.queue.Unlock()
		return
	}
	d.lastSeq = ev.Seq
	if d.inline != nil {
		d.queue.Unlock()
		d.handed.Add(1)
		d.inline(ev)
		return
	}
	d.pending = append(d.pending, ev)
	d.queue.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// seqOf reads an event's seq: at once when the payload starts with it, as
// the server writes it, else by decoding the payload.
func seqOf(payload []byte) (uint64, bool) {
	const head = `{"seq":`
	if rest, ok := bytes.CutPrefix(payload, []byte(head)); ok {
		n := 0
		for n < len(rest) && n < 20 && '0' <= rest[n] && rest[n] <= '9' {
			n++
		}
		if n > 0 && n < len(rest) && (rest[n] == ',' || rest[n] == '}') {
			if seq, err := strconv.ParseUint(string(rest[:n]), 10, 64); err == nil {
				return seq, true
			}
		}
	}
	var ev struct {
		Seq *uint64 `json:"seq"`
	}
	if json.Unmarshal(payload, &ev) != nil || ev.Seq == nil {
		return 0, false
	}
	return *ev.Seq, true
}

func (d *Device) handle(onEvent func(Event)) {
	for {
		d.queue.Lock()
		evs := d.pending
		d.pending = nil
		d.queue.Unlock()
		for _, ev := range evs {
			d.handed.Add(1)
			onEvent(ev)
		}
		if len(evs) > 0 {
			continue
		}
		select {
		case <-d.wake:
		case <-d.done:
			return
		}
	}
}

// Call sends one request and waits for its reply. requestID may be "".
func (d *Device) Call(op string, args any, requestID string) (Reply, error) {
	return d.replies.Call(d.cid, op, args, requestID, func(payload []byte) error {
		return d.c.Publish(d.topic("req"), payload)
	}, d.c.done)
}

// Invite calls invite and returns the invitation's ID; a reply with a
// non-zero code is an error.
func (d *Device) Invite(invitee, data string, timeout int) (string, error) {
	return Invite(d, invitee, data, timeout)
}

// Answer calls op (accept, reject, cancel or modify) on inviteID; a reply
// with a non-zero code is an error.
func (d *Device) Answer(op, inviteID, data string) error { return Answer(d, op, inviteID, data) }

// Next returns the next event of a Device without OnEvent.
func (d *Device) Next() (Event, error) {
	select {
	case ev := <-d.Events:
		return ev, nil
	case <-time.After(Patience):
		return Event{}, errors.New("mqttload: " + d.cid + ": no event within " + Patience.String())
	}
}

// Close disconnects cleanly (ending the session) and stops calling
// OnEvent.
func (d *Device) Close() {
	d.close.Do(func() {
		close(d.done)
		if d.c != nil {
			d.c.Close()
		}
	})
}

// Pairs are connected devices: Inviters[i] ("a<i>"/"s") invites
// Invitees[i] ("b<i>"/"s"), as internal/loadtest's clients do in process.
type Pairs struct {
	Inviters, Invitees []*Device
}

// DialPairs connects n pairs to broker; token returns a user's password.
// Their events are read and dropped.
func DialPairs(broker string, n int, token func(user string) string) (Pairs, error) {
	p := Pairs{Inviters: make([]*Device, n), Invitees: make([]*Device, n)}
	for i := range n {
		for _, side := range []struct {
			user string
			into []*Device
		}{{"a" + strconv.Itoa(i), p.Inviters}, {"b" + strconv.Itoa(i), p.Invitees}} {
			d, err := Dial(Options{Broker: broker, User: side.user, Device: "s", Token: token(side.user),
				DropEvents: true})
			if err != nil {
				p.Close()
				return Pairs{}, err
			}
			side.into[i] = d
		}
	}
	return p, nil
}

// Run makes every pair, at once, invite (30 s timeout) then accept, rounds
// times: 2*rounds*len(p.Inviters) requests. The first failure ends its
// pair's rounds and is returned once every pair is done.
func (p Pairs) Run(rounds int, data string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(p.Inviters))
	for i := range p.Inviters {
		wg.Go(func() {
			for range rounds {
				id, err := p.Inviters[i].Invite(p.Invitees[i].user, data, 30)
				if err == nil {
					err = p.Invitees[i].Answer("accept", id, data)
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close disconnects every device.
func (p Pairs) Close() {
	for _, d := range append(p.Inviters, p.Invitees...) {
		if d != nil {
			d.Close()
		}
	}
}
