// Package netfault is a loopback TCP proxy for tests that break the
// network between a device and a server the way real networks do: it cuts
// every connection at once (a phone entering a lift), holds new ones for
// a while (no coverage: accepted, they forward nothing until released), or
// cuts one connection once a number of bytes have passed in one direction
// (in the middle of a packet).
package netfault

import (
	"net"
	"sync"
)

// TB is the part of *testing.T that New uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

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

	mu     sync.Mutex
	held   bool
	parked []net.Conn // accepted while held
	next   [2]int     // budgets of the next link accepted; -1: none
	links  []*Link
}

// Link is one connection through the proxy.
type Link struct {
	device, server net.Conn

	mu     sync.Mutex
	budget [2]int // bytes still forwarded in a direction before the link is cut; -1: no limit
}

// New starts a proxy to target (host:port) on 127.0.0.1; it closes when
// the test ends.
func New(t TB, target string) *Proxy {
	t.Helper()
	p, err := Listen(target)
	if err != nil {
		t.Fatalf("netfault: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// Listen starts a proxy to target on 127.0.0.1, as New does, for code
// that is not a test: Close stops it.
func Listen(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, next: [2]int{-1, -1}}
	go p.serve()
	return p, nil
}

// SetTarget sends the links accepted from now on to target; open ones
// stay as they are.
func (p *Proxy) SetTarget(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

// Close stops accepting and closes every connection, held ones too.
func (p *Proxy) Close() {
	p.ln.Close()
	p.Discard()
	p.Cut()
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
		if p.held {
			p.parked = append(p.parked, dc)
		} else {
			p.pipe(dc)
		}
		p.mu.Unlock()
	}
}

// pipe forwards dc to the target (p.mu held).
func (p *Proxy) pipe(dc net.Conn) {
	sc, err := net.Dial("tcp", p.target)
	if err != nil {
		dc.Close()
		return
	}
	l := &Link{device: dc, server: sc}
	l.budget, p.next = p.next, [2]int{-1, -1}
	p.links = append(p.links, l)
	go l.forward(ToServer)
	go l.forward(ToDevice)
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

// Hold holds new connections (true: accepted, they wait, forwarding
// nothing) or lets them through again (false), those held first: a device
// reconnecting then goes on at once, without its backoff.
func (p *Proxy) Hold(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = on
	if !on {
		for _, c := range p.parked {
			p.pipe(c)
		}
		p.parked = nil
	}
}

// Discard closes the connections held.
func (p *Proxy) Discard() {
	p.mu.Lock()
	parked := p.parked
	p.parked = nil
	p.mu.Unlock()
	for _, c := range parked {
		c.Close()
	}
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
