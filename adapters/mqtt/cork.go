package mqtt

import (
	"net"
	"sync"
	"time"
)

// corkConn is a connection whose writes can be held back and sent
// together in one write (one system call, and one read for the device):
// a connection's events and the reply of its request, which a batch of the
// runtime makes at the same moment, go out at once. Writes outside a cork
// (mochi's own packets: PUBACK, SUBACK, PINGRESP) pass straight through;
// one made while corked (from mochi's read goroutine) joins the cork's
// bytes, in order.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	held   []byte
}

// maxHeld is how many bytes a cork holds before it writes them anyway.
// closeWait bounds how long Close waits for a write in progress before
// it closes anyway, and closeWrite the writing of what a cork holds.
const (
	maxHeld    = 64 << 10
	closeWait  = 10 * time.Millisecond
	closeWrite = 100 * time.Millisecond
)

// Write writes p, or holds it while corked.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	c.held = append(c.held, p...)
	if len(c.held) >= maxHeld {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// cork holds the writes that follow until uncork.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what the cork held, in one write. Its error is the
// connection's: a write held and reported done has failed.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	return c.flushLocked()
}

func (c *corkConn) flushLocked() error {
	if len(c.held) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.held)
	if cap(c.held) > maxHeld {
		c.held = nil
	} else {
		c.held = c.held[:0]
	}
	return err
}

// Close writes what a cork holds, then closes. mochi writes a DISCONNECT
// (a takeover, a shutdown, a kick) and closes at once: one written while
// a flush had the connection corked must still go out, after what the
// flush wrote before it. Close never waits long: a write stuck on a full
// TCP window holds the lock, and the close is what ends it.
func (c *corkConn) Close() error {
	if c.lockWithin(closeWait) {
		if len(c.held) > 0 {
			_ = c.Conn.SetWriteDeadline(time.Now().Add(closeWrite))
			_ = c.flushLocked()
		}
		c.corked = false
		c.mu.Unlock()
	}
	return c.Conn.Close()
}

// lockWithin locks c.mu if it can within d.
func (c *corkConn) lockWithin(d time.Duration) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(100 * time.Microsecond) {
		if c.mu.TryLock() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
