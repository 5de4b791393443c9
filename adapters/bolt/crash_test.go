package bolt_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// The crash test: a child process (this test binary, running
// TestCrashChild) drives a runtime on a bolt store with invites, accepts,
// rejects, cancels and modifies from several goroutines, and prints a line
// for each operation once it has returned success. The parent kills it with
// SIGKILL at a random moment, reopens the store and checks that every
// acknowledged operation is in it, that no timeout fired twice and no 1:1
// invitation was closed twice, and that the file passes Check; then starts
// the next child on the same file. BECKON_CRASH_KILLS sets the number of
// kills (default 20). The child folds the history journal whenever it holds
// crashJournalLimit messages, and at every snapshot (every 150 records), so
// kills land before, during and after folds; the parent checks that folds
// happened.

const (
	crashUsers        = 8
	crashJournalLimit = 24
)

func crashUser(i int) string { return "u" + strconv.Itoa(i) }

// ack is one acknowledged operation: "op inviteID inviter invitee [data]".
type ack struct {
	op, id, inviter, invitee, data string
}

func TestCrashRecovery(t *testing.T) {
	if os.Getenv("BECKON_CRASH_STORE") != "" {
		t.Skip("in the child")
	}
	kills := 20
	if v := os.Getenv("BECKON_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("BECKON_CRASH_KILLS=%q: %v", v, err)
		}
		kills = n
	}
	path := dbPath(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var acks []ack
	var folded, journal int
	start := time.Now()
	for k := range kills {
		// Most kills land in the load; every fifth one early, often while
		// the child is still recovering.
		wait := time.Duration(20+rng.IntN(280)) * time.Millisecond
		early := k%5 == 4
		if early {
			wait = time.Duration(rng.IntN(60)) * time.Millisecond
		}
		got, ready := runAndKill(t, path, wait, early)
		acks = append(acks, got...)
		folded, journal = verifyCrash(t, path, acks, fmt.Sprintf("kill %d (after %v, child ready: %v, %d acks in this run)", k+1, wait, ready, len(got)))
	}
	// Every Append that leaves crashJournalLimit messages in the journal
	// folds it: past that many messages, some must have been folded.
	if folded+journal >= crashJournalLimit && folded == 0 {
		t.Fatalf("%d history messages and none folded", journal)
	}
	t.Logf("%d kills, %d acknowledged operations checked, %d history messages (%d folded, %d in the journal), %v",
		kills, len(acks), folded+journal, folded, journal, time.Since(start).Round(time.Millisecond))
}

// runAndKill starts a child on path and kills it wait after it is ready
// (or after it started, if early); it returns the acknowledged operations
// it printed in whole lines.
func runAndKill(t *testing.T, path string, wait time.Duration, early bool) ([]ack, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BECKON_CRASH_STORE="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		r := bufio.NewReader(out)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return // a last line without its newline was cut by the kill: not acknowledged
			}
			lines <- strings.TrimSuffix(l, "\n")
		}
	}()
	var acks []ack
	ready := false
	parse := func(l string) {
		f := strings.Fields(l)
		switch {
		case l == "ready":
			ready = true
		case len(f) >= 4 && strings.Contains(" invite accept reject cancel modify ", " "+f[0]+" "):
			a := ack{op: f[0], id: f[1], inviter: f[2], invitee: f[3]}
			if len(f) > 4 {
				a.data = f[4]
			}
			acks = append(acks, a)
		default:
			t.Errorf("child: %s", l)
		}
	}
	kill := time.After(wait)
	if !early {
		kill = nil
		timeout := time.After(30 * time.Second)
		for !ready {
			select {
			case l, ok := <-lines:
				if !ok {
					_ = cmd.Wait()
					t.Fatalf("child ended before it was ready:\n%s", stderr.String())
				}
				parse(l)
			case <-timeout:
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("child not ready after 30 s:\n%s", stderr.String())
			}
		}
		kill = time.After(wait)
	}
loop:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break loop
			}
			parse(l)
		case <-kill:
			_ = cmd.Process.Kill() // SIGKILL
			kill = nil
		}
	}
	_ = cmd.Wait()
	if kill != nil {
		t.Fatalf("child ended by itself:\n%s", stderr.String())
	}
	return acks, ready
}

// verifyCrash reopens the store and checks it against every acknowledged
// operation so far; it returns how many history messages are folded and
// how many are in the journal.
func verifyCrash(t *testing.T, path string, acks []ack, label string) (folded, journal int) {
	t.Helper()
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatalf("%s: reopening: %v", label, err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	type seen struct {
		actions map[kernel.Action]int
		data    map[string]bool // data of modifies
		users   []string        // inviter, then invitees
	}
	byID := map[string]*seen{}
	for i := range crashUsers {
		for j := i + 1; j < crashUsers; j++ {
			conv := kernel.C2C(crashUser(i), crashUser(j))
			msgs, err := s.History(conv, 0, 0)
			if err != nil {
				t.Fatalf("%s: history: %v", label, err)
			}
			f, n, err := bolt.HistoryLayout(s, conv.String())
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			if int(f)+n != len(msgs) {
				t.Fatalf("%s: %s: %d folded and %d journal messages, History gives %d", label, conv, f, n, len(msgs))
			}
			folded += int(f)
			journal += n
			for _, m := range msgs {
				info, err := kernel.GetSignalingInfo(m.Payload)
				if err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				e := byID[info.InviteID]
				if e == nil {
					e = &seen{actions: map[kernel.Action]int{}, data: map[string]bool{}, users: append([]string{info.Inviter}, info.InviteeList...)}
					byID[info.InviteID] = e
				}
				e.actions[info.ActionType]++
				if info.ActionType == kernel.ActionModify {
					e.data[info.Data] = true
				}
			}
		}
	}
	closedOf := map[string][]string{} // user -> the invite IDs of the closed calls they took part in
	for id, e := range byID {
		a := e.actions
		if a[kernel.ActionCancel]+a[kernel.ActionAccept]+a[kernel.ActionReject]+a[kernel.ActionTimeout] > 0 {
			for _, u := range e.users {
				closedOf[u] = append(closedOf[u], id)
			}
		}
		if a[kernel.ActionInvite] != 1 {
			t.Fatalf("%s: invitation %s has %d invite messages", label, id, a[kernel.ActionInvite])
		}
		if a[kernel.ActionTimeout] > 1 {
			t.Fatalf("%s: invitation %s timed out %d times", label, id, a[kernel.ActionTimeout])
		}
		if n := a[kernel.ActionCancel] + a[kernel.ActionAccept] + a[kernel.ActionReject] + a[kernel.ActionTimeout]; n > 1 {
			t.Fatalf("%s: 1:1 invitation %s was closed %d times (%v)", label, id, n, a)
		}
	}
	// A call's closing message and its records are written in one commit:
	// each closed call has one record of each participant, whatever the
	// kills interrupted (checked while a user's calls fit in the retention).
	for user, ids := range closedOf {
		if len(ids) > port.DefaultRecordsPerUser {
			continue
		}
		recs, err := s.Records(user, port.RecordCursor{}, 0)
		if err != nil {
			t.Fatalf("%s: Records(%s): %v", label, user, err)
		}
		listed := map[string]int{}
		for _, r := range recs {
			listed[r.Call.InviteID]++
		}
		for _, id := range ids {
			if listed[id] != 1 {
				t.Fatalf("%s: %s's closed call %s has %d records of theirs, want 1", label, user, id, listed[id])
			}
		}
		if len(listed) != len(ids) {
			t.Fatalf("%s: %s has records of %d calls, took part in %d closed ones", label, user, len(listed), len(ids))
		}
	}
	action := map[string]kernel.Action{"invite": kernel.ActionInvite, "cancel": kernel.ActionCancel,
		"accept": kernel.ActionAccept, "reject": kernel.ActionReject, "modify": kernel.ActionModify}
	for _, k := range acks {
		e := byID[k.id]
		if e == nil || e.actions[action[k.op]] == 0 || (k.op == "modify" && !e.data[k.data]) {
			t.Fatalf("%s: acknowledged %+v is missing from the recovered store", label, k)
		}
	}
	if journal >= crashJournalLimit {
		t.Fatalf("%s: the journal holds %d messages, limit %d: not folded", label, journal, crashJournalLimit)
	}
	return folded, journal
}

// TestCrashChild is the child of TestCrashRecovery; it runs until killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv("BECKON_CRASH_STORE")
	if path == "" {
		t.Skip("the child of TestCrashRecovery")
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = io.WriteString(os.Stdout, fmt.Sprintf(format, args...)+"\n")
	}
	s, err := bolt.Open(path, bolt.WithLockTimeout(10*time.Second), bolt.WithJournalLimit(crashJournalLimit))
	if err != nil {
		say("fatal open: %v", err)
		os.Exit(3)
	}
	rt, err := beckon.New(beckon.WithStore(s), beckon.WithLogger(quiet), beckon.WithSnapshotEvery(150))
	if err != nil {
		say("fatal runtime: %v", err)
		os.Exit(3)
	}
	clients := make([]*beckon.Client, crashUsers)
	for i := range clients {
		if clients[i], err = rt.Login(ctx, crashUser(i), "d", beckon.EventFunc(func(beckon.Event) {})); err != nil {
			say("fatal login: %v", err)
			os.Exit(3)
		}
	}
	say("ready")
	pid := os.Getpid()
	for w := range 8 {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(pid), uint64(w)))
			for n := 0; ; n++ {
				a, b := rng.IntN(crashUsers), rng.IntN(crashUsers-1)
				if b >= a {
					b++
				}
				inviter, invitee := clients[a], clients[b]
				who := crashUser(a) + " " + crashUser(b)
				id, err := inviter.Invite(ctx, crashUser(b), "hi", beckon.TimeoutSeconds(1+rng.IntN(2)),
					beckon.WithRequestID(fmt.Sprintf("%d-%d-%d", pid, w, n)))
				if err != nil {
					if rt.Err() != nil {
						say("fatal: %v", rt.Err())
						os.Exit(3)
					}
					continue
				}
				say("invite %s %s", id, who)
				switch rng.IntN(6) {
				case 0:
					if invitee.Accept(ctx, id, "yes") == nil {
						say("accept %s %s", id, who)
					}
				case 1:
					if invitee.Reject(ctx, id, "no") == nil {
						say("reject %s %s", id, who)
					}
				case 2:
					if inviter.Cancel(ctx, id, "oops") == nil {
						say("cancel %s %s", id, who)
					}
				case 3, 4:
					data := fmt.Sprintf("m%d-%d-%d", pid, w, n)
					if inviter.Modify(ctx, id, data) == nil {
						say("modify %s %s %s", id, who, data)
					}
					if rng.IntN(2) == 0 && invitee.Accept(ctx, id, "ok") == nil {
						say("accept %s %s", id, who)
					}
				default: // left to time out, maybe while the process is down
				}
			}
		}()
	}
	select {}
}
