// Package memory holds beckon's in-memory adapters: Store, the reference
// implementation of the storage port (beckon.Store), and Hub, the
// in-process delivery of events to sessions (beckon.Delivery and
// beckon.SessionRegistry).
//
// The package imports only kernel and port, never the root package, so
// that the root package can use these adapters as its defaults.
package memory
