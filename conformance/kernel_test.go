package conformance_test

import (
	"testing"

	"github.com/beckonhq/beckon/conformance"
	"github.com/beckonhq/beckon/conformance/kernelharness"
	"github.com/beckonhq/beckon/kernel"
)

func init() {
	conformance.Kernel.New = kernelharness.New
	conformance.Kernel.Config = kernelharness.Config
	conformance.Kernel.Recover = kernelharness.Recover
}

func TestKernelSuite(t *testing.T) {
	conformance.Run(t, kernelharness.New(kernelharness.Config(conformance.SuiteLimits)))
}

func TestKernelSuiteDefaultLimits(t *testing.T) {
	conformance.Run(t, kernelharness.New(kernel.Config{}))
}

func TestKernelProperties(t *testing.T) {
	conformance.RunProperties(t, kernelharness.New(kernelharness.Config(conformance.PropLimits)))
}
