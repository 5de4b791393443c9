package remote

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/mqtt/wire"
	"github.com/beckonhq/beckon/kernel"
)

// Options say where and as whom a device connects. Server, User, Device
// and Token are required.
type Options struct {
	// Server is the server's URL: mqtt://host:1883 (TCP), tls://host:8883,
	// ws://host/mqtt or wss://host/mqtt (MQTT over websocket).
	Server string
	// User is the user ID; Token proves it (docs/protocol.md "Tokens":
	// `beckon token -user alice -ttl 24h`, or the embedding product's own).
	// Reconnections reuse Token: once it has expired, Close and Dial again
	// with a new one.
	User  string
	Token string
	// Device names this device among the user's devices: the session ID.
	Device string

	TLS    *tls.Config  // for tls:// and wss://; nil: the system's defaults
	Logger *slog.Logger // default slog.Default(): panicking callbacks, undecodable events, reconnections

	// KeepAlive is the MQTT keep-alive; default 30s.
	KeepAlive time.Duration
	// SessionExpiry is how long the session is to outlive a lost
	// connection (REM-4): a reconnection within it resumes the session
	// without losing an event (REM-5). Default 120s; the server may grant
	// less (its own limit); whole seconds. A negative value asks for none:
	// each connection is then a new session.
	SessionExpiry time.Duration
	// Timeout bounds the calls that take no context (History,
	// GroupHistory, Close); default 30s.
	Timeout time.Duration
}

// Client is one device of a user, connected to a beckon server: the SDK's
// API, as *beckon.Client has it (see beckon.Signaling and the package
// doc). Create it with Dial; it is safe for concurrent use.
type Client struct {
	opts     Options
	cid      string
	topics   struct{ req, reply, events string }
	cm       *autopaho.ConnectionManager
	log      *slog.Logger
	handle   func(beckon.Event)
	listener beckon.Listener

	nextID    atomic.Uint64
	closed    atomic.Bool
	closing   chan struct{} // closed by Close, or when another connection took the session over
	closeOnce sync.Once
	takenOver atomic.Bool
	takeover  chan struct{} // closed when the server said another connection took the session over

	mu      sync.Mutex
	cur     *connection           // the connection now; nil while down
	changed chan struct{}         // closed and replaced when cur changes
	pending map[string]chan reply // by correlation ID
	lastSeq uint64                // of the session: the last event queued for the listener
	started bool                  // a Session notice was heard: the next fresh one is a restart
	events  []queued              // heard, not yet handed to the listener
	wake    chan struct{}         // capacity 1: events has more
}

var _ beckon.Signaling = (*Client)(nil)

// queued is an event for the listener, or the news that the session
// started afresh (restart).
type queued struct {
	ev      beckon.Event
	restart bool
}

// connection is one MQTT connection of the client.
type connection struct {
	ready chan struct{} // closed when the reply and events subscriptions are granted
	down  chan struct{} // closed when it is lost
}

// Dial connects a device of opts.User to the server and returns its Client
// once the server has made it the session: events for it go to l, first
// ReceiveNewInvitation for every invitation still pending for the user
// that is not online-only (SYN-1). A refused connection (bad token, client
// ID, too many connections) fails at once; an unreachable server is tried
// again until ctx ends. A nil ctx, or a Listener that cannot be called,
// fails with 6017 (beckon.ErrInvalidParameters).
func Dial(ctx context.Context, opts Options, l beckon.Listener) (*Client, error) {
	if ctx == nil {
		return nil, &kernel.OpError{Class: kernel.ErrInvalidParameters, Field: "ctx", Value: "nil",
			Msg: "a nil context.Context; pass context.Background(), or a context that ends when the caller gives up"}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = 30 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	switch {
	case opts.SessionExpiry == 0:
		opts.SessionExpiry = DefaultSessionExpiry
	case opts.SessionExpiry < 0:
		opts.SessionExpiry = 0
	}
	handle, err := beckon.ListenerHandler(l, opts.Logger, opts.User, opts.Device)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(opts.Server)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("beckon remote: Options.Server %q: want a URL such as mqtt://host:1883, tls://host:8883 or wss://host/mqtt", opts.Server)
	}
	switch {
	case opts.User == "" || opts.Device == "":
		return nil, errors.New("beckon remote: Options.User and Options.Device are required")
	case opts.Token == "":
		return nil, errors.New("beckon remote: Options.Token is required: a token of the server for Options.User (`beckon token -user ...`)")
	}
	c := &Client{opts: opts, cid: wire.ClientID(opts.User, opts.Device), log: opts.Logger, handle: handle, listener: l,
		closing: make(chan struct{}), takeover: make(chan struct{}), changed: make(chan struct{}), pending: map[string]chan reply{},
		wake: make(chan struct{}, 1)}
	c.topics.req, c.topics.reply, c.topics.events = wire.ReqTopic(c.cid), wire.ReplyTopic(c.cid), wire.EventsTopic(c.cid)

	refused := make(chan error, 1)
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		TlsCfg:                        opts.TLS,
		KeepAlive:                     uint16(opts.KeepAlive / time.Second),
		CleanStartOnInitialConnection: true, // a new Client is a new session; its reconnections resume it
		SessionExpiryInterval:         uint32(opts.SessionExpiry / time.Second),
		ReconnectBackoff:              autopaho.NewExponentialBackoff(100*time.Millisecond, 30*time.Second, time.Second, 2),
		ConnectUsername:               opts.User,
		ConnectPassword:               []byte(opts.Token),
		OnConnectionUp:                c.up,
		OnConnectionDown:              c.down,
		OnConnectError: func(err error) {
			var ce *autopaho.ConnackError
			if errors.As(err, &ce) {
				select {
				case refused <- err:
				default:
				}
			}
			c.log.Debug("beckon remote: connecting", slog.String("client", c.cid), slog.Any("err", err))
		},
		ClientConfig: paho.ClientConfig{
			ClientID: c.cid,
			OnServerDisconnect: func(d *paho.Disconnect) {
				if d.ReasonCode == reasonSessionTakenOver && !c.takenOver.Swap(true) {
					close(c.takeover)
				}
			},
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){c.received},
		},
	}
	c.cm, err = autopaho.NewConnection(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("beckon remote: %w", err)
	}
	go c.deliver()
	fail := func(err error) (*Client, error) {
		c.stop()
		return nil, err
	}
	for {
		c.mu.Lock()
		cur, changed := c.cur, c.changed
		c.mu.Unlock()
		var ready chan struct{}
		if cur != nil {
			ready = cur.ready
		}
		select {
		case <-ready:
			return c, nil
		case <-changed:
		case err := <-refused:
			return fail(fmt.Errorf("beckon remote: the server refused the connection of %s: %w", c.cid, err))
		case <-ctx.Done():
			return fail(fmt.Errorf("beckon remote: connecting %s to %s: %w", c.cid, opts.Server, ctx.Err()))
		}
	}
}

// up starts a connection: it subscribes to the reply and events topics,
// and the connection is ready once both are granted (the server then makes
// it the session, and says first whether it resumed it: received).
func (c *Client) up(cm *autopaho.ConnectionManager, _ *paho.Connack) {
	conn := &connection{ready: make(chan struct{}), down: make(chan struct{})}
	c.mu.Lock()
	c.cur = conn
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
		defer cancel()
		// reply first, so that no reply can be dropped once the session exists
		sa, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
			{Topic: c.topics.reply, QoS: 1}, {Topic: c.topics.events, QoS: 1}}})
		if err == nil && (len(sa.Reasons) != 2 || sa.Reasons[0] >= 0x80 || sa.Reasons[1] >= 0x80) {
			err = fmt.Errorf("SUBACK reasons %v", sa.Reasons)
		}
		if err != nil {
			c.log.Error("beckon remote: subscribing to the device's topics failed; the device cannot work on this connection",
				slog.String("client", c.cid), slog.Any("err", err))
			return
		}
		close(conn.ready)
	}()
}

// reasonSessionTakenOver is the MQTT 5 DISCONNECT reason of a connection
// whose client ID another connection took.
const reasonSessionTakenOver = 0x8E

// takeoverGrace is how long a lost connection waits for the server's
// DISCONNECT reason before it counts as lost (see down).
const takeoverGrace = 100 * time.Millisecond

// down ends the connection: replies awaited on it are lost. autopaho then
// reconnects, unless the client is closing or another connection of the
// same user and device took the session over: reconnecting would take it
// back, and the two would take turns forever; the client is then closed.
func (c *Client) down() bool {
	c.mu.Lock()
	if c.cur != nil {
		close(c.cur.down)
		c.cur = nil
		close(c.changed)
		c.changed = make(chan struct{})
	}
	c.mu.Unlock()
	// paho reports the connection down before it calls OnServerDisconnect
	// (on a goroutine of its own): give a DISCONNECT that came with the
	// drop the time to say whether it was a takeover. autopaho's backoff
	// waits longer than this before it reconnects anyway.
	select {
	case <-c.takeover:
	case <-time.After(takeoverGrace):
	}
	if c.takenOver.Load() && !c.closed.Swap(true) {
		c.log.Error("beckon remote: another connection of this user and device took the session over; this client is closed (give each device its own device ID)",
			slog.String("client", c.cid))
		c.closeOnce.Do(func() { close(c.closing) })
		return false
	}
	closing := c.closed.Load()
	if !closing {
		c.log.Info("beckon remote: connection lost; reconnecting to resume the session", slog.String("client", c.cid))
	}
	return !closing
}

// received handles one publish from the server: a reply, or an event.
func (c *Client) received(pr paho.PublishReceived) (bool, error) {
	p := pr.Packet
	switch p.Topic {
	case c.topics.reply:
		var r reply
		if err := json.Unmarshal(p.Payload, &r); err != nil {
			c.log.Warn("beckon remote: undecodable reply dropped", slog.String("client", c.cid), slog.Any("err", err))
			return true, nil
		}
		id := r.ID
		if p.Properties != nil && len(p.Properties.CorrelationData) > 0 {
			id = string(p.Properties.CorrelationData)
		}
		c.mu.Lock()
		ch := c.pending[id]
		delete(c.pending, id)
		c.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	case c.topics.events:
		if n, ok := wire.DecodeSessionNotice(p.Payload); ok {
			c.session(n)
			return true, nil
		}
		seq, ev, err := wire.DecodeEvent(p.Payload)
		if err != nil {
			c.log.Warn("beckon remote: undecodable event dropped", slog.String("client", c.cid), slog.Any("err", err))
			return true, nil
		}
		c.mu.Lock()
		switch {
		case seq <= c.lastSeq: // a QoS 1 duplicate
			c.mu.Unlock()
			return true, nil
		case seq > c.lastSeq+1:
			c.log.Warn("beckon remote: events were lost (a jump in seq)", slog.String("client", c.cid),
				slog.Uint64("after", c.lastSeq), slog.Uint64("seq", seq))
		}
		c.lastSeq = seq
		c.events = append(c.events, queued{ev: ev})
		c.mu.Unlock()
		c.wakeUp()
	}
	return true, nil
}

// session takes the Session notice that starts each connection's events:
// a resumed session goes on from the last event heard (the server writes
// again what was not acknowledged: duplicates are dropped by seq); a fresh
// one numbers its events from 1 again, and after the first connection the
// listener hears that the session restarted (REM-6).
func (c *Client) session(n wire.SessionNotice) {
	c.mu.Lock()
	restart := c.started && !n.Resumed
	c.started = true
	if !n.Resumed {
		c.lastSeq = 0
	}
	if restart {
		c.events = append(c.events, queued{restart: true})
	}
	c.mu.Unlock()
	if restart {
		c.log.Info("beckon remote: the session could not be resumed and starts afresh: pending invitations are re-delivered",
			slog.String("client", c.cid))
		c.wakeUp()
	} else if n.Resumed {
		c.log.Info("beckon remote: session resumed", slog.String("client", c.cid))
	}
}

func (c *Client) wakeUp() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// deliver hands the events to the listener, one at a time, in order, on
// a goroutine of its own: a callback may call the Client, whose replies
// arrive on paho's goroutine meanwhile. It stops at Close once the events
// heard before are handed over.
func (c *Client) deliver() {
	for {
		c.mu.Lock()
		evs := c.events
		c.events = nil
		c.mu.Unlock()
		for _, q := range evs {
			if q.restart {
				c.restarted()
			} else {
				c.handle(q.ev)
			}
		}
		if len(evs) > 0 {
			continue
		}
		select {
		case <-c.wake:
		case <-c.closing:
			c.mu.Lock()
			empty := len(c.events) == 0
			c.mu.Unlock()
			if empty {
				return
			}
		}
	}
}

// User returns the user this client acts as.
func (c *Client) User() string { return c.opts.User }

// Session returns the session (device) ID of this client.
func (c *Client) Session() string { return c.opts.Device }

// Close disconnects the device: the server ends its session (the kernel
// stops sending it events); the Listener's calls stop once the events heard
// before are handled. Later calls return nil. Close may be called from a
// callback.
func (c *Client) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	return c.stop()
}

func (c *Client) stop() error {
	c.closed.Store(true)
	c.closeOnce.Do(func() { close(c.closing) })
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	if err := c.cm.Disconnect(ctx); err != nil {
		return fmt.Errorf("beckon remote: closing %s: %w", c.cid, err)
	}
	return nil
}

// call sends one request and waits for its reply (see the package doc for
// ctx).
func (c *Client) call(ctx context.Context, op, requestID string, args any) (json.RawMessage, error) {
	if ctx == nil {
		return nil, &kernel.OpError{Class: kernel.ErrInvalidParameters, Field: "ctx", Value: "nil",
			Msg: "a nil context.Context; pass context.Background(), or a context that ends when the caller gives up"}
	}
	if c.closed.Load() {
		return nil, beckon.ErrNotLoggedIn
	}
	if err := ctx.Err(); err != nil {
		return nil, err // ended before anything is sent: nothing is applied, as in process
	}
	id := strconv.FormatUint(c.nextID.Add(1), 36)
	payload, err := json.Marshal(wire.Request[any]{ID: &id, Op: op, RequestID: requestID, Args: args})
	if err != nil {
		return nil, fmt.Errorf("beckon remote: encoding %s: %w", op, err)
	}
	conn, err := c.ready(ctx)
	if err != nil {
		return nil, err
	}
	ch := make(chan reply, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	pr, err := c.cm.Publish(ctx, &paho.Publish{Topic: c.topics.req, QoS: 1, Payload: payload,
		Properties: &paho.PublishProperties{CorrelationData: []byte(id), ResponseTopic: c.topics.reply}})
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrConnectionLost, err)
	case pr != nil && pr.ReasonCode >= 0x80:
		return nil, fmt.Errorf("beckon remote: the server refused the request (PUBACK 0x%02x)", pr.ReasonCode)
	}
	select {
	case r := <-ch:
		return r.Result, replyError(r)
	case <-conn.down:
		return nil, ErrConnectionLost
	case <-c.closing:
		return nil, ErrConnectionLost
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ready waits for a connection whose subscriptions are granted.
func (c *Client) ready(ctx context.Context) (*connection, error) {
	for {
		c.mu.Lock()
		cur, changed := c.cur, c.changed
		c.mu.Unlock()
		var ready, down chan struct{}
		if cur != nil {
			ready, down = cur.ready, cur.down
		}
		select {
		case <-ready:
			return cur, nil
		case <-down:
		case <-changed:
		case <-c.closing:
			return nil, beckon.ErrNotLoggedIn
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// do runs one signaling operation with opts applied.
func (c *Client) do(ctx context.Context, in kernel.Input, opts []CallOption) (string, error) {
	if err := beckon.ApplyCallOptions(&in, opts); err != nil {
		return "", err
	}
	op, args, err := wire.ArgsOf(in)
	if err != nil {
		return "", err
	}
	res, err := c.call(ctx, op, in.RequestID, args)
	if err != nil || (in.Op != kernel.OpInvite && in.Op != kernel.OpInviteInGroup) {
		return "", err
	}
	var r wire.InviteResult
	if err := json.Unmarshal(res, &r); err != nil {
		return "", fmt.Errorf("beckon remote: %s: undecodable result %q: %w", op, res, err)
	}
	return r.InviteID, nil
}

// CallOption is beckon.CallOption: the same options, made by the same
// functions (beckon.WithRequestID, ...).
type CallOption = beckon.CallOption

// Invite invites invitee to a 1:1 call with data and returns the new
// invite ID; see beckon.Client.Invite.
func (c *Client) Invite(ctx context.Context, invitee, data string, opts ...CallOption) (inviteID string, err error) {
	return c.do(ctx, kernel.Input{Op: kernel.OpInvite, Invitees: []string{invitee}, Data: data}, opts)
}

// InviteInGroup invites invitees, members of group, with data and returns
// the new invite ID; see beckon.Client.InviteInGroup.
func (c *Client) InviteInGroup(ctx context.Context, group string, invitees []string, data string, opts ...CallOption) (inviteID string, err error) {
	return c.do(ctx, kernel.Input{Op: kernel.OpInviteInGroup, Group: group, Invitees: invitees, Data: data}, opts)
}

// Cancel cancels an invitation this user made; see beckon.Client.Cancel.
func (c *Client) Cancel(ctx context.Context, inviteID, data string, opts ...CallOption) error {
	_, err := c.do(ctx, kernel.Input{Op: kernel.OpCancel, InviteID: inviteID, Data: data}, opts)
	return err
}

// Accept accepts an invitation pending for this user; see
// beckon.Client.Accept.
func (c *Client) Accept(ctx context.Context, inviteID, data string, opts ...CallOption) error {
	_, err := c.do(ctx, kernel.Input{Op: kernel.OpAccept, InviteID: inviteID, Data: data}, opts)
	return err
}

// Reject rejects an invitation pending for this user; see
// beckon.Client.Reject.
func (c *Client) Reject(ctx context.Context, inviteID, data string, opts ...CallOption) error {
	_, err := c.do(ctx, kernel.Input{Op: kernel.OpReject, InviteID: inviteID, Data: data}, opts)
	return err
}

// Modify replaces the data of an open invitation this user takes part in;
// see beckon.Client.Modify.
func (c *Client) Modify(ctx context.Context, inviteID, data string, opts ...CallOption) error {
	_, err := c.do(ctx, kernel.Input{Op: kernel.OpModify, InviteID: inviteID, Data: data}, opts)
	return err
}

// GetSignalingInfo parses a signaling message, such as the Payload of a
// HistoryMessage (HIS-3); see beckon.GetSignalingInfo.
func (c *Client) GetSignalingInfo(msg []byte) (beckon.SignalingInfo, error) {
	return beckon.GetSignalingInfo(msg)
}

// History lists the signaling messages of this user's 1:1 conversation
// with peer, Seq > after, oldest first, at most limit (<= 0: all), within
// Options.Timeout.
func (c *Client) History(peer string, after uint64, limit int) ([]beckon.HistoryMessage, error) {
	return c.history(wire.HistoryArgs{Peer: peer}, after, limit)
}

// GroupHistory lists the signaling messages of group, Seq > after, oldest
// first, at most limit (<= 0: all), within Options.Timeout, if this user is
// a current member of the group (HIS-4): else it fails with
// beckon.ErrNotGroupMember (10007), or beckon.ErrGroupNotFound (10010).
func (c *Client) GroupHistory(group string, after uint64, limit int) ([]beckon.HistoryMessage, error) {
	return c.history(wire.HistoryArgs{Group: group}, after, limit)
}

// maxHistoryPage is the most messages one history request returns
// (docs/protocol.md).
const maxHistoryPage = 1000

// history reads page after page until limit messages or the end.
func (c *Client) history(a wire.HistoryArgs, after uint64, limit int) ([]beckon.HistoryMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	var out []beckon.HistoryMessage
	for {
		n := maxHistoryPage
		if limit > 0 {
			n = min(limit-len(out), maxHistoryPage)
		}
		a.After, a.Limit = after, &n
		res, err := c.call(ctx, "history", "", a)
		if err != nil {
			return nil, err
		}
		_, page, err := decode[wire.HistoryResult]("history", res)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < n || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		after = page[len(page)-1].Seq
	}
}

// OpenInvitations lists the open invitations this user made or that are
// pending for it (QRY-1), as beckon.Client.OpenInvitations does; ctx
// bounds the wait for the reply.
func (c *Client) OpenInvitations(ctx context.Context) ([]beckon.OpenInvitation, error) {
	res, err := c.call(ctx, "listOpen", "", struct{}{})
	if err != nil {
		return nil, err
	}
	_, invs, err := decode[wire.OpenResult]("listOpen", res)
	return invs, err
}

// maxRecordsPage is the most records one records request returns
// (docs/protocol.md).
const maxRecordsPage = 1000

// Records lists this user's call records, newest first, after the cursor
// (the zero RecordCursor: from the newest), at most limit (<= 0: all
// kept), within Options.Timeout, as beckon.Client.Records does (REC-1,
// REC-2): the Cursor() of a record is where the next page begins.
func (c *Client) Records(after beckon.RecordCursor, limit int) ([]beckon.CallRecord, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	var out []beckon.CallRecord
	a := wire.RecordsArgs{After: wire.EncodeCursor(after)}
	for {
		n := maxRecordsPage
		if limit > 0 {
			n = min(limit-len(out), maxRecordsPage)
		}
		a.Limit = &n
		res, err := c.call(ctx, "records", "", a)
		if err != nil {
			return nil, err
		}
		r, page, err := decode[wire.RecordsResult]("records", res)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if r.Next == "" || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		a.After = r.Next
	}
}

// decode reads the result res of op: its JSON, then the values it holds.
func decode[R interface{ Decode() (T, error) }, T any](op string, res json.RawMessage) (r R, v T, err error) {
	if err = json.Unmarshal(res, &r); err == nil {
		v, err = r.Decode()
	}
	if err != nil {
		err = fmt.Errorf("beckon remote: %s: undecodable result: %w", op, err)
	}
	return r, v, err
}
