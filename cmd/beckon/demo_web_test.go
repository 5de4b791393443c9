package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/beckonhq/beckon/adapters/mqtt"
)

// The page and its endpoints exist only with -demo; the token they hand
// out is one the server accepts.
func TestDemoEndpointsOnlyWithFlag(t *testing.T) {
	status := func(res *http.Response, err error) int {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, demo := range []bool{false, true} {
		dir := t.TempDir()
		_, httpAddr := startServe(t, serveConfig{data: dir, store: "memory", demo: demo})
		base := "http://" + httpAddr
		want := http.StatusNotFound
		if demo {
			want = http.StatusOK
		}
		for _, path := range []string{"/", "/app.js", "/vendor/mqtt.min.js", "/demo/online"} {
			if got := status(http.Get(base + path)); got != want {
				t.Errorf("-demo=%v: GET %s: got %d, want %d", demo, path, got, want)
			}
		}
		res, err := http.Post(base+"/demo/token", "application/json", strings.NewReader(`{"user":"alice"}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("-demo=%v: POST /demo/token: got %d %s, want %d", demo, res.StatusCode, body, want)
		}
		if !demo {
			continue
		}
		var tok struct{ User, Token, Group string }
		if err := json.Unmarshal(body, &tok); err != nil {
			t.Fatalf("/demo/token: %v in %s", err, body)
		}
		secret, err := loadSecret(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := mqtt.JWT(secret).Authenticate("alice", []byte(tok.Token)); err != nil || tok.User != "alice" || tok.Group != demoGroup {
			t.Errorf("/demo/token: got %+v (%v), want a token the server accepts for alice, group %q", tok, err, demoGroup)
		}
		if got := status(http.Post(base+"/demo/token", "application/json", strings.NewReader(`{"user":""}`))); got != http.StatusBadRequest {
			t.Errorf("/demo/token with an empty user: got %d, want 400", got)
		}
	}
}
