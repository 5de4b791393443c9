// Package netfault is a loopback TCP proxy for tests that break the
// network between a device and a server the way real networks do: it cuts
// every connection at once (a phone entering a lift), refuses new ones for
// a while (no coverage), or cuts one connection once a number of bytes
// have passed in one direction (in the middle of a packet).
package netfault

import (
	"net"
	"sync"
	"testing"
)

// Directions of a link's bytes.
const (
	ToServer = iota
	ToDevice
)

// Proxy forwards TCP connections (links) accepted on a loopback port to a
// target. It stops when the test ends.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	held  bool
	next  [2]int // budgets of the next link accepted; -1: none
	links []*Link
}

// Link is one connection through the proxy.
type Link struct {
	device, server net.Conn

	mu     sync.Mutex
	budget [2]int // bytes still forwarded in a direction before the link is cut; -1: no limit
}

// New starts a proxy to target (host:port) on 127.0.0.1.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, next: [2]int{-1, -1}}
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
	})
	go p.serve()
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) serve() {
	for {
		dc, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		held := p.held
		p.mu.Unlock()
		if held {
			dc.Close()
			continue
		}
		sc, err := net.Dial("tcp", p.target)
		if err != nil {
			dc.Close()
			continue
		}
		l := &Link{device: dc, server: sc}
		p.mu.Lock()
		l.budget, p.next = p.next, [2]int{-1, -1}
		p.links = append(p.links, l)
		p.mu.Unlock()
		go l.forward(ToServer)
		go l.forward(ToDevice)
	}
}

// Cut closes every link.
func (p *Proxy) Cut() {
	p.mu.Lock()
	links := p.links
	p.links = nil
	p.mu.Unlock()
	for _, l := range links {
		l.Close()
	}
}

// Hold refuses new connections (true: each is accepted and closed at
// once) or lets them through again (false).
func (p *Proxy) Hold(on bool) {
	p.mu.Lock()
	p.held = on
	p.mu.Unlock()
}

// CutNext cuts the next link accepted once n bytes have passed in dir.
func (p *Proxy) CutNext(dir, n int) {
	p.mu.Lock()
	p.next[dir] = n
	p.mu.Unlock()
}

// Newest returns the link accepted last (nil if none is open).
func (p *Proxy) Newest() *Link {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.links) == 0 {
		return nil
	}
	return p.links[len(p.links)-1]
}

// CutAfter cuts the link once n more bytes have passed in dir: at the
// next byte for n = 0.
func (l *Link) CutAfter(dir, n int) {
	l.mu.Lock()
	l.budget[dir] = n
	l.mu.Unlock()
}

// Close closes both sides of the link.
func (l *Link) Close() {
	l.device.Close()
	l.server.Close()
}

// forward copies one direction until the link is closed or cut.
func (l *Link) forward(dir int) {
	src, dst := l.device, l.server
	if dir == ToDevice {
		src, dst = l.server, l.device
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			pass, cut := l.take(dir, n)
			if _, werr := dst.Write(buf[:pass]); werr != nil || cut {
				l.Close()
				return
			}
		}
		if err != nil {
			l.Close()
			return
		}
	}
}

// take returns how many of n bytes read in dir may pass, and whether the
// link is to be cut after them.
func (l *Link) take(dir, n int) (pass int, cut bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.budget[dir]
	if b < 0 {
		return n, false
	}
	pass = min(n, b)
	l.budget[dir] = b - pass
	return pass, l.budget[dir] == 0
}
