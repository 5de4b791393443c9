package crash

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/beckonhq/beckon/adapters/mqtt"
	"github.com/beckonhq/beckon/internal/netfault"
)

// stopGrace bounds the last server's shutdown (beckon serve waits up to
// 10 s for its sessions).
const stopGrace = 30 * time.Second

// Server runs `beckon serve -store bolt` as a child process, one process
// (incarnation) at a time, each on the same data directory, each with its
// own log file (serve-NN.log in the log directory). Devices connect to a
// proxy whose address stays (MQTT); each incarnation listens on ports free
// when it starts: a port a killed server had may be taken by then (any
// process's outgoing connection can draw it).
type Server struct {
	MQTT     string // 127.0.0.1:port where devices connect, the same for every incarnation
	front    *netfault.Proxy
	bin      string
	data     string
	logs     string
	secret   []byte
	mu       sync.Mutex
	cur      *incarnation
	all      []*incarnation
	n        int      // incarnations started
	warnings []string // WARN and ERROR lines of every incarnation, "serve-NN: line"
	panics   []string // incarnations that exited on their own, with their log's end
}

// incarnation is one server process.
type incarnation struct {
	n       int
	cmd     *exec.Cmd
	log     string        // its log file
	started time.Time     // when the process started
	serving chan struct{} // closed when it logs that it serves
	served  time.Time     // when it did; guarded by Server.mu
	exited  chan struct{} // closed once it has exited and its log is written
	killed  bool          // guarded by Server.mu: it was killed or stopped, not gone by itself
}

// Build builds cmd/beckon into dir with `go build` (run from within
// beckon's module) and returns the binary's path.
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "beckon")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/beckonhq/beckon/cmd/beckon").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("crash: building beckon (run from beckon's module): %v\n%s", err, out)
	}
	return bin, nil
}

// NewServer prepares a server run by bin: a data directory with a token
// secret of its own under dir, a log directory logs, and two free
// loopback ports. Start starts it.
func NewServer(bin, dir, logs string) (*Server, error) {
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	// The secret file `beckon serve` reads (and would create) in its data
	// directory, written first so that tokens can be issued before it runs.
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(data, "token-secret"), secret, 0o600); err != nil {
		return nil, err
	}
	front, err := netfault.Listen("127.0.0.1:1") // aimed at each incarnation by Start
	if err != nil {
		return nil, err
	}
	return &Server{MQTT: front.Addr(), front: front, bin: bin, data: data, logs: logs, secret: secret}, nil
}

// Close stops the proxy in front of the incarnations.
func (s *Server) Close() { s.front.Close() }

// freePorts returns n loopback addresses with ports free now.
func freePorts(n int) ([]string, error) {
	var out []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		out = append(out, ln.Addr().String())
		defer ln.Close()
	}
	return out, nil
}

// Token is a token the server accepts for user.
func (s *Server) Token(user string) (string, error) {
	return mqtt.IssueToken(s.secret, user, 24*time.Hour, time.Now())
}

// Start starts a new incarnation; the previous one must have exited.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		select {
		case <-s.cur.exited:
		default:
			return fmt.Errorf("crash: serve-%02d still runs: kill it before starting another", s.cur.n)
		}
	}
	s.n++
	inc := &incarnation{n: s.n, log: filepath.Join(s.logs, fmt.Sprintf("serve-%02d.log", s.n)),
		serving: make(chan struct{}), exited: make(chan struct{})}
	f, err := os.Create(inc.log)
	if err != nil {
		return err
	}
	ports, err := freePorts(2)
	if err != nil {
		f.Close()
		return err
	}
	s.front.SetTarget(ports[0])
	inc.cmd = exec.Command(s.bin, "serve", "-store", "bolt", "-data", s.data, "-mqtt", ports[0], "-http", ports[1])
	inc.cmd.Stdout = f
	stderr, err := inc.cmd.StderrPipe()
	if err != nil {
		f.Close()
		return err
	}
	if err := inc.cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("crash: starting %s: %w", s.bin, err)
	}
	inc.started = time.Now()
	s.cur = inc
	s.all = append(s.all, inc)
	go s.watch(inc, f, stderr)
	return nil
}

// watch copies an incarnation's log to its file, notes when it serves and
// its warnings, and reaps it.
func (s *Server) watch(inc *incarnation, f *os.File, stderr io.Reader) {
	defer close(inc.exited)
	defer f.Close()
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(f, line)
		var rec struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		switch {
		case rec.Msg == "beckon: serving":
			s.mu.Lock()
			inc.served = time.Now()
			s.mu.Unlock()
			close(inc.serving)
		case rec.Level == "WARN" || rec.Level == "ERROR":
			s.mu.Lock()
			s.warnings = append(s.warnings, fmt.Sprintf("serve-%02d: %s", inc.n, line))
			s.mu.Unlock()
		}
	}
	_, _ = io.Copy(f, stderr) // a line beyond the scanner's buffer: keep the rest
	err := inc.cmd.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !inc.killed {
		s.panics = append(s.panics, fmt.Sprintf("serve-%02d exited by itself (%v); its log ends:\n%s", inc.n, err, tail(inc.log)))
	}
}

// current is the incarnation running or last run.
func (s *Server) current() *incarnation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// WaitServing waits until the current incarnation serves, and returns
// when it began to.
func (s *Server) WaitServing(ctx context.Context, patience time.Duration) (time.Time, error) {
	inc := s.current()
	t := time.NewTimer(patience)
	defer t.Stop()
	select {
	case <-inc.serving:
		return s.Served()
	case <-inc.exited:
		return time.Time{}, fmt.Errorf("crash: serve-%02d exited before serving; its log ends:\n%s", inc.n, tail(inc.log))
	case <-t.C:
		return time.Time{}, fmt.Errorf("crash: serve-%02d not serving %v after its start; its log ends:\n%s", inc.n, patience, tail(inc.log))
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
}

// Served returns when the current incarnation began to serve, and an
// error if it has not.
func (s *Server) Served() (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || s.cur.served.IsZero() {
		return time.Time{}, errors.New("crash: the server is not serving")
	}
	return s.cur.served, nil
}

// Kill kills the current incarnation with SIGKILL (kill -9) and waits
// for it to be gone.
func (s *Server) Kill() {
	inc := s.ending()
	if inc == nil {
		return
	}
	_ = inc.cmd.Process.Kill()
	<-inc.exited
}

// Stop shuts the current incarnation down (SIGTERM) and reports whether it
// exited cleanly within stopGrace (it is killed if not).
func (s *Server) Stop() error {
	inc := s.ending()
	if inc == nil {
		return nil
	}
	select {
	case <-inc.exited:
		return nil
	default:
	}
	_ = inc.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-inc.exited:
	case <-time.After(stopGrace):
		s.Kill()
		return fmt.Errorf("crash: serve-%02d still running %v after SIGTERM: killed", inc.n, stopGrace)
	}
	if st := inc.cmd.ProcessState; !st.Success() {
		return fmt.Errorf("crash: serve-%02d exited with %v after SIGTERM; its log ends:\n%s", inc.n, st, tail(inc.log))
	}
	return nil
}

// ending marks the current incarnation killed or stopped, not gone by
// itself, and returns it; nil if there is none.
func (s *Server) ending() *incarnation {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		s.cur.killed = true
	}
	return s.cur
}

// Incarnations is how many server processes were started.
func (s *Server) Incarnations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Starts are how long each incarnation that served took from its start to
// serving (opening the store, recovery, listening).
func (s *Server) Starts() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	for _, inc := range s.all {
		if !inc.served.IsZero() {
			out = append(out, inc.served.Sub(inc.started))
		}
	}
	return out
}

// Failures lists the incarnations that exited without being killed.
func (s *Server) Failures() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.panics) == 0 {
		return nil
	}
	return errors.New(strings.Join(s.panics, "\n"))
}

// Warnings are the WARN and ERROR lines the incarnations logged.
func (s *Server) Warnings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.warnings...)
}

// tail is the end of a log file.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}
