package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// Engine is what the adapter needs of the runtime; *beckon.Runtime is one.
// Do applies one input. HistoryAs reads a conversation for user, and must
// refuse, with an SDK-coded error, a user who is not one of the
// conversation's users (HIS-4): the adapter names the acting user and
// leaves the membership check to the runtime, which knows the groups.
// OpenInvitations (QRY-1) and Records (REC-1, REC-2) list user's own; the
// adapter only ever names the connection's user (REM-1).
type Engine interface {
	Do(ctx context.Context, in kernel.Input) (kernel.Result, error)
	HistoryAs(ctx context.Context, user string, conv kernel.Conversation, after uint64, limit int) ([]port.HistoryMessage, error)
	OpenInvitations(ctx context.Context, user string) ([]kernel.OpenInvitation, error)
	Records(user string, after port.RecordCursor, limit int) ([]port.CallRecord, error)
	// Acked says that a session's device has every event up to seq
	// (port.Keeper); it must not wait.
	Acked(user, session string, seq uint64)
}

// Defaults of Options (docs/protocol.md "Limits").
const (
	DefaultMaxPacketBytes    = 64 << 10
	DefaultMaxRequestBytes   = 32 << 10
	DefaultRequestsPerSecond = 20
	DefaultRequestBurst      = 40
	DefaultMaxConnsPerUser   = 8
	DefaultEventQueue        = 1024
	DefaultSessionExpiry     = 120 * time.Second
)

// Options configure a Server. Engine and Authenticator are required; a
// zero limit takes its default.
type Options struct {
	Engine        Engine
	Authenticator Authenticator // JWT(secret), Anonymous(), or the product's own
	Logger        *slog.Logger  // default slog.Default()

	MaxPacketBytes    int     // largest MQTT packet a device may send
	MaxRequestBytes   int     // largest request payload; above it the reply is 6017
	RequestsPerSecond float64 // sustained requests per connection; above it the reply is 7008
	RequestBurst      int     // requests a connection may send at once after a quiet spell
	MaxConnsPerUser   int     // connections of one user at once; more are refused (CONNACK 0x97 / 3)

	// EventQueue bounds, per session, the events not acknowledged yet:
	// those written and not acknowledged, and those waiting for the
	// connection (or, while the session is away, for it to resume). A
	// session that falls that far behind can no longer be resumed: its
	// connection is closed and the session ended (logged; one away ends
	// when its device comes back or its expiry passes); the device then
	// comes back as a new session and gets the invitations still pending
	// again (SYN-1, REM-6). Keep never waits. It bounds a connection's
	// events in flight too (written and not acknowledged): past it the
	// next event closes the connection (logged), its session away as
	// after any lost connection. A device that stopped reading, its TCP
	// window full, is closed without its DISCONNECT after a second.
	EventQueue int

	// SessionExpiry is how long a session outlives a lost connection
	// (REM-4): what an MQTT 3.1.1 device with clean session false gets,
	// and the most an MQTT 5 device may ask for with its Session Expiry
	// Interval. Whole seconds, at most a day (kernel.MaxSessionExpirySeconds).
	SessionExpiry time.Duration
}

// Server is the MQTT side of beckon: an embedded broker whose hooks
// implement docs/protocol.md, and the runtime's port.Delivery. Create it
// with New, give it listeners with Serve and Handler, stop it with Close.
type Server struct {
	opts  Options
	log   *slog.Logger
	mochi *mochi.Server
	ctx   context.Context // of the Engine calls; cancelled by Close once the workers are done or late
	stop  context.CancelFunc

	mu        sync.Mutex
	closed    bool
	conns     map[*mochi.Client]*conn
	sessions  map[sessionKey]*session
	listeners []net.Listener

	// flushed: the runtime calls Flush after each batch, so Keep leaves
	// the waking of connections to it; dirty are the connections to wake.
	flushed atomic.Bool
	dmu     sync.Mutex
	dirty   []*conn
	workers sync.WaitGroup // conn goroutines
	serving sync.WaitGroup // accept loops and connections of Serve
}

// New returns a Server ready for Serve and Handler.
func New(opts Options) (*Server, error) {
	if opts.Engine == nil {
		return nil, errors.New("mqtt: Options.Engine is nil: give the runtime (or an adapter of it)")
	}
	if opts.Authenticator == nil {
		return nil, errors.New("mqtt: Options.Authenticator is nil: give JWT(secret), your own, or Anonymous() for tests")
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opts.MaxPacketBytes, DefaultMaxPacketBytes)
	def(&opts.MaxRequestBytes, DefaultMaxRequestBytes)
	def(&opts.RequestBurst, DefaultRequestBurst)
	def(&opts.MaxConnsPerUser, DefaultMaxConnsPerUser)
	def(&opts.EventQueue, DefaultEventQueue)
	if opts.SessionExpiry <= 0 {
		opts.SessionExpiry = DefaultSessionExpiry
	}
	if opts.SessionExpiry%time.Second != 0 || opts.SessionExpiry > 24*time.Hour {
		return nil, fmt.Errorf("mqtt: Options.SessionExpiry %v: give whole seconds, at most 24h", opts.SessionExpiry)
	}
	if opts.RequestsPerSecond <= 0 {
		opts.RequestsPerSecond = DefaultRequestsPerSecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = uint32(opts.MaxPacketBytes)
	caps.MaximumQos = 1
	caps.RetainAvailable = 0
	caps.MaximumSessionExpiryInterval = 0
	mlog := opts.Logger.With(slog.String("component", "mqtt-broker"))
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		mochi:    mochi.New(&mochi.Options{Capabilities: caps, Logger: mlog, SysTopicResendInterval: 3600}),
		conns:    make(map[*mochi.Client]*conn),
		sessions: make(map[sessionKey]*session),
	}
	s.ctx, s.stop = context.WithCancel(context.Background())
	if err := s.mochi.AddHook(&hook{s: s}, nil); err != nil {
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	if err := s.mochi.Serve(); err != nil {
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	return s, nil
}

// Serve accepts MQTT connections (TCP, or TLS with a tls listener) on ln
// until Close, which closes ln. It returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners = append(s.listeners, ln)
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("mqtt: accepting on %s: %w", ln.Addr(), err)
		}
		s.serving.Add(1)
		go func() {
			defer s.serving.Done()
			s.establish("tcp", c)
		}()
	}
}

// establish runs one connection until it ends.
func (s *Server) establish(listener string, c net.Conn) {
	if err := s.mochi.EstablishConnection(listener, &corkConn{Conn: c}); err != nil {
		s.log.Debug("mqtt: connection ended", slog.String("remote", c.RemoteAddr().String()), slog.Any("err", err))
	}
}

// Close stops the server: listeners close, every connection is closed with
// DISCONNECT 0x8B (server shutting down) and its session ends (Disconnect)
// within ctx; then the broker stops. Call it before closing the runtime.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	lns := s.listeners
	var cls []*mochi.Client
	for cl := range s.conns {
		cls = append(cls, cl)
	}
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	var bye sync.WaitGroup
	for _, cl := range cls {
		bye.Go(func() { s.disconnect(cl, packets.ErrServerShuttingDown) })
	}
	done := make(chan struct{})
	go func() {
		bye.Wait()
		s.workers.Wait()
		s.serving.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("mqtt: closing: sessions still ending: %w", ctx.Err())
		s.stop() // the Engine calls still waiting give up
		<-done
	}
	s.stop()
	_ = s.mochi.Close()
	return err
}

// disconnectGrace bounds how long closing a connection waits to write
// its DISCONNECT. A device that does not read fills its TCP window; a
// write to it then blocks, holding the connection's write lock, until
// the keep-alive deadline: such a connection is closed without it.
const disconnectGrace = time.Second

// disconnect writes DISCONNECT with code to cl and closes it, without the
// DISCONNECT if it is not written within disconnectGrace.
func (s *Server) disconnect(cl *mochi.Client, code packets.Code) {
	t := time.AfterFunc(disconnectGrace, func() { cl.Stop(code) })
	defer t.Stop()
	_ = s.mochi.DisconnectClient(cl, code)
}

// acquire returns the session of key, kept until release.
func (s *Server) acquire(key sessionKey) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ses := s.sessions[key]
	if ses == nil {
		ses = &session{}
		s.sessions[key] = ses
	}
	ses.refs++
	return ses
}

func (s *Server) release(key sessionKey, ses *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ses.refs--
	if ses.idle() {
		delete(s.sessions, key)
	}
}

// setOwner makes c the connection that is the session (nil: none), and
// its writer: the events not acknowledged are written again, to c.
func (s *Server) setOwner(ses *session, c *conn) {
	s.mu.Lock()
	ses.owner = c
	s.mu.Unlock()
	ses.write(c)
}

// lockSession returns the session of key, held (acquire) and locked for a
// presence change until unlock.
func (s *Server) lockSession(key sessionKey) (ses *session, unlock func()) {
	ses = s.acquire(key)
	ses.mu.Lock()
	return ses, func() {
		ses.mu.Unlock()
		s.release(key, ses)
	}
}
