package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/adapters/memory"
	"github.com/beckonhq/beckon/adapters/mqtt"
)

// defaultDataDir holds the store and the token secret of `beckon serve`.
const defaultDataDir = "./beckon-data"

// shutdownGrace bounds how long serve waits for sessions to end.
const shutdownGrace = 10 * time.Second

type serveConfig struct {
	mqttAddr, httpAddr string
	tlsCert, tlsKey    string
	data, store        string
	anonymous, demo    bool
	limits             mqtt.Options
	log                *slog.Logger
}

// runServe parses serve's flags and serves until SIGINT or SIGTERM.
func runServe(args []string, errOut io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var c serveConfig
	fs.StringVar(&c.mqttAddr, "mqtt", ":1883", "MQTT (TCP) listen address")
	fs.StringVar(&c.httpAddr, "http", ":8080", "HTTP listen address; MQTT over websocket at /mqtt")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "TLS certificate file (PEM); with -tls-key, both listeners use TLS")
	fs.StringVar(&c.tlsKey, "tls-key", "", "TLS key file (PEM)")
	fs.StringVar(&c.data, "data", defaultDataDir, "data directory: the durable store and the token secret")
	fs.StringVar(&c.store, "store", "bolt", "bolt (durable, in the data directory) or memory (lost at exit)")
	fs.BoolVar(&c.anonymous, "anonymous", false, "accept any password, trusting the username: NEVER in production")
	fs.BoolVar(&c.demo, "demo", false, "serve the web demo at / of the HTTP port; it hands a token for any user name to anyone: NEVER in production")
	fs.IntVar(&c.limits.MaxPacketBytes, "max-packet", mqtt.DefaultMaxPacketBytes, "largest MQTT packet a device may send, bytes")
	fs.IntVar(&c.limits.MaxRequestBytes, "max-request", mqtt.DefaultMaxRequestBytes, "largest request payload, bytes")
	fs.Float64Var(&c.limits.RequestsPerSecond, "rate", mqtt.DefaultRequestsPerSecond, "requests per second per connection")
	fs.IntVar(&c.limits.RequestBurst, "burst", mqtt.DefaultRequestBurst, "request burst per connection")
	fs.IntVar(&c.limits.MaxConnsPerUser, "max-conns", mqtt.DefaultMaxConnsPerUser, "connections per user")
	fs.IntVar(&c.limits.EventQueue, "event-queue", mqtt.DefaultEventQueue, "events not acknowledged per session before the session is ended")
	fs.DurationVar(&c.limits.SessionExpiry, "session-expiry", mqtt.DefaultSessionExpiry, "longest a session outlives a lost connection (whole seconds, at most 24h)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || (c.tlsCert == "") != (c.tlsKey == "") || (c.store != "bolt" && c.store != "memory") {
		fmt.Fprintf(errOut, "serve takes no arguments, -tls-cert and -tls-key together, -store bolt or memory\n%s", usage)
		return errUsage
	}
	c.log = slog.New(slog.NewJSONHandler(errOut, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return serve(ctx, c, nil)
}

// serve runs the server until ctx ends, then shuts down: listeners stop,
// connections close and their sessions end, the runtime finishes its
// batches, the store closes. ready, if not nil, gets the bound addresses.
func serve(ctx context.Context, c serveConfig, ready func(mqttAddr, httpAddr net.Addr)) (err error) {
	secret, err := loadSecret(c.data)
	if err != nil {
		return err
	}
	var store beckon.Store = memory.NewStore()
	if c.store == "bolt" {
		if store, err = bolt.Open(filepath.Join(c.data, "beckon.db")); err != nil {
			return err
		}
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	auth := mqtt.JWT(secret)
	if c.anonymous {
		c.log.Warn("beckon: -anonymous: any password is accepted; never in production")
		auth = mqtt.Anonymous()
	}
	eng := &engine{}
	opts := c.limits
	opts.Engine, opts.Authenticator, opts.Logger = eng, auth, c.log
	srv, err := mqtt.New(opts)
	if err != nil {
		return err
	}
	rt, err := beckon.New(beckon.WithStore(store), beckon.WithDelivery(srv), beckon.WithLogger(c.log))
	if err != nil {
		return err
	}
	eng.Runtime = rt
	defer func() { err = errors.Join(err, rt.Close()) }()

	listen := func(addr string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil || c.tlsCert == "" {
			return ln, err
		}
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			ln.Close()
			return nil, err
		}
		return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
	}
	mln, err := listen(c.mqttAddr)
	if err != nil {
		return err
	}
	hln, err := listen(c.httpAddr)
	if err != nil {
		mln.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/mqtt", srv.Handler())
	if c.demo {
		newWebDemo(rt, srv, secret, c.log).register(mux)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errs := make(chan error, 2)
	go func() { errs <- srv.Serve(mln) }()
	go func() {
		if err := hs.Serve(hln); !errors.Is(err, http.ErrServerClosed) {
			errs <- err
			return
		}
		errs <- nil
	}()
	c.log.Info("beckon: serving", slog.String("mqtt", mln.Addr().String()),
		slog.String("http", hln.Addr().String()+"/mqtt"), slog.String("store", c.store), slog.String("data", c.data))
	if ready != nil {
		ready(mln.Addr(), hln.Addr())
	}
	select {
	case <-ctx.Done():
	case err = <-errs:
		c.log.Error("beckon: a listener failed", slog.Any("err", err))
	}
	c.log.Info("beckon: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err = errors.Join(err, hs.Shutdown(sctx), srv.Close(sctx))
	return err
}

// engine is the MQTT adapter's Engine: the runtime, which can only be made
// once the adapter (its Delivery) exists; devices are served after both.
type engine struct{ *beckon.Runtime }
