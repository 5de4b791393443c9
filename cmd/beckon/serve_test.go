package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/beckonhq/beckon/adapters/mqtt/wire"
	"github.com/beckonhq/beckon/internal/mqttload"
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
	cid := wire.ClientID("alice", "phone")
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

// startServe runs serve with cfg on loopback ports until the test ends,
// and returns its MQTT and HTTP addresses.
func startServe(t *testing.T, cfg serveConfig) (mqttAddr, httpAddr string) {
	t.Helper()
	cfg.mqttAddr, cfg.httpAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, func(m, h net.Addr) { addrs <- [2]string{m.String(), h.String()} }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve after its context ended: %v, want nil", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	select {
	case a := <-addrs:
		return a[0], a[1]
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not start")
	}
	return "", ""
}

func printedToken(t *testing.T, dir, user string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run([]string{"token", "-user", user, "-ttl", "1h", "-data", dir}, &out, &errOut); err != nil {
		t.Fatalf("token: %v\n%s", err, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// call makes alice's device invite bob's and bob's accept, over whatever
// transport the devices use.
func call(t *testing.T, alice, bob *mqttload.Device) {
	t.Helper()
	id, err := alice.Invite("bob", "video", 30)
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := bob.Next(); err != nil || ev.Type != "ReceiveNewInvitation" || ev.InviteID != id {
		t.Fatalf("bob: got %+v (%v), want ReceiveNewInvitation %s", ev, err, id)
	}
	if err := bob.Answer("accept", id, ""); err != nil {
		t.Fatal(err)
	}
	if ev, err := alice.Next(); err != nil || ev.Type != "InviteeAccepted" || ev.InviteID != id {
		t.Fatalf("alice: got %+v (%v), want InviteeAccepted %s", ev, err, id)
	}
}

func dialDevice(t *testing.T, o mqttload.Options) *mqttload.Device {
	t.Helper()
	d, err := mqttload.Dial(o)
	if err != nil {
		t.Fatalf("%s over %s: %v", o.User, o.Broker, err)
	}
	t.Cleanup(d.Close)
	return d
}

// Devices over MQTT-over-websocket at /mqtt of serve's HTTP listener and
// over plain TCP make a call together.
func TestServeWebsocket(t *testing.T) {
	dir := t.TempDir()
	m, h := startServe(t, serveConfig{data: dir, store: "memory"})
	alice := dialDevice(t, mqttload.Options{Broker: "ws://" + h + "/mqtt", User: "alice", Device: "browser", Token: printedToken(t, dir, "alice")})
	bob := dialDevice(t, mqttload.Options{Broker: "tcp://" + m, User: "bob", Device: "phone", Token: printedToken(t, dir, "bob")})
	call(t, alice, bob)
}

// With -tls-cert and -tls-key both listeners speak TLS: a device trusting
// the certificate connects over TLS (MQTT and websocket); one without TLS
// does not get a session.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	m, h := startServe(t, serveConfig{data: dir, store: "bolt", tlsCert: certFile, tlsKey: keyFile})
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	alice := dialDevice(t, mqttload.Options{Broker: "tls://" + m, TLS: tc, User: "alice", Device: "phone", Token: printedToken(t, dir, "alice")})
	bob := dialDevice(t, mqttload.Options{Broker: "wss://" + h + "/mqtt", TLS: tc, User: "bob", Device: "browser", Token: printedToken(t, dir, "bob")})
	call(t, alice, bob)
	if d, err := mqttload.Dial(mqttload.Options{Broker: "tcp://" + m, User: "carol", Device: "phone", Token: printedToken(t, dir, "carol")}); err == nil {
		d.Close()
		t.Error("a device without TLS on the TLS listener: connected, want refused")
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// to dir, and returns their files and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "beckon test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
