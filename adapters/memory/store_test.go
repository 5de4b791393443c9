package memory_test

import (
	"testing"

	"github.com/beckonhq/beckon/adapters/memory"
	"github.com/beckonhq/beckon/port"
	"github.com/beckonhq/beckon/port/storetest"
)

// A memory store outlives the runtime that used it: handing it to the
// next runtime is its restart, so reopen returns it as it is.
func TestStorePort(t *testing.T) {
	storetest.Run(t, func(*testing.T) port.Store { return memory.NewStore() },
		func(_ *testing.T, s port.Store) port.Store { return s })
}
