package conformance

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"pgregory.net/rapid"
)

func TestEveryRuleHasCheck(t *testing.T) {
	if bad := uncovered(); len(bad) > 0 {
		t.Errorf("RULES coverage: got %v, want every rule of Rules checked", bad)
	}
	seen := map[string]bool{}
	for _, r := range Rules {
		if seen[r.ID] {
			t.Errorf("RULES: rule %s listed twice", r.ID)
		}
		seen[r.ID] = true
	}
}

// The reference model passes its own suite, with small limits and with the
// kernel's default limits.
func TestModelSuite(t *testing.T)              { Run(t, modelHarnessWith(suiteLimits)) }
func TestModelSuiteDefaultLimits(t *testing.T) { Run(t, modelHarnessWith(defaultLimits)) }

// The property test compares the model with itself: it checks the machine
// (generators, comparisons) rather than the model.
func TestModelProperties(t *testing.T) { RunProperties(t, modelHarnessWith(propLimits)) }

func FuzzModelStateMachine(f *testing.F) {
	f.Fuzz(rapid.MakeFuzz(StateMachine(modelHarnessWith(propLimits))))
}

// recT is a TB that records failures instead of failing the test, so that a
// test can run the suite against a broken harness and look at the result.
type recT struct {
	name     string
	mu       sync.Mutex
	failed   bool
	skipped  bool
	msgs     []string
	cleanups []func()
}

func (r *recT) Helper()      {}
func (r *recT) Name() string { return r.name }
func (r *recT) Logf(string, ...any) {
}
func (r *recT) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}
func (r *recT) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}
func (r *recT) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = true
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recT) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// The rest of rapid.TB, so that rapid.Check can run with a recT.
func (r *recT) Log(args ...any)   {}
func (r *recT) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *recT) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }
func (r *recT) Skip(args ...any)  { r.Skipf("%s", fmt.Sprint(args...)) }
func (r *recT) SkipNow()          { r.Skipf("") }
func (r *recT) FailNow()          { r.Fatalf("FailNow") }
func (r *recT) Fail()             { r.Errorf("Fail") }
func (r *recT) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

type outcome struct {
	rule, name      string
	failed, skipped bool
	msgs            []string
}

// runCaptured runs every check against newHarness, each on its own
// goroutine with a recT, and returns what happened.
func runCaptured(newHarness func(TB) Harness) []outcome {
	var res []outcome
	for _, c := range checks() {
		rt := &recT{name: c.rule + "/" + c.name}
		done := make(chan struct{})
		go func() {
			defer close(done)
			runCheck(rt, c, newHarness)
		}()
		<-done
		for i := len(rt.cleanups) - 1; i >= 0; i-- {
			rt.cleanups[i]()
		}
		res = append(res, outcome{rule: c.rule, name: c.name, failed: rt.failed, skipped: rt.skipped, msgs: rt.msgs})
	}
	return res
}

// The suite must also be able to fail: the recorder of failures works and
// the messages follow "RULE op: got X, want Y".
func TestCapturedRunOfCorrectHarness(t *testing.T) {
	for _, o := range runCaptured(modelHarnessWith(suiteLimits)) {
		if o.failed {
			t.Errorf("%s/%s failed on the model: %s", o.rule, o.name, strings.Join(o.msgs, "\n"))
		}
	}
}
