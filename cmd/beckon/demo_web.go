package main

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/mqtt"
)

// webFiles is the page of `beckon serve -demo`: plain modules, and the
// vendored MQTT client (web/vendor/README.md says which version).
//
//go:embed web
var webFiles embed.FS

// demoGroup is the group of the demo's group calls: every user handed a
// token is a member (INV-2 wants the caller and each invitee in the
// group), so a group call of users online never fails on membership.
const demoGroup = "demo"

// demoTokenTTL is how long a token handed out by /demo/token is valid.
const demoTokenTTL = 12 * time.Hour

// webDemo is `beckon serve -demo`. It serves the page at /, hands a token
// for any user name to anyone who asks (/demo/token), and says who is
// online (/demo/online, from the MQTT server's sessions).
type webDemo struct {
	rt     *beckon.Runtime
	srv    *mqtt.Server
	secret []byte
	log    *slog.Logger

	mu      sync.Mutex // held across a change of demoGroup, so that changes never cross
	members []string   // of demoGroup, sorted
}

func newWebDemo(rt *beckon.Runtime, srv *mqtt.Server, secret []byte, log *slog.Logger) *webDemo {
	log.Warn("beckon: -demo: the page at / and /demo/token hand a token for any user name to anyone who can reach the HTTP port; a demo only, never in production")
	return &webDemo{rt: rt, srv: srv, secret: secret, log: log}
}

// join makes user a member of demoGroup.
func (d *webDemo) join(ctx context.Context, user string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	i, found := slices.BinarySearch(d.members, user)
	if found {
		return nil
	}
	members := slices.Insert(slices.Clone(d.members), i, user)
	if err := d.rt.SetGroup(ctx, demoGroup, members); err != nil {
		return err
	}
	d.members = members
	return nil
}

// register adds the demo's routes to mux, which serves MQTT over websocket
// at /mqtt on the same listener.
func (d *webDemo) register(mux *http.ServeMux) {
	page, _ := fs.Sub(webFiles, "web")
	files := http.FileServerFS(page)
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("POST /demo/token", d.token)
	mux.HandleFunc("GET /demo/online", d.whoIsOnline)
}

// token answers {"user": "alice"} with a token for that user:
// {"user", "token", "group"}.
func (d *webDemo) token(w http.ResponseWriter, r *http.Request) {
	var req struct{ User string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&req); err != nil {
		http.Error(w, `send {"user": "a name"}`, http.StatusBadRequest)
		return
	}
	tok, err := mqtt.IssueToken(d.secret, req.User, demoTokenTTL, time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := d.join(r.Context(), req.User); err != nil {
		http.Error(w, "joining the demo group: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	d.log.Info("beckon: demo token handed out", slog.String("user", req.User), slog.String("remote", r.RemoteAddr))
	writeJSON(w, map[string]string{"user": req.User, "token": tok, "group": demoGroup})
}

// onlineUser is one entry of /demo/online.
type onlineUser struct {
	User    string `json:"user"`
	Devices int    `json:"devices"`
}

// whoIsOnline answers {"users": [{"user", "devices"}]}, by user name.
func (d *webDemo) whoIsOnline(w http.ResponseWriter, _ *http.Request) {
	online := d.srv.Online()
	users := make([]onlineUser, 0, len(online))
	for u, n := range online {
		users = append(users, onlineUser{u, n})
	}
	slices.SortFunc(users, func(a, b onlineUser) int { return cmp.Compare(a.User, b.User) })
	writeJSON(w, map[string]any{"users": users})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
