package mqtt

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Handler serves MQTT over websocket (subprotocol "mqtt") on the requests
// it is given, e.g. at /mqtt of the caller's HTTP server. Each request
// upgraded holds its connection until the device leaves or Close.
func (s *Server) Handler() http.Handler {
	up := &websocket.Upgrader{
		Subprotocols: []string{"mqtt"},
		// Devices authenticate in CONNECT (REM-1), not with cookies, so a
		// page of another origin gains nothing a device could not do.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			http.Error(w, "beckon: the server is shutting down", http.StatusServiceUnavailable)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade answered the request
		}
		ws.SetReadLimit(int64(s.opts.MaxPacketBytes) + 16)
		s.serving.Add(1)
		defer s.serving.Done()
		s.establish("ws", &wsConn{Conn: ws.NetConn(), ws: ws})
	})
}

// wsConn reads and writes MQTT's byte stream as binary websocket messages.
// mochi sets deadlines from the connection's read goroutine while another
// goroutine writes, and a websocket's write deadline may not change during
// a write: so each write applies the latest write deadline itself.
type wsConn struct {
	net.Conn
	ws            *websocket.Conn
	r             io.Reader                 // the message being read, nil between messages
	writeDeadline atomic.Pointer[time.Time] // nil: none
}

var errTextMessage = errors.New("mqtt over websocket: a text message (MQTT uses binary messages)")

func (c *wsConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			op, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			if op != websocket.BinaryMessage {
				return 0, errTextMessage
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	var deadline time.Time
	if t := c.writeDeadline.Load(); t != nil {
		deadline = *t
	}
	if err := c.ws.SetWriteDeadline(deadline); err != nil {
		return 0, err
	}
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsConn) SetDeadline(t time.Time) error {
	c.writeDeadline.Store(&t)
	return c.ws.SetReadDeadline(t)
}
func (c *wsConn) SetReadDeadline(t time.Time) error { return c.ws.SetReadDeadline(t) }
func (c *wsConn) SetWriteDeadline(t time.Time) error {
	c.writeDeadline.Store(&t)
	return nil
}
