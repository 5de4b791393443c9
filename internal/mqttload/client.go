package mqttload

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
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
	if err := c.write(connectPacket(cfg)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("mqttload: %s: CONNECT: %w", cfg.ClientID, err)
	}
	r := bufio.NewReader(conn)
	typ, body, err := readPacket(r, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("mqttload: %s: no CONNACK within %v: %w", cfg.ClientID, Patience, err)
	}
	if typ != 0x20 || len(body) != 2 {
		conn.Close()
		return nil, fmt.Errorf("mqttload: %s: got packet type %#x, want a CONNACK", cfg.ClientID, typ)
	}
	if body[1] != 0 {
		conn.Close()
		return nil, &ConnectError{Code: body[1], Err: errors.New("connection refused")}
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
	b := append([]byte{0x82}, varint(2+2+len(topic)+1)...)
	b = binary.BigEndian.AppendUint16(b, pid)
	b = appendString(b, topic)
	b = append(b, 1)
	_, err := c.conn.Write(b)
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
	n := 2 + len(topic) + 2*int(qos) + len(payload)
	b := make([]byte, 0, 5+n)
	b = append(b, 0x30|qos<<1)
	b = append(b, varint(n)...)
	b = appendString(b, topic)
	c.wmu.Lock()
	if qos > 0 {
		b = binary.BigEndian.AppendUint16(b, c.packetID())
	}
	b = append(b, payload...)
	_, err := c.conn.Write(b)
	c.wmu.Unlock()
	return err
}

// Connected reports whether the connection is still open.
func (c *Client) Connected() bool { return c.open.Load() }

// Close sends DISCONNECT and closes the connection.
func (c *Client) Close() {
	if c.open.Load() {
		_ = c.write([]byte{0xE0, 0})
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
		typ, body, err := readPacket(r, buf)
		if err != nil {
			c.conn.Close()
			return
		}
		buf = body[:0]
		switch typ & 0xF0 {
		case 0x30: // PUBLISH
			if len(body) < 2 {
				continue
			}
			tl := int(binary.BigEndian.Uint16(body))
			rest := body[2:]
			if len(rest) < tl {
				continue
			}
			topic := rest[:tl]
			rest = rest[tl:]
			qos := typ >> 1 & 3
			var pid []byte
			if qos > 0 {
				if len(rest) < 2 {
					continue
				}
				pid, rest = rest[:2], rest[2:]
			}
			c.mu.Lock()
			h := c.handlers[string(topic)]
			c.mu.Unlock()
			if h != nil {
				h(rest)
			}
			if qos > 0 {
				_ = c.write([]byte{0x40, 2, pid[0], pid[1]})
			}
		case 0x90: // SUBACK
			if len(body) < 3 {
				continue
			}
			c.mu.Lock()
			ch := c.subacks[binary.BigEndian.Uint16(body)]
			delete(c.subacks, binary.BigEndian.Uint16(body))
			c.mu.Unlock()
			if ch != nil {
				ch <- body[2]
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
			if c.write([]byte{0xC0, 0}) != nil {
				return
			}
		}
	}
}

// readPacket reads one packet: its first byte and its body, into buf's
// storage when it fits.
func readPacket(r *bufio.Reader, buf []byte) (byte, []byte, error) {
	typ, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, shift := 0, 0
	for {
		b, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n |= int(b&0x7F) << shift
		if b&0x80 == 0 {
			break
		}
		if shift += 7; shift > 21 {
			return 0, nil, errors.New("malformed remaining length")
		}
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err = io.ReadFull(r, buf)
	return typ, buf, err
}

func connectPacket(cfg ClientConfig) []byte {
	flags := byte(0x02) // clean session
	var body []byte
	body = appendString(body, "MQTT")
	body = append(body, 4, 0) // level 4 (3.1.1), flags below
	body = binary.BigEndian.AppendUint16(body, uint16(keepAlive/time.Second))
	body = appendString(body, cfg.ClientID)
	if cfg.User != "" {
		flags |= 0x80
		body = appendString(body, cfg.User)
		if cfg.Password != "" {
			flags |= 0x40
			body = appendString(body, cfg.Password)
		}
	}
	body[7] = flags
	return append(append([]byte{0x10}, varint(len(body))...), body...)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// varint is MQTT's remaining length encoding of n.
func varint(n int) []byte {
	var b []byte
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}
