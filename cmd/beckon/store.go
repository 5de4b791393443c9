package main

import (
	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/adapters/memory"
)

// openStore returns the Store the -store flag names: with no path, a new
// memory store; with a path, the durable store kept in that bbolt file
// (created if nothing exists there; a file in use by another process, or
// damaged, or not a beckon store, is refused with an error naming it).
//
// This is the one place that chooses the storage adapter.
func openStore(path string) (beckon.Store, error) {
	if path == "" {
		return memory.NewStore(), nil
	}
	return bolt.Open(path)
}
