package mqtt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beckonhq/beckon/adapters/mqtt"
	"github.com/beckonhq/beckon/internal/mqttload"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	"github.com/beckonhq/beckon/port/deliverytest"
)

// The delivery contract, checked over the network: Deliver is the
// Server's, and each registered session is a device on loopback whose
// events are turned back into kernel.Events for the handler.
func TestDeliveryPort(t *testing.T) {
	deliverytest.Run(t, func(t *testing.T) port.SessionRegistry { return newRemoteRegistry(t) })
}

// remoteRegistry is a port.SessionRegistry made of a Server and devices.
// Three parts of the contract have no counterpart on the wire, and the
// registry supplies them itself:
//   - ErrSessionTaken: a second device with the same client ID takes the
//     session over (REM-4), so the registry refuses a pair it already has;
//   - unregister keeps "the events accepted before are still handled": a
//     device that leaves loses what was not written to it yet (it gets
//     the pending invitations again on its next connection, SYN-1), so
//     unregister waits until the device has handled every event Deliver
//     accepted for it to its handler before it disconnects;
//   - Register returns once the Server applied Connect (the device cannot
//     see that instant, docs/protocol.md "Connecting"), and unregister
//     once it applied Disconnect, as an in-process registry's would.
type remoteRegistry struct {
	t    *testing.T
	srv  *mqtt.Server
	addr string
	eng  *presence

	mu       sync.Mutex
	closed   bool
	sessions map[[2]string]*remoteSession
}

type remoteSession struct {
	dev      *mqttload.Device
	accepted uint64 // events Deliver accepted for it
}

func newRemoteRegistry(t *testing.T) *remoteRegistry {
	eng := &presence{changed: make(chan struct{}, 1)}
	srv, err := mqtt.New(mqtt.Options{Engine: eng, Authenticator: mqtt.Anonymous(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	r := &remoteRegistry{t: t, srv: srv, addr: ln.Addr().String(), eng: eng, sessions: make(map[[2]string]*remoteSession)}
	t.Cleanup(func() {
		r.mu.Lock()
		devs := make([]*mqttload.Device, 0, len(r.sessions))
		for _, s := range r.sessions {
			devs = append(devs, s.dev)
		}
		r.mu.Unlock()
		for _, d := range devs {
			d.Close()
		}
		_ = r.Close()
	})
	return r
}

func (r *remoteRegistry) Register(user, session string, handle func(kernel.Event)) (func(), error) {
	if handle == nil {
		return nil, errors.New("remoteRegistry: nil handler")
	}
	key := [2]string{user, session}
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return nil, port.ErrClosed
	case r.sessions[key] != nil:
		r.mu.Unlock()
		return nil, fmt.Errorf("%s/%s: %w", user, session, port.ErrSessionTaken)
	}
	rs := &remoteSession{}
	r.sessions[key] = rs
	r.mu.Unlock()
	n := r.eng.count("Connect", user, session)
	dev, err := mqttload.Dial(mqttload.Options{Broker: "tcp://" + r.addr, User: user, Device: session,
		OnEvent: func(ev mqttload.Event) { handle(toKernel(ev)) }})
	if err != nil {
		r.mu.Lock()
		delete(r.sessions, key)
		r.mu.Unlock()
		return nil, err
	}
	rs.dev = dev
	r.eng.await(r.t, "Connect", user, session, n)
	var once sync.Once
	unregister := func() {
		once.Do(func() {
			r.mu.Lock()
			accepted := rs.accepted
			r.mu.Unlock()
			deadline := time.Now().Add(mqttload.Patience)
			for dev.Handed() < accepted && dev.Connected() && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			n := r.eng.count("Disconnect", user, session)
			dev.Close()
			r.eng.await(r.t, "Disconnect", user, session, n)
			r.mu.Lock()
			delete(r.sessions, key)
			r.mu.Unlock()
		})
	}
	return unregister, nil
}

// Deliver is the Server's; the registry counts what it accepted.
func (r *remoteRegistry) Deliver(user, session string, ev kernel.Event) error {
	err := r.srv.Deliver(user, session, ev)
	if err == nil {
		r.mu.Lock()
		if rs := r.sessions[[2]string{user, session}]; rs != nil {
			rs.accepted++
		}
		r.mu.Unlock()
	}
	return err
}

func (r *remoteRegistry) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	return r.srv.Close(ctx)
}

// toKernel is the event a device got, as the kernel's.
func toKernel(ev mqttload.Event) kernel.Event {
	k := kernel.Event{InviteID: ev.InviteID, Inviter: ev.Inviter, Invitee: ev.Invitee, GroupID: ev.GroupID,
		Invitees: ev.Invitees, Data: ev.Data}
	for t := kernel.EventNewInvitation; t <= kernel.EventModified; t++ {
		if t.String() == ev.Type {
			k.Type = t
			break
		}
	}
	return k
}

// presence is an Engine without a runtime: it records the presence inputs
// the Server applies and answers every request with success.
type presence struct {
	mu      sync.Mutex
	applied []string // "Connect alice/phone", ...
	changed chan struct{}
}

func (p *presence) Do(_ context.Context, in kernel.Input) (kernel.Result, error) {
	p.mu.Lock()
	p.applied = append(p.applied, in.Op.String()+" "+in.User+"/"+in.Session)
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
	return kernel.Result{}, nil
}

func (p *presence) Acked(string, string, uint64) {}

func (p *presence) HistoryAs(context.Context, string, kernel.Conversation, uint64, int) ([]port.HistoryMessage, error) {
	return nil, nil
}

func (p *presence) OpenInvitations(context.Context, string) ([]kernel.OpenInvitation, error) {
	return nil, nil
}

func (p *presence) Records(string, port.RecordCursor, int) ([]port.CallRecord, error) {
	return nil, nil
}

func (p *presence) count(op, user, session string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(slices.DeleteFunc(slices.Clone(p.applied), func(s string) bool { return s != op+" "+user+"/"+session }))
}

// await waits until op was applied to user/session more than n times.
func (p *presence) await(t *testing.T, op, user, session string, n int) {
	deadline := time.After(patience)
	for p.count(op, user, session) <= n {
		select {
		case <-p.changed:
		case <-time.After(5 * time.Millisecond):
		case <-deadline:
			t.Errorf("%s %s/%s: not applied within %v", op, user, session, patience)
			return
		}
	}
}
