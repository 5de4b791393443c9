package mqtt

import (
	"net"
	"sync"
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
const maxHeld = 64 << 10

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
