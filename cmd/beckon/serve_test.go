package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/beckonhq/beckon/adapters/mqtt"
)

// serve starts on loopback ports, accepts a device with a token printed by
// `beckon token`, answers it, and shuts down when its context ends.
func TestServeAndToken(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run([]string{"token", "-user", "alice", "-ttl", "1h", "-data", dir}, &out, &errOut); err != nil {
		t.Fatalf("token: %v\n%s", err, errOut.String())
	}
	tok := strings.TrimSpace(out.String())
	st, err := os.Stat(filepath.Join(dir, secretFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode: got %v, want 0600", st.Mode().Perm())
	}

	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 2)
	done := make(chan error, 1)
	cfg := serveConfig{mqttAddr: "127.0.0.1:0", httpAddr: "127.0.0.1:0", data: dir, store: "bolt",
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go func() { done <- serve(ctx, cfg, func(m, h net.Addr) { addrs <- m; addrs <- h }) }()
	var maddr net.Addr
	select {
	case maddr = <-addrs:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not start")
	}

	nc, err := net.Dial("tcp", maddr.String())
	if err != nil {
		t.Fatal(err)
	}
	replies := make(chan []byte, 1)
	c := paho.NewClient(paho.ClientConfig{Conn: nc, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) { replies <- pr.Packet.Payload; return true, nil }}})
	cid := mqtt.ClientID("alice", "phone")
	tctx, tcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer tcancel()
	if ca, err := c.Connect(tctx, &paho.Connect{ClientID: cid, Username: "alice", UsernameFlag: true,
		Password: []byte(tok), PasswordFlag: true, CleanStart: true}); err != nil || ca.ReasonCode != 0 {
		t.Fatalf("connect with the printed token: %v %+v", err, ca)
	}
	if _, err := c.Subscribe(tctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "beckon/v1/" + cid + "/reply", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(tctx, &paho.Publish{Topic: "beckon/v1/" + cid + "/req", QoS: 1,
		Payload: []byte(`{"id":"1","op":"invite","args":{"invitee":"bob","timeout":30}}`)}); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-replies:
		var r struct{ Code int }
		if err := json.Unmarshal(b, &r); err != nil || r.Code != 0 {
			t.Errorf("invite: got reply %s, want code 0", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reply")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after its context ended: %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Error("the device's connection stayed open after shutdown")
	}
}
