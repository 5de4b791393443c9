// Package memory holds beckon's in-memory adapters: Store, the reference
// implementation of port.Store, and Hub, the in-process delivery of events
// to sessions (port.SessionRegistry). Both pass their port's suite
// (port/storetest, port/deliverytest).
//
// The package imports only kernel and port, never the root package, so
// that the root package can use these adapters as its defaults.
package memory
