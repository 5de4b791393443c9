package kernel_test

// Rule tests for IDM, DET and LIM.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beckonhq/beckon/kernel"
)

func TestRulesRetries(t *testing.T) {
	t.Run("IDM-1_a_retry_returns_the_first_result_and_emits_nothing", func(t *testing.T) {
		f := world(t)
		first := withReq(kernel.Invite("alice", "bob", "d", 30), "r")
		id, outs := f.okID(first)
		if len(outs) == 0 {
			t.Fatal("first invite emitted nothing")
		}
		before := f.k.Snapshot()
		for _, retry := range []kernel.Input{
			first,
			withReq(kernel.Invite("alice", "carol", "other", 5), "r"), // whatever the input
			withReq(kernel.Cancel("alice", id, ""), "r"),
		} {
			res, outs := f.do(retry)
			if res.Err != nil || !res.Duplicate || res.Changed || res.InviteID != id || len(outs) != 0 {
				t.Errorf("retry %s: %+v with %d outputs, want the first result (%s) as a duplicate", retry.Op, res, len(outs), id)
			}
		}
		if !bytes.Equal(before, f.k.Snapshot()) || f.k.Open() != 1 {
			t.Errorf("a retry changed the state")
		}
		// Another user with the same request ID is another request.
		if res, outs := f.do(withReq(kernel.Accept("bob", id, ""), "r")); res.Err != nil || res.Duplicate || len(outs) == 0 {
			t.Errorf("bob's request r: %+v", res)
		}
		// The memory survives Snapshot/Restore.
		k := mustRestore(t, kernel.Config{}, f.k.Snapshot())
		if res, outs := apply(k, f.now, first); !res.Duplicate || res.InviteID != id || len(outs) != 0 {
			t.Errorf("retry after restore: %+v", res)
		}
	})

	t.Run("IDM-1_failures_are_not_remembered", func(t *testing.T) {
		f := world(t)
		id, _ := f.okID(kernel.Invite("alice", "bob", "", 0))
		f.fail(withReq(kernel.Modify("alice", "nosuch", "x"), "r2"), kernel.ErrInvalidInviteID, "InviteID")
		f.fail(withReq(kernel.Modify("alice", "nosuch", "x"), "r2"), kernel.ErrInvalidInviteID, "InviteID")
		if outs := f.ok(withReq(kernel.Modify("alice", id, "x"), "r2")); len(outs) == 0 {
			t.Errorf("the corrected request emitted nothing")
		}
		if res, outs := f.do(withReq(kernel.Modify("alice", id, "y"), "r2")); !res.Duplicate || len(outs) != 0 {
			t.Errorf("retry after success: %+v", res)
		}
	})

	t.Run("IDM-1_request_IDs_are_kept_for_RequestIDWindow", func(t *testing.T) {
		for _, c := range []struct {
			cfg    kernel.Config
			window time.Duration
		}{
			{kernel.Config{}, kernel.DefaultRequestIDWindow},
			{kernel.Config{RequestIDWindow: time.Minute}, time.Minute},
		} {
			f := newFx(t, c.cfg)
			f.connect("alice", "a1")
			id, _ := f.okID(kernel.Invite("alice", "bob", "", 0))
			f.setNow(secs(1))
			mod := withReq(kernel.Modify("alice", id, "x"), "rw")
			f.ok(mod)
			f.now = at(secs(1) + c.window - 1)
			if res, outs := f.do(mod); !res.Duplicate || len(outs) != 0 {
				t.Errorf("window %v: retry 1ns before the window ends: %+v", c.window, res)
			}
			f.now = at(secs(1) + c.window)
			if res, outs := f.do(mod); res.Duplicate || res.Err != nil || !res.Changed || len(outs) != 2 {
				t.Errorf("window %v: retry at the window's end was not executed: %+v (%d outputs)", c.window, res, len(outs))
			}
		}
	})

	t.Run("IDM-1_at_most_MaxRequestIDs_are_kept_oldest_first_out", func(t *testing.T) {
		f := newFx(t, kernel.Config{MaxRequestIDs: 3})
		id, _ := f.okID(kernel.Invite("alice", "bob", "", 0))
		for i := 1; i <= 4; i++ {
			f.ok(withReq(kernel.Modify("alice", id, "x"), "r"+strconv.Itoa(i)))
		}
		for i := 4; i >= 2; i-- {
			if res, _ := f.do(withReq(kernel.Modify("alice", id, "x"), "r"+strconv.Itoa(i))); !res.Duplicate {
				t.Errorf("r%d forgotten too early: %+v", i, res)
			}
		}
		if res, _ := f.do(withReq(kernel.Modify("alice", id, "x"), "r1")); res.Duplicate || !res.Changed {
			t.Errorf("r1 still remembered beyond MaxRequestIDs: %+v", res)
		}
	})

	t.Run("IDM-1_default_MaxRequestIDs", func(t *testing.T) {
		if testing.Short() {
			t.Skip("100k operations")
		}
		k := kernel.New(kernel.Config{})
		if res, _ := apply(k, t0, kernel.Invite("alice", "bob", "", 0)); res.Err != nil {
			t.Fatal(res.Err)
		}
		in := kernel.Modify("alice", "i1", "")
		for i := 0; i <= kernel.DefaultMaxRequestIDs; i++ {
			in.RequestID = strconv.Itoa(i)
			if res, _ := apply(k, t0, in); res.Err != nil || res.Duplicate {
				t.Fatalf("request %d: %+v", i, res)
			}
		}
		in.RequestID = "1"
		if res, _ := apply(k, t0, in); !res.Duplicate {
			t.Errorf("request 1 of %d forgotten", kernel.DefaultMaxRequestIDs+1)
		}
		in.RequestID = "0"
		if res, _ := apply(k, t0, in); res.Duplicate {
			t.Errorf("request 0 still remembered after %d newer ones", kernel.DefaultMaxRequestIDs)
		}
	})
}

func TestRulesDeterminism(t *testing.T) {
	t.Run("DET-1_same_inputs_same_outputs_and_restore_after_any_prefix", func(t *testing.T) {
		type timed struct {
			d  time.Duration
			in kernel.Input
		}
		push := kernel.Input{Op: kernel.OpInvite, User: "al", Invitees: list("cy"), Data: "p", Timeout: 6,
			Push: &kernel.PushInfo{Desc: "ring"}, RequestID: "q"}
		script := []timed{
			{0, kernel.Connect("al", "1")},
			{0, kernel.Connect("bo", "1")},
			{0, kernel.Connect("bo", "2")},
			{0, kernel.SetGroup("g", list("al", "bo", "cy", "di"))},
			{1, kernel.InviteInGroup("al", "g", list("bo", "cy", "di"), "x", 5)},
			{1, push},
			{2, push},
			{2, kernel.Accept("bo", "i1", "ok")},
			{3, kernel.Connect("cy", "1")},
			{4, kernel.Modify("cy", "i1", "y")},
			{6, kernel.Accept("di", "i1", "late")},
			{7, kernel.Disconnect("bo", "1")},
			{7, kernel.Invite("bo", "al", "", 3)},
			{8, kernel.Cancel("al", "i2", "")},
			{9, kernel.JoinGroup("g", "eve")},
			{12, kernel.Input{Op: kernel.OpTick}},
			{13, kernel.Reject("al", "i3", "")},
		}
		type step struct {
			res  result
			err  string
			outs []output
			snap []byte
		}
		run := func(k *kernel.Kernel, from int) []step {
			steps := []step{}
			for _, x := range script[from:] {
				res, outs := apply(k, at(secs(int(x.d))), x.in)
				st := step{res: res, err: errText(res.Err), outs: cloneOutputs(outs), snap: k.Snapshot()}
				st.res.Err = nil
				steps = append(steps, st)
			}
			return steps
		}
		cfg := kernel.Config{}
		a, b := run(kernel.New(cfg), 0), run(kernel.New(cfg), 0)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("two runs of the same script differ")
		}
		fired := 0
		for _, st := range a {
			fired += countKind(st.outs, outEvent)
		}
		if fired < 15 {
			t.Fatalf("the script emitted only %d events; it tests little", fired)
		}
		for p := range script {
			k := mustRestore(t, cfg, a[p].snap)
			rest := run(k, p+1)
			if !reflect.DeepEqual(rest, a[p+1:]) {
				t.Errorf("restore after step %d and replay differs from the uninterrupted run", p)
			}
		}
	})
}

func TestRulesLimits(t *testing.T) {
	t.Run("LIM-1_documented_defaults", func(t *testing.T) {
		for _, c := range []struct {
			name      string
			got, want int64
		}{
			{"DefaultMaxIDBytes", kernel.DefaultMaxIDBytes, 128},
			{"DefaultMaxInvitees", kernel.DefaultMaxInvitees, 200},
			{"DefaultMaxDataBytes", kernel.DefaultMaxDataBytes, 8192},
			{"DefaultMaxOpenPerInviter", kernel.DefaultMaxOpenPerInviter, 100},
			{"DefaultMaxTimeoutSeconds", kernel.DefaultMaxTimeoutSeconds, 86400},
			{"DefaultRequestIDWindow", int64(kernel.DefaultRequestIDWindow), int64(10 * time.Minute)},
			{"DefaultMaxRequestIDs", kernel.DefaultMaxRequestIDs, 100_000},
			{"MaxInviteIDBytes", kernel.MaxInviteIDBytes, 127},
		} {
			if c.got != c.want {
				t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
			}
		}
	})

	// Each limit: at the limit passes, one above fails with its code,
	// with the default (zero Config) and with a configured value.
	type limitCase struct {
		name  string
		cfg   func(n int) kernel.Config
		def   int
		small int
		// input returns an input of size n; setup prepares the fixture.
		setup func(f *fx, n int)
		input func(n int) kernel.Input
		class *kernel.Error
		field string
	}
	member := func(i int) string { return "m" + strconv.Itoa(i) }
	cases := []limitCase{
		{name: "MaxIDBytes_user", cfg: func(n int) kernel.Config { return kernel.Config{MaxIDBytes: n} },
			def: kernel.DefaultMaxIDBytes, small: 8,
			input: func(n int) kernel.Input { return kernel.Invite(strings.Repeat("u", n), "bob", "", 0) },
			class: kernel.ErrInvalidParameters, field: "User"},
		{name: "MaxIDBytes_session", cfg: func(n int) kernel.Config { return kernel.Config{MaxIDBytes: n} },
			def: kernel.DefaultMaxIDBytes, small: 8,
			input: func(n int) kernel.Input { return kernel.Connect("bob", strings.Repeat("s", n)) },
			class: kernel.ErrInvalidParameters, field: "Session"},
		{name: "MaxIDBytes_request", cfg: func(n int) kernel.Config { return kernel.Config{MaxIDBytes: n} },
			def: kernel.DefaultMaxIDBytes, small: 8,
			input: func(n int) kernel.Input {
				return withReq(kernel.Invite("alice", "bob", "", 0), strings.Repeat("r", n))
			},
			class: kernel.ErrInvalidParameters, field: "RequestID"},
		{name: "MaxIDBytes_group", cfg: func(n int) kernel.Config { return kernel.Config{MaxIDBytes: n} },
			def: kernel.DefaultMaxIDBytes, small: 8,
			input: func(n int) kernel.Input { return kernel.SetGroup(strings.Repeat("g", n), list("bob")) },
			class: kernel.ErrInvalidParameters, field: "Group"},
		{name: "MaxIDBytes_invitee", cfg: func(n int) kernel.Config { return kernel.Config{MaxIDBytes: n} },
			def: kernel.DefaultMaxIDBytes, small: 8,
			input: func(n int) kernel.Input { return kernel.Invite("alice", strings.Repeat("b", n), "", 0) },
			class: kernel.ErrInvalidParameters, field: "Invitees[0]"},
		{name: "MaxInvitees", cfg: func(n int) kernel.Config { return kernel.Config{MaxInvitees: n} },
			def: kernel.DefaultMaxInvitees, small: 3,
			setup: func(f *fx, n int) {
				members := []string{"alice"}
				for i := 0; i <= n; i++ {
					members = append(members, member(i))
				}
				f.group("g", members...)
			},
			input: func(n int) kernel.Input {
				var invitees []string
				for i := 0; i < n; i++ {
					invitees = append(invitees, member(i))
				}
				return kernel.InviteInGroup("alice", "g", invitees, "", 0)
			},
			class: kernel.ErrInvalidParameters, field: "Invitees"},
		{name: "MaxDataBytes", cfg: func(n int) kernel.Config { return kernel.Config{MaxDataBytes: n} },
			def: kernel.DefaultMaxDataBytes, small: 16,
			input: func(n int) kernel.Input { return kernel.Invite("alice", "bob", strings.Repeat("d", n), 0) },
			class: kernel.ErrBodySizeLimit, field: "Data"},
		{name: "MaxOpenPerInviter", cfg: func(n int) kernel.Config { return kernel.Config{MaxOpenPerInviter: n} },
			def: kernel.DefaultMaxOpenPerInviter, small: 2,
			setup: func(f *fx, n int) {
				for i := 0; i < n-1; i++ {
					f.ok(kernel.Invite("alice", member(i), "", 0))
				}
			},
			input: func(n int) kernel.Input { return kernel.Invite("alice", "bob", "", 0) },
			class: kernel.ErrInvalidParameters, field: "User"},
		{name: "MaxTimeoutSeconds", cfg: func(n int) kernel.Config { return kernel.Config{MaxTimeoutSeconds: n} },
			def: kernel.DefaultMaxTimeoutSeconds, small: 60,
			input: func(n int) kernel.Input { return kernel.Invite("alice", "bob", "", n) },
			class: kernel.ErrInvalidParameters, field: "Timeout"},
	}
	for _, c := range cases {
		for _, configured := range []bool{false, true} {
			limit, cfg := c.def, kernel.Config{}
			if configured {
				limit, cfg = c.small, c.cfg(c.small)
			}
			t.Run("LIM-1_"+c.name+"_"+strconv.Itoa(limit), func(t *testing.T) {
				f := newFx(t, cfg)
				if c.setup != nil {
					c.setup(f, limit)
				}
				// One above the limit first (the state stays as set up).
				over := c.input(limit + 1)
				if c.name == "MaxOpenPerInviter" {
					f.ok(c.input(limit))
					over = c.input(limit)
				} else {
					f.fail(over, c.class, c.field)
					f.ok(c.input(limit))
					return
				}
				f.fail(over, c.class, c.field)
				// Closing one frees a place.
				f.ok(kernel.Cancel("alice", "i1", ""))
				f.ok(over)
			})
		}
	}

	t.Run("LIM-1_MaxInviteIDBytes_is_127_whatever_MaxIDBytes", func(t *testing.T) {
		f := newFx(t, kernel.Config{MaxIDBytes: 1000})
		f.fail(withID(kernel.Invite("alice", "bob", "", 0), strings.Repeat("x", 128)), kernel.ErrInvalidParameters, "InviteID")
		f.fail(kernel.Cancel("alice", strings.Repeat("x", 128), ""), kernel.ErrInvalidParameters, "InviteID")
		f.ok(withID(kernel.Invite("alice", "bob", "", 0), strings.Repeat("x", 127)))
		f.ok(kernel.Cancel("alice", strings.Repeat("x", 127), ""))
		f.ok(kernel.Invite(strings.Repeat("u", 1000), "bob", "", 0))
	})

	t.Run("LIM-2_closed_invitations_leave_the_state", func(t *testing.T) {
		f := newFx(t, kernel.Config{MaxOpenPerInviter: 3})
		f.connect("alice", "a1")
		f.connect("bob", "b1")
		f.group("g", "alice", "bob", "carol", "dave")
		empty := f.k.Snapshot()
		checkEmpty := func(when string) {
			t.Helper()
			if f.k.Open() != 0 {
				t.Errorf("%s: Open() = %d", when, f.k.Open())
			}
			if d, ok := f.k.NextDeadline(); ok {
				t.Errorf("%s: NextDeadline = %v, want none", when, d)
			}
			snap := f.k.Snapshot()
			if n := snapshotInvitations(t, snap); n != 0 {
				t.Errorf("%s: the snapshot holds %d invitations", when, n)
			}
			if len(snap) > len(empty)+4 { // now and seq may take a few more bytes
				t.Errorf("%s: snapshot is %d bytes, the empty state's %d", when, len(snap), len(empty))
			}
		}
		for round := 0; round < 50; round++ {
			base := secs(round * 100)
			f.setNow(base)
			a, _ := f.okID(kernel.Invite("alice", "bob", "", 0))
			b, _ := f.okID(kernel.InviteInGroup("alice", "g", list("bob", "carol", "dave"), "", 10))
			c, _ := f.okID(kernel.Invite("alice", "carol", "", 5))
			f.ok(kernel.Accept("bob", a, ""))
			f.ok(kernel.Reject("bob", b, ""))
			f.ok(kernel.Accept("carol", b, ""))
			d, _ := f.okID(kernel.Invite("bob", "dave", "", 0))
			f.ok(kernel.Cancel("bob", d, ""))
			f.setNow(base + secs(10))
			if res, _ := f.tick(); !res.Changed || f.k.Open() != 0 {
				t.Fatalf("round %d: tick %+v, Open %d (%s, %s still open?)", round, res, f.k.Open(), b, c)
			}
		}
		checkEmpty("after 200 invitations closed")
		// Nothing pending is re-delivered to those who were invited.
		if outs := f.ok(kernel.Connect("carol", "c1")); len(outs) != 0 {
			t.Errorf("carol connecting got:\n%s", formatOutputs(outs))
		}
		f.ok(kernel.Disconnect("carol", "c1"))
		// The per-inviter count went back to zero: three more fit.
		for i := 0; i < 3; i++ {
			f.ok(kernel.Invite("alice", "bob", "", 0))
		}
		f.fail(kernel.Invite("alice", "bob", "", 0), kernel.ErrInvalidParameters, "User")
	})

	t.Run("LIM-2_request_memory_is_bounded", func(t *testing.T) {
		f := newFx(t, kernel.Config{MaxRequestIDs: 5, RequestIDWindow: time.Minute})
		id, _ := f.okID(kernel.Invite("alice", "bob", "", 0))
		base := len(f.k.Snapshot())
		var sizes []int
		for i := 0; i < 3000; i++ {
			f.ok(withReq(kernel.Modify("alice", id, ""), fmt.Sprintf("req-%04d", i)))
			if i%1000 == 999 {
				sizes = append(sizes, len(f.k.Snapshot()))
			}
		}
		if sizes[0] != sizes[2] || sizes[0] > base+5*32 {
			t.Errorf("snapshot sizes %v with 5 requests kept (empty memory %d bytes)", sizes, base)
		}
		f.setNow(time.Minute)
		f.tick()
		if got := len(f.k.Snapshot()); got > base+4 {
			t.Errorf("after the window the snapshot is %d bytes, %d without requests", got, base)
		}
		if res, _ := f.do(withReq(kernel.Modify("alice", id, ""), "req-2999")); res.Duplicate {
			t.Errorf("request remembered beyond the window")
		}
	})

	t.Run("LIM-2_users_of_closed_invitations_leave_memory", func(t *testing.T) {
		if testing.Short() {
			t.Skip("heap measurement")
		}
		k := kernel.New(kernel.Config{})
		const n = 20000
		heap := func() uint64 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.HeapAlloc
		}
		run := func(from int) {
			for i := from; i < from+n; i++ {
				u := "user-" + strconv.Itoa(i)
				res, _ := apply(k, t0, kernel.Invite("inviter-"+strconv.Itoa(i), u, "", 0))
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				if res, _ := apply(k, t0, kernel.Reject(u, res.InviteID, "")); res.Err != nil {
					t.Fatal(res.Err)
				}
			}
		}
		run(0) // warm up buffers
		before := heap()
		run(n)
		after := heap()
		runtime.KeepAlive(k)
		if after > before && after-before > 1<<20 {
			t.Errorf("heap grew by %d bytes over %d closed invitations of distinct users", after-before, n)
		}
	})
}

// snapshotInvitations reads the count of invitations from a snapshot's
// documented header: magic, uvarint version, varint now, uvarint seq,
// uvarint count.
func snapshotInvitations(t *testing.T, snap []byte) uint64 {
	t.Helper()
	if !bytes.HasPrefix(snap, []byte("BECKONSN")) {
		t.Fatalf("snapshot without magic")
	}
	b := snap[8:]
	if v, n := binary.Uvarint(b); n <= 0 || v != 1 {
		t.Fatalf("snapshot version %d", v)
	} else {
		b = b[n:]
	}
	_, n := binary.Varint(b)
	b = b[n:]
	_, n = binary.Uvarint(b)
	b = b[n:]
	count, n := binary.Uvarint(b)
	if n <= 0 {
		t.Fatalf("bad snapshot header")
	}
	return count
}
