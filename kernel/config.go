package kernel

import "time"

// Default limits (LIM-1). Each can be changed in Config.
const (
	DefaultMaxIDBytes          = 128              // user, session, group and request IDs
	DefaultMaxInvitees         = 200              // invitees of one group invite
	DefaultMaxDataBytes        = 8 << 10          // data of any operation (8 KiB)
	DefaultMaxPushBytes        = 4 << 10          // push info's title, desc, ext and sound together (4 KiB, an APNs payload)
	DefaultMaxOpenPerInviter   = 100              // open invitations of one inviter
	DefaultMaxTimeoutSeconds   = 86400            // one day
	DefaultRequestIDWindow     = 10 * time.Minute // how long a request ID is remembered
	DefaultMaxRequestIDs       = 100_000          // how many request IDs are remembered at most
	MaxInviteIDBytes           = 127              // invite IDs, fixed by the SDK's 128-byte buffer
	MaxSessionExpirySeconds    = 86400            // the longest a session may outlive a lost connection (REM-4)
	maxGeneratedInviteIDTrials = 8
)

// IDSource draws invite IDs for invites that neither choose one nor carry
// a usable proposal (Input.ProposedInviteID). It is
// called only from Apply, so it needs no locking. An ID it returns that is
// already in use is skipped (up to 8 draws, then the invite fails with
// ErrAlreadyExists). IDs longer than 127 bytes or empty fail the invite.
type IDSource interface {
	NewInviteID() string
}

// IDSourceFunc adapts a function to IDSource.
type IDSourceFunc func() string

// NewInviteID calls f.
func (f IDSourceFunc) NewInviteID() string { return f() }

// Config holds the limits and the ID source. The zero value of a field
// means its default. Limits are not part of a snapshot: restore with the
// config the snapshot was taken with (or looser).
type Config struct {
	MaxIDBytes        int           // default DefaultMaxIDBytes
	MaxInvitees       int           // default DefaultMaxInvitees
	MaxDataBytes      int           // default DefaultMaxDataBytes
	MaxPushBytes      int           // default DefaultMaxPushBytes
	MaxOpenPerInviter int           // default DefaultMaxOpenPerInviter
	MaxTimeoutSeconds int           // default DefaultMaxTimeoutSeconds
	RequestIDWindow   time.Duration // default DefaultRequestIDWindow
	MaxRequestIDs     int           // default DefaultMaxRequestIDs

	// IDs draws invite IDs. Default: a deterministic counter ("i1", "i2",
	// ...) kept in the snapshot; a runtime injects something unguessable
	// (or proposes it in the input). The ID taken is in the logged Record,
	// so replay never calls it for an already logged invite.
	IDs IDSource
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxIDBytes, DefaultMaxIDBytes)
	def(&c.MaxInvitees, DefaultMaxInvitees)
	def(&c.MaxDataBytes, DefaultMaxDataBytes)
	def(&c.MaxPushBytes, DefaultMaxPushBytes)
	def(&c.MaxOpenPerInviter, DefaultMaxOpenPerInviter)
	def(&c.MaxTimeoutSeconds, DefaultMaxTimeoutSeconds)
	def(&c.MaxRequestIDs, DefaultMaxRequestIDs)
	if c.RequestIDWindow <= 0 {
		c.RequestIDWindow = DefaultRequestIDWindow
	}
	return c
}
