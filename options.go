package beckon

import (
	"log/slog"

	"github.com/beckonhq/beckon/kernel"
	"github.com/benbjohnson/clock"
)

// Defaults of the runtime's options.
const (
	// DefaultMaxBatch is how many queued operations the loop applies
	// together and makes durable with one Store.Append (group commit).
	DefaultMaxBatch = 256
	// DefaultSnapshotEvery is how many records the runtime logs between
	// two snapshots.
	DefaultSnapshotEvery = 10_000
)

// Option configures a Runtime (see New).
type Option func(*settings)

// settings is what the options set.
type settings struct {
	store         Store
	delivery      Delivery
	push          PushHook
	clock         clock.Clock
	logger        *slog.Logger
	kernel        kernel.Config
	ids           kernel.IDSource
	snapshotEvery int
	maxBatch      int
}

// WithStore makes the runtime keep its log, snapshots and history in s and
// recover from what s holds. The caller owns s: Close does not close it.
// Default: a new memory.Store, closed by Close.
func WithStore(s Store) Option { return func(o *settings) { o.store = s } }

// WithDelivery makes the runtime hand events to d. The caller owns d.
// Runtime.Login needs d to be a SessionRegistry. Default: a new
// memory.Hub, closed by Close.
func WithDelivery(d Delivery) Option { return func(o *settings) { o.delivery = d } }

// WithPushHook makes the runtime hand offline-push requests (SYN-2) to h.
// Default: LogPush of the runtime's logger.
func WithPushHook(h PushHook) Option { return func(o *settings) { o.push = h } }

// WithClock sets the runtime's clock: the time operations are applied at
// and the timer of timeouts. Default: clock.New(), the system clock (which
// testing/synctest fakes inside a bubble).
func WithClock(c clock.Clock) Option { return func(o *settings) { o.clock = c } }

// WithLogger sets where the runtime logs. Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *settings) { o.logger = l } }

// WithKernelConfig sets the kernel's limits (LIM-1). Its IDs field is used
// unless WithInviteIDs is given too; when both are empty, invite IDs are
// UUIDs. Restart a runtime with the limits it ran with (or looser ones).
func WithKernelConfig(cfg kernel.Config) Option { return func(o *settings) { o.kernel = cfg } }

// WithInviteIDs sets where invite IDs come from when the inviter does not
// choose one; the loop calls ids. Default: random version-4 UUIDs from
// crypto/rand, like UUIDInviteIDs(nil), but each drawn by the inviting
// caller on its own goroutine, which takes that work off the loop.
func WithInviteIDs(ids kernel.IDSource) Option { return func(o *settings) { o.ids = ids } }

// WithSnapshotEvery makes the runtime save a snapshot every n logged
// records, so that the store can drop older records and recovery replays
// at most about n of them. n <= 0 means DefaultSnapshotEvery.
func WithSnapshotEvery(n int) Option { return func(o *settings) { o.snapshotEvery = n } }

// WithMaxBatch sets how many queued operations are applied and made
// durable together (group commit). n <= 0 means DefaultMaxBatch; 1 turns
// group commit off (one Store.Append per operation).
func WithMaxBatch(n int) Option { return func(o *settings) { o.maxBatch = n } }
