package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/beckonhq/beckon/adapters/mqtt"
	"github.com/beckonhq/beckon/internal/mqttload"
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
		mqttAddr, httpAddr := startServe(t, serveConfig{data: dir, store: "memory", demo: demo})
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

		// Two devices of alice with the demo's token are online, as two.
		for _, device := range []string{"phone", "laptop"} {
			dialDevice(t, mqttload.Options{Broker: "tcp://" + mqttAddr, User: "alice", Device: device, Token: tok.Token})
		}
		var online struct{ Users []onlineUser }
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			res, err := http.Get(base + "/demo/online")
			if err != nil {
				t.Fatal(err)
			}
			err = json.NewDecoder(res.Body).Decode(&online)
			res.Body.Close()
			if err == nil && len(online.Users) == 1 && online.Users[0] == (onlineUser{"alice", 2}) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/demo/online: got %+v (%v), want alice with 2 devices", online.Users, err)
			}
		}
	}
}
