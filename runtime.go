package beckon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/beckonhq/beckon/adapters/memory"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	"github.com/benbjohnson/clock"
)

// Runtime runs one kernel: a single goroutine (the loop) owns it, and
// callers on any goroutine submit operations to it and wait for the
// answer. The loop applies the queued operations one by one; then what
// changed is made durable with one Store.Append for the whole batch (group
// commit, up to WithMaxBatch operations); then the events go to the
// Delivery and the push requests to the PushHook; and only then are the
// callers answered (DLV-3). Timeouts fire at the kernel's next deadline,
// read from the Clock.
//
// The loop only applies; a second goroutine, the committer, appends, and a
// third, the deliverer, delivers and answers, so that applying a batch,
// making the one before durable and delivering the one before that overlap
// (see loop.go).
//
// A Runtime is safe for concurrent use. Create it with New, stop it with
// Close.
type Runtime struct {
	store    Store
	delivery Delivery
	registry SessionRegistry // delivery, if it is one; nil otherwise
	keeper   port.Keeper     // delivery, if it is one; nil otherwise
	flusher  port.Flusher    // delivery, if it is one; nil otherwise
	push     PushHook
	clock    clock.Clock
	log      *slog.Logger
	owned    []func() error // closers of what New created
	release  func()         // of the store's claim
	every    uint64         // snapshot interval in records
	maxBatch int

	// Owned by the loop (and by New before the loop starts).
	k         *kernel.Kernel
	index     uint64 // of the last logged record
	snapIndex uint64 // of the latest snapshot taken

	commits   chan *batch // loop -> committer; closed when the loop exits
	delivered chan *batch // committer -> deliverer; closed when the committer exits
	free      chan *batch // committed batches, for reuse

	requests sync.Pool     // of *request
	drawID   func() string // draws the ID an invite proposes, on the caller's goroutine; nil if IDs are given

	mu       sync.Mutex
	queue    []*request          // submitted, not yet taken by the loop
	closed   bool                // no more submissions
	err      error               // why it closed: ErrClosed or a store failure
	sessions map[sessionKey]bool // logged-in clients
	wake     chan struct{}       // capacity 1: "the queue may be non-empty or closed is set"
	done     chan struct{}       // closed when the deliverer has exited (after the loop and the committer)

	acks       acks         // from Acked, for the committer
	appendTook atomic.Int64 // how long the committer's last Append (and snapshot) took, ns

	closeOnce sync.Once
	closeErr  error
}

type sessionKey struct{ user, session string }

// New returns a running Runtime. It first recovers what the store holds:
// the snapshot, then every record after it replayed at its time; then it
// lets time pass to now, so that deadlines that passed while it was down
// fire once (TMO-4), and ends every session without an expiry (none
// survives a restart), while the sessions with one are away from then on
// until they resume or their expiry passes (REM-4). Their events, kept by
// the store, recovery's own included, go to the delivery if it is a
// port.Keeper (REM-5); other events of recovery are dropped (no session is
// there to hear them). Recovery's records and history are logged.
//
// A store serves one runtime at a time: New claims it (Store.Claim) and
// Close releases it, so New on a store that another runtime still uses
// fails with an error matching port.ErrLocked.
func New(opts ...Option) (*Runtime, error) {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	r := &Runtime{
		store: s.store, delivery: s.delivery, push: s.push, clock: s.clock, log: s.logger,
		maxBatch:  s.maxBatch,
		sessions:  make(map[sessionKey]bool),
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		commits:   make(chan *batch),
		delivered: make(chan *batch, 1),
		free:      make(chan *batch, 4),
	}
	r.requests.New = newRequest
	if r.store == nil {
		m := memory.NewStore()
		r.store = m
		r.owned = append(r.owned, m.Close)
	}
	if r.delivery == nil {
		h := memory.NewHub()
		r.delivery = h
		r.owned = append(r.owned, h.Close)
	}
	r.registry, _ = r.delivery.(SessionRegistry)
	r.keeper, _ = r.delivery.(port.Keeper)
	r.flusher, _ = r.delivery.(port.Flusher)
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.push == nil {
		r.push = LogPush(r.log)
	}
	if r.clock == nil {
		r.clock = clock.New()
	}
	r.every = DefaultSnapshotEvery
	if s.snapshotEvery > 0 {
		r.every = uint64(s.snapshotEvery)
	}
	if r.maxBatch <= 0 {
		r.maxBatch = DefaultMaxBatch
	}
	kcfg := s.kernel
	if s.ids != nil {
		kcfg.IDs = s.ids
	}
	if kcfg.IDs == nil {
		r.drawID = newUUID
		kcfg.IDs = UUIDInviteIDs(nil)
	}
	release, err := r.store.Claim()
	if err != nil {
		r.closeOwned()
		if errors.Is(err, port.ErrLocked) {
			return nil, fmt.Errorf("beckon: the store serves another runtime; close that runtime first, or give this one its own store: %w", err)
		}
		return nil, fmt.Errorf("beckon: claiming the store: %w", err)
	}
	r.release = release
	if err := r.recover(kcfg); err != nil {
		r.release()
		r.closeOwned()
		return nil, err
	}
	go r.run()
	go r.commitLoop()
	go r.deliverLoop()
	return r, nil
}

// Close stops the runtime. Operations the loop has already taken finish
// (they are durable and answered as usual); operations still queued, and
// every later one, fail with ErrClosed without being applied. Close then
// closes the store and delivery that New created (not those given with
// WithStore or WithDelivery). It returns the store failure that stopped the
// runtime, if one did, else nil; later calls return the same.
//
// Close never waits for a Listener callback: it returns once the batches
// in flight are durable and handed to the delivery (at most two
// Store.Appends and their deliveries), whatever the callbacks do, so a
// callback may call it. The callbacks of events handed over before it may
// still run after it returns (the default hub's goroutines finish them and
// exit); a callback that blocks forever keeps its goroutine.
func (r *Runtime) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		if !r.closed {
			r.closed, r.err = true, ErrClosed
		}
		r.mu.Unlock()
		r.signal()
		<-r.done
		r.release()
		r.closeOwned()
		if r.err != ErrClosed {
			r.closeErr = r.err
		}
	})
	return r.closeErr
}

// Err returns why the runtime stopped: nil while it runs, ErrClosed after
// Close, or an error wrapping ErrStoreFailed after a store failure.
func (r *Runtime) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *Runtime) closeOwned() {
	for _, c := range r.owned {
		if err := c(); err != nil {
			r.log.Warn("beckon: closing", slog.Any("err", err))
		}
	}
	r.owned = nil
}

// Do applies one kernel input, as the user it names, and returns the
// kernel's result once it is durable and its events are handed over. It is
// the raw path under Client and the membership methods, for adapters that
// act for remote sessions. The error is the kernel's (Result.Err) or the
// runtime's (ErrClosed, ErrStoreFailed) or ctx's; a nil ctx is refused
// with 6017.
//
// ctx bounds the wait in the queue only. If it ends before the loop takes
// the input, the input is never applied and Do returns ctx's error. Once
// the loop has taken it, the input is applied and will be made durable
// whatever ctx does, so Do waits for that and returns the true outcome
// (ctx's error would report an applied input as not done): that wait is
// for the store commits in flight, the batch before and the input's own,
// and with a slow store it can outlast ctx's deadline.
func (r *Runtime) Do(ctx context.Context, in kernel.Input) (kernel.Result, error) {
	return r.submit(ctx, in)
}

// SetGroup makes members the whole membership of group, creating it if
// needed. Invitations already made are not affected.
func (r *Runtime) SetGroup(ctx context.Context, group string, members []string) error {
	_, err := r.submit(ctx, kernel.SetGroup(group, members))
	return err
}

// JoinGroup adds user to group (10010 if the group is unknown).
func (r *Runtime) JoinGroup(ctx context.Context, group, user string) error {
	_, err := r.submit(ctx, kernel.JoinGroup(group, user))
	return err
}

// LeaveGroup removes user from group (10010 if the group is unknown).
func (r *Runtime) LeaveGroup(ctx context.Context, group, user string) error {
	_, err := r.submit(ctx, kernel.LeaveGroup(group, user))
	return err
}

// History lists the signaling messages of conv with Seq > after, oldest
// first, at most limit of them (limit <= 0: all), from the store (HIS-1).
// It does not go through the loop: it sees what is durable. It checks no
// reader: it is the raw path for trusted code; to read as a user, who may
// read only their own conversations (HIS-4), use HistoryAs.
func (r *Runtime) History(conv Conversation, after uint64, limit int) ([]HistoryMessage, error) {
	msgs, err := r.store.History(conv, after, limit)
	if err != nil {
		return nil, readError(err, "history of "+conv.String())
	}
	return msgs, nil
}

// readError is the error of a failed read of the store: ErrClosed once it
// is closed (the runtime's, whatever the adapter said), else the store's,
// saying what was read.
func readError(err error, what string) error {
	if errors.Is(err, port.ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("beckon: %s: %w", what, err)
}
