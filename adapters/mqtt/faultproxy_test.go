package mqtt_test

import (
	"net"
	"sync"
	"testing"
)

// Directions of a link's bytes.
const (
	toServer = iota
	toDevice
)

// faultProxy forwards loopback TCP connections (links) to the server and
// cuts them as a network does: once a number of bytes have passed in one
// direction, in the middle of a packet if the test says so.
type faultProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	next  [2]int // budgets of the next link accepted; -1: none
	links []*link
}

// link is one connection through the proxy.
type link struct {
	device, server net.Conn

	mu     sync.Mutex
	budget [2]int // bytes still forwarded in a direction before the link is cut; -1: no limit
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, next: [2]int{-1, -1}}
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		links := p.links
		p.mu.Unlock()
		for _, l := range links {
			l.close()
		}
	})
	go p.serve()
	return p
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

func (p *faultProxy) serve() {
	for {
		dc, err := p.ln.Accept()
		if err != nil {
			return
		}
		sc, err := net.Dial("tcp", p.target)
		if err != nil {
			dc.Close()
			continue
		}
		l := &link{device: dc, server: sc}
		p.mu.Lock()
		l.budget, p.next = p.next, [2]int{-1, -1}
		p.links = append(p.links, l)
		p.mu.Unlock()
		go l.forward(toServer)
		go l.forward(toDevice)
	}
}

// cutNext cuts the next link accepted once n bytes have passed in dir.
func (p *faultProxy) cutNext(dir, n int) {
	p.mu.Lock()
	p.next[dir] = n
	p.mu.Unlock()
}

// newest returns the link accepted last.
func (p *faultProxy) newest() *link {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.links[len(p.links)-1]
}

// cutAfter cuts the link once n more bytes have passed in dir: at the
// next byte for n = 0.
func (l *link) cutAfter(dir, n int) {
	l.mu.Lock()
	l.budget[dir] = n
	l.mu.Unlock()
}

func (l *link) close() {
	l.device.Close()
	l.server.Close()
}

// forward copies one direction until the link is closed or cut.
func (l *link) forward(dir int) {
	src, dst := l.device, l.server
	if dir == toDevice {
		src, dst = l.server, l.device
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			pass, cut := l.take(dir, n)
			if _, werr := dst.Write(buf[:pass]); werr != nil || cut {
				l.close()
				return
			}
		}
		if err != nil {
			l.close()
			return
		}
	}
}

// take returns how many of n bytes read in dir may pass, and whether the
// link is to be cut after them.
func (l *link) take(dir, n int) (pass int, cut bool) {
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
