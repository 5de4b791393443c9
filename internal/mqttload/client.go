package mqttload

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/beckonhq/beckon/internal/mqttpacket"
)

// Client is a minimal MQTT 3.1.1 client: clean session, QoS 0 publishes (a
// request's reply acknowledges it), QoS 1 subscriptions, keep-alive pings, no reconnecting. One goroutine
// reads the connection and calls the handlers, one at a time, as each
// message is read, then acknowledges it; a publish is one write from the
// caller's goroutine. It is the devices' transport and the benchmarks'
// bare client: few goroutines and system calls, so that load measures the
// server more than the client.
type Client struct {
	conn net.Conn

	wmu     sync.Mutex // serializes writes
	nextPID uint16     // guarded by wmu

	mu       sync.Mutex
	handlers map[string]func(payload []byte) // by topic
	subacks  map[uint16]chan byte            // SUBACKs awaited: the granted QoS

	open atomic.Bool
	done chan struct{} // closed when the reader has stopped
}

// ClientConfig says where and as whom a Client connects.
type ClientConfig struct {
	Broker   string      // tcp://host:port, tls://host:port, ws://host:port/path or wss://...
	TLS      *tls.Config // for tls:// and wss://
	ClientID string
	User     string // none if ""
	Password string
}

// keepAlive is the keep-alive every Client announces; it pings at half
// of it.
const keepAlive = 30 * time.Second

// DialClient connects and waits for the CONNACK; a refusal is a
// *ConnectError with the return code.
func DialClient(cfg ClientConfig) (*Client, error) {
	conn, err := dialBroker(cfg.Broker, cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("mqttload: %s: dialing %s: %w", cfg.ClientID, cfg.Broker, err)
	}
	c := &Client{conn: conn, handlers: make(map[string]func([]byte)), subacks: make(map[uint16]chan byte),
		done: make(chan struct{})}
	_ = conn.SetDeadline(time.Now().Add(Patience))
	connect := mqttpacket.Connect{ClientID: cfg.ClientID, User: cfg.User, Password: cfg.Password, Clean: true,
		KeepAlive: uint16(keepAlive / time.Second)}
	if err := c.write(connect.Encode()); err != nil {
		conn.Close()
		return nil, fmt.Errorf("mqttload: %s: CONNECT: %w", cfg.ClientID, err)
	}
	r := bufio.NewReader(conn)
	p, err := mqttpacket.ReadPacket(r, nil, 0)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("mqttload: %s: no CONNACK within %v: %w", cfg.ClientID, Patience, err)
	}
	if p.Kind != mqttpacket.KindConnack || len(p.Body) != 2 {
		conn.Close()
		return nil, fmt.Errorf("mqttload: %s: got packet type %d, want a CONNACK", cfg.ClientID, p.Kind)
	}
	if p.Body[1] != 0 {
		conn.Close()
		return nil, &ConnectError{Code: p.Body[1], Err: errors.New("connection refused")}
	}
	_ = conn.SetDeadline(time.Time{})
	c.open.Store(true)
	go c.read(r)
	go c.ping()
	return c, nil
}

func dialBroker(broker string, tc *tls.Config) (net.Conn, error) {
	u, err := url.Parse(broker)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: Patience}
	switch u.Scheme {
	case "tcp":
		return d.Dial("tcp", u.Host)
	case "tls":
		return tls.DialWithDialer(d, "tcp", u.Host, tc)
	case "ws", "wss":
		return paho.NewWebsocket(broker, tc, Patience, nil, nil)
	}
	return nil, fmt.Errorf("unknown scheme %q: want tcp, tls, ws or wss", u.Scheme)
}

// Subscribe subscribes to topic at QoS 1 and waits for the SUBACK, which
// must grant QoS 1. handler gets each message's payload, which it must
// not keep after it returns, on the reading goroutine: it must return
// soon, since nothing else is read meanwhile.
func (c *Client) Subscribe(topic string, handler func(payload []byte)) error {
	ch := make(chan byte, 1)
	c.mu.Lock()
	c.handlers[topic] = handler
	c.mu.Unlock()
	c.wmu.Lock()
	pid := c.packetID()
	c.mu.Lock()
	c.subacks[pid] = ch
	c.mu.Unlock()
	_, err := c.conn.Write(mqttpacket.Subscribe(pid, topic))
	c.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("mqttload: subscribing to %s: %w", topic, err)
	}
	t := time.NewTimer(Patience)
	defer t.Stop()
	select {
	case granted := <-ch:
		if granted != 1 {
			return fmt.Errorf("mqttload: SUBACK for %s: got %d, want 1 (granted QoS 1)", topic, granted)
		}
		return nil
	case <-c.done:
		return fmt.Errorf("mqttload: subscribing to %s: connection lost", topic)
	case <-t.C:
		return fmt.Errorf("mqttload: no SUBACK for %s within %v", topic, Patience)
	}
}

// Publish writes payload to topic at QoS 0: the server's answer (a
// reply) is what callers wait for, and acknowledges it.
func (c *Client) Publish(topic string, payload []byte) error { return c.publish(topic, payload, 0) }

// PublishQoS1 writes payload to topic at QoS 1. It does not wait for the
// PUBACK.
func (c *Client) PublishQoS1(topic string, payload []byte) error { return c.publish(topic, payload, 1) }

func (c *Client) publish(topic string, payload []byte, qos byte) error {
	if qos == 0 {
		return c.write(mqttpacket.AppendPublish(nil, topic, 0, 0, payload))
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.conn.Write(mqttpacket.AppendPublish(nil, topic, qos, c.packetID(), payload))
	return err
}

// Connected reports whether the connection is still open.
func (c *Client) Connected() bool { return c.open.Load() }

// Close sends DISCONNECT and closes the connection.
func (c *Client) Close() {
	if c.open.Load() {
		_ = c.write(mqttpacket.Disconnect())
	}
	c.conn.Close()
	<-c.done
}

// packetID returns the next packet ID (never 0); c.wmu is held.
func (c *Client) packetID() uint16 {
	c.nextPID++
	if c.nextPID == 0 {
		c.nextPID = 1
	}
	return c.nextPID
}

func (c *Client) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.conn.Write(b)
	return err
}

// read reads until the connection ends: it hands each PUBLISH to its
// topic's handler, then acknowledges it, and each SUBACK to its waiter.
func (c *Client) read(r *bufio.Reader) {
	defer close(c.done)
	defer c.open.Store(false)
	var buf []byte
	for {
		p, err := mqttpacket.ReadPacket(r, buf, 0)
		if err != nil {
			c.conn.Close()
			return
		}
		buf = p.Body[:0]
		switch p.Kind {
		case mqttpacket.KindPublish:
			pub, err := mqttpacket.ParsePublish(p)
			if err != nil {
				continue
			}
			c.mu.Lock()
			h := c.handlers[string(pub.Topic)]
			c.mu.Unlock()
			if h != nil {
				h(pub.Payload)
			}
			if pub.QoS > 0 {
				_ = c.write(mqttpacket.Puback(pub.ID))
			}
		case mqttpacket.KindSuback:
			if len(p.Body) < 3 {
				continue
			}
			c.mu.Lock()
			ch := c.subacks[p.ID()]
			delete(c.subacks, p.ID())
			c.mu.Unlock()
			if ch != nil {
				ch <- p.Body[2]
			}
		}
	}
}

// ping sends a PINGREQ every half keep-alive until the connection ends.
func (c *Client) ping() {
	t := time.NewTicker(keepAlive / 2)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if c.write(mqttpacket.Pingreq()) != nil {
				return
			}
		}
	}
}
