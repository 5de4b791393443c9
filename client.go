package beckon

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/beckonhq/beckon/kernel"
)

// Signaling is the SDK's API of one logged-in session, whatever carries
// it: *Client in the runtime's process, *remote.Client over MQTT. A program
// written against it switches from one to the other by changing the one
// call that makes it (Runtime.Login, remote.Dial).
type Signaling interface {
	User() string
	Session() string
	Invite(ctx context.Context, invitee, data string, opts ...CallOption) (inviteID string, err error)
	InviteInGroup(ctx context.Context, group string, invitees []string, data string, opts ...CallOption) (inviteID string, err error)
	Cancel(ctx context.Context, inviteID, data string, opts ...CallOption) error
	Accept(ctx context.Context, inviteID, data string, opts ...CallOption) error
	Reject(ctx context.Context, inviteID, data string, opts ...CallOption) error
	Modify(ctx context.Context, inviteID, data string, opts ...CallOption) error
	History(peer string, after uint64, limit int) ([]HistoryMessage, error)
	GroupHistory(group string, after uint64, limit int) ([]HistoryMessage, error)
	GetSignalingInfo(msg []byte) (SignalingInfo, error)
	OpenInvitations(ctx context.Context) ([]OpenInvitation, error)
	Records(after RecordCursor, limit int) ([]CallRecord, error)
	Close() error
}

var _ Signaling = (*Client)(nil)

// Client is one logged-in session (device) of a user: the SDK's API. Create
// it with Runtime.Login; it is safe for concurrent use. Every operation
// waits until its effects are durable and its events handed over, then
// returns; an operation the rules reject returns an error matching one of
// ErrInvalidParameters, ErrInvalidInviteID and the others, whose SDK code
// Code reads (8010, 8011, ...). After Close every call returns
// ErrNotLoggedIn (6014); after the runtime closed, ErrClosed (6013).
//
// The ctx of an operation bounds its wait in the runtime's queue, not its
// whole duration (see Runtime.Do): if ctx ends before the runtime takes
// the operation, it is never applied and ctx's error is returned; once
// taken, it is applied and made durable whatever ctx does, and the call
// returns its true result, even after ctx's deadline. A nil ctx, or a nil
// CallOption, fails with 6017.
type Client struct {
	rt         *Runtime
	user       string
	session    string
	unregister func()
	closed     atomic.Bool
}

// Login connects session of user and returns its Client. Events for the
// session go to l, starting with ReceiveNewInvitation for every invitation
// still pending for the user that is not online-only (SYN-1). A user may be
// logged in on several sessions at once; each gets every event of the user
// (DLV-1). Logging in a session that is already logged in fails with
// ErrSessionInUse. A nil ctx, or a Listener that cannot be called (nil, a
// nil EventFunc, a nil pointer), fails with 6017 (ErrInvalidParameters):
// pass ListenerFuncs{} to ignore every event.
func (r *Runtime) Login(ctx context.Context, user, session string, l Listener) (*Client, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	handle, err := ListenerHandler(l, r.log, user, session)
	if err != nil {
		return nil, err
	}
	if r.registry == nil {
		return nil, ErrNoSessionRegistry
	}
	key := sessionKey{user, session}
	r.mu.Lock()
	closed, inUse := r.closed, r.sessions[key]
	if !closed && !inUse {
		r.sessions[key] = true
	}
	stopped := r.err
	r.mu.Unlock()
	switch {
	case closed:
		return nil, stopped
	case inUse:
		return nil, ErrSessionInUse
	}
	c := &Client{rt: r, user: user, session: session}
	unregister, err := r.registry.Register(user, session, handle)
	if err == nil {
		c.unregister = unregister
		_, err = r.submit(ctx, kernel.Connect(user, session))
		if err != nil {
			unregister()
		}
	}
	if err != nil {
		r.forget(key)
		if stopped := r.Err(); stopped != nil {
			return nil, stopped // closed meanwhile (the hub with it)
		}
		return nil, err
	}
	return c, nil
}

// forget removes a session from the logged-in ones.
func (r *Runtime) forget(key sessionKey) {
	r.mu.Lock()
	delete(r.sessions, key)
	r.mu.Unlock()
}

// User returns the user this client acts as.
func (c *Client) User() string { return c.user }

// Session returns the session (device) ID of this client.
func (c *Client) Session() string { return c.session }

// Close logs the session out: it disconnects it (the kernel stops sending
// it events) and stops its callbacks once the events queued before are
// handled. Later calls return nil. Close may be called from a callback.
func (c *Client) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	_, err := c.rt.submit(context.Background(), kernel.Disconnect(c.user, c.session))
	c.unregister()
	c.rt.forget(sessionKey{c.user, c.session})
	if errors.Is(err, ErrClosed) {
		return nil // the runtime is gone, and the session with it
	}
	return err
}

// do runs one signaling operation with opts applied, as this client's
// user and session.
func (c *Client) do(ctx context.Context, in kernel.Input, opts []CallOption) (string, error) {
	if c.closed.Load() {
		return "", ErrNotLoggedIn
	}
	if err := applyOptions(&in, opts); err != nil {
		return "", err
	}
	in.User, in.Session = c.user, c.session
	res, err := c.rt.submit(ctx, in)
	return res.InviteID, err
}

// Invite invites invitee to a 1:1 call with data and returns the new
// invite ID (TIMSignalingInvite, INV-1). Options: OnlineUserOnly,
// TimeoutSeconds, WithPush, WithRequestID, WithInviteID.
func (c *Client) Invite(ctx context.Context, invitee, data string, opts ...CallOption) (inviteID string, err error) {
	return c.do(ctx, kernel.Input{Op: kernel.OpInvite, Invitees: []string{invitee}, Data: data}, opts)
}

// InviteInGroup invites invitees, members of group, with data and returns
// the new invite ID (TIMSignalingInviteInGroup, INV-2). invitees is not
// kept. Options: OnlineUserOnly, TimeoutSeconds, WithRequestID,
// WithInviteID.
func (c *Client) InviteInGroup(ctx context.Context, group string, invitees []string, data string, opts ...CallOption) (inviteID string, err error) {
	return c.do(ctx, kernel.Input{Op: kernel.OpInviteInGroup, Group: group, Invitees: invitees, Data: data}, opts)
}

// Cancel cancels an invitation this user made (TIMSignalingCancel, CAN-*).
// Option: WithRequestID.
func (c *Client) Cancel(ctx context.Context, inviteID, data string, opts ...CallOption) error {
	_, err := c.do(ctx, kernel.Input{Op: kernel.OpCancel, InviteID: inviteID, Data: data}, opts)
	return err
}

// Accept accepts an invitation pending for this user (TIMSignalingAccept,
// ACC-*). Option: WithRequestID.
func (c *Client) Accept(ctx context.Context, inviteID, data string, opts ...CallOption) error {
	_, err := c.do(ctx, kernel.Input{Op: kernel.OpAccept, InviteID: inviteID, Data: data}, opts)
	return err
}

// Reject rejects an invitation pending for this user (TIMSignalingReject,
// REJ-*). Option: WithRequestID.
func (c *Client) Reject(ctx context.Context, inviteID, data string, opts ...CallOption) error {
	_, err := c.do(ctx, kernel.Input{Op: kernel.OpReject, InviteID: inviteID, Data: data}, opts)
	return err
}

// Modify replaces the data of an open invitation this user takes part in
// (TIMSignalingModifyInvitation, MOD-*). Option: WithRequestID.
func (c *Client) Modify(ctx context.Context, inviteID, data string, opts ...CallOption) error {
	_, err := c.do(ctx, kernel.Input{Op: kernel.OpModify, InviteID: inviteID, Data: data}, opts)
	return err
}

// GetSignalingInfo parses a signaling message, such as the Payload of a
// HistoryMessage (TIMGetSignalingInfo, HIS-3); see the package function.
func (c *Client) GetSignalingInfo(msg []byte) (SignalingInfo, error) { return GetSignalingInfo(msg) }

// History lists the signaling messages of this user's 1:1 conversation
// with peer, Seq > after, oldest first, at most limit (<= 0: all). It is
// always the user's own conversation (HIS-4), so it reads the store
// directly.
func (c *Client) History(peer string, after uint64, limit int) ([]HistoryMessage, error) {
	if c.closed.Load() {
		return nil, ErrNotLoggedIn
	}
	return c.rt.History(C2C(c.user, peer), after, limit)
}

// GroupHistory lists the signaling messages of group, Seq > after, oldest
// first, at most limit (<= 0: all), if this user is a current member of
// the group (HIS-4): else it fails with ErrNotGroupMember (10007), or
// ErrGroupNotFound (10010) for an unknown group. See Runtime.HistoryAs.
func (c *Client) GroupHistory(group string, after uint64, limit int) ([]HistoryMessage, error) {
	if c.closed.Load() {
		return nil, ErrNotLoggedIn
	}
	return c.rt.HistoryAs(context.Background(), c.user, GroupConversation(group), after, limit)
}

// OpenInvitations lists the open invitations this user made or that are
// pending for it (QRY-1): see Runtime.OpenInvitations.
func (c *Client) OpenInvitations(ctx context.Context) ([]OpenInvitation, error) {
	if c.closed.Load() {
		return nil, ErrNotLoggedIn
	}
	return c.rt.OpenInvitations(ctx, c.user)
}

// Records lists this user's call records, newest first, after the cursor
// (the zero RecordCursor: from the newest), at most limit (<= 0: all
// kept): see Runtime.Records (REC-1, REC-2).
func (c *Client) Records(after RecordCursor, limit int) ([]CallRecord, error) {
	if c.closed.Load() {
		return nil, ErrNotLoggedIn
	}
	return c.rt.Records(c.user, after, limit)
}
