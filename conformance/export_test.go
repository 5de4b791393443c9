package conformance

import (
	"time"

	"github.com/beckonhq/beckon/kernel"
)

// Kernel connects this package's tests to conformance/kernelharness, which
// imports this package and so cannot be imported by its internal tests:
// kernel_test.go (package conformance_test) sets it before any test runs.
var Kernel struct {
	New     func(kernel.Config) func(TB) Harness
	Config  func(Limits) kernel.Config
	Recover func(cfg kernel.Config, snap []byte, records []kernel.Record, at time.Time) ([]Output, error)
}

// The limits of the tests (model_harness_test.go), for kernel_test.go.
var SuiteLimits, PropLimits = suiteLimits, propLimits
