package scale

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/beckonhq/beckon/adapters/mqtt"
)

// serverStart bounds building and starting the server; serverStop its
// shutdown (beckon serve waits up to 10 s for its sessions).
const (
	serverStart = 2 * time.Minute
	serverStop  = 30 * time.Second
)

// serverRate is the server's request rate per connection: high enough
// that the ringers and the storm's senders, one request at a time each,
// are never refused 7008. The burst (and with it each connection's
// request queue) stays at its default, so memory is measured as shipped.
const serverRate = "100000"

// Server is `beckon serve -store memory` run as a child process on
// loopback, with a data directory of its own: ten thousand devices need
// ten thousand descriptors on each side, more than one process may hold.
type Server struct {
	Addr   string // the MQTT listener, 127.0.0.1:port
	secret []byte
	dir    string
	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{}
	lines  serverLines
}

// serverLines counts the server's log lines by level.
type serverLines struct {
	warn, errors int
	first        []string // the first few WARN and ERROR lines
}

// StartServer builds cmd/beckon (with `go build`, from the working
// directory, which must be in beckon's module) unless bin names a beckon
// binary, and starts `serve` on free loopback ports.
func StartServer(ctx context.Context, bin string) (*Server, error) {
	ctx, cancel := context.WithTimeout(ctx, serverStart)
	defer cancel()
	dir, err := os.MkdirTemp("", "beckon-scale-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, exited: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	if bin == "" {
		bin = filepath.Join(dir, "beckon")
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/beckonhq/beckon/cmd/beckon").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("scale: building beckon (run from beckon's module, or give its binary): %v\n%s", err, out)
		}
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return nil, err
	}
	s.secret = make([]byte, 32)
	if _, err := rand.Read(s.secret); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(data, "token-secret"), s.secret, 0o600); err != nil {
		return nil, err
	}
	if s.log, err = os.Create(filepath.Join(dir, "server.log")); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "serve", "-store", "memory", "-data", data,
		"-mqtt", "127.0.0.1:0", "-http", "127.0.0.1:0", "-rate", serverRate)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("scale: starting %s: %w", bin, err)
	}
	ready := make(chan string, 1)
	go s.watch(stderr, ready)
	select {
	case s.Addr = <-ready:
	case <-s.exited:
		return nil, fmt.Errorf("scale: beckon serve exited before serving: %v; its log: %s", s.cmd.ProcessState, s.tail())
	case <-ctx.Done():
		s.kill()
		return nil, fmt.Errorf("scale: beckon serve did not report its address within %v", serverStart)
	}
	ok = true
	return s, nil
}

// watch copies the server's log to its file, hands the MQTT address to
// ready, counts warnings and errors, and reaps the process.
func (s *Server) watch(stderr io.Reader, ready chan<- string) {
	defer close(s.exited)
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(s.log, line)
		var rec struct {
			Level, Msg, MQTT string
		}
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		switch {
		case rec.Msg == "beckon: serving":
			ready <- rec.MQTT
		case rec.Level == "WARN" || rec.Level == "ERROR":
			if rec.Level == "WARN" {
				s.lines.warn++
			} else {
				s.lines.errors++
			}
			if len(s.lines.first) < 5 {
				s.lines.first = append(s.lines.first, line)
			}
		}
	}
	_ = s.cmd.Wait()
}

// Token is a token the server accepts for user.
func (s *Server) Token(user string) (string, error) {
	return mqtt.IssueToken(s.secret, user, 24*time.Hour, time.Now())
}

// Memory is a process's resident set, from /proc/<pid>/status.
type Memory struct {
	RSS, Peak int64 // VmRSS and VmHWM, bytes
}

// Memory is the server's resident set now.
func (s *Server) Memory() (Memory, error) { return readMemory(strconv.Itoa(s.cmd.Process.Pid)) }

// readMemory reads VmRSS and VmHWM of /proc/<pid>/status (Linux).
func readMemory(pid string) (Memory, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return Memory{}, fmt.Errorf("scale: memory is read from /proc (Linux): %w", err)
	}
	var m Memory
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("scale: /proc/%s/status: %q: %w", pid, line, err)
		}
		if name == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.Peak = kb << 10
		}
	}
	return m, nil
}

// Stop asks the server to shut down (SIGTERM), kills it if it has not
// within serverStop, and removes its directory. It returns the server's
// log lines at WARN and ERROR (the first few, and how many).
func (s *Server) Stop() (warnings, errs int, first []string, err error) {
	defer os.RemoveAll(s.dir)
	defer s.log.Close()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(serverStop):
		s.kill()
		err = fmt.Errorf("scale: beckon serve still running %v after SIGTERM: killed", serverStop)
	}
	if st := s.cmd.ProcessState; err == nil && st != nil && !st.Success() {
		err = fmt.Errorf("scale: beckon serve exited with %v; its log ends: %s", st, s.tail())
	}
	return s.lines.warn, s.lines.errors, s.lines.first, err
}

func (s *Server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// tail is the end of the server's log.
func (s *Server) tail() string {
	b, err := os.ReadFile(s.log.Name())
	if err != nil {
		return err.Error()
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
