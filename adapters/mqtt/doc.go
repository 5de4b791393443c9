// Package mqtt serves beckon to remote devices over MQTT 3.1.1 and MQTT 5
// (TCP, and MQTT over websocket from an HTTP handler) with an embedded
// broker (mochi-mqtt). The wire protocol is docs/protocol.md at the
// repository's root; this package is its server side.
//
// The adapter sits between the network and the runtime: it authenticates
// connections (REM-1, Authenticator), confines each device to its own topics
// (REM-2), turns requests into kernel inputs for an Engine and answers each
// with one reply (REM-3), reports presence (REM-4), and is the runtime's
// port.Keeper: events for a session go out on its connection, numbered
// by seq, and wait for it while it is lost (REM-5).
//
// Goroutines: mochi reads each connection on a goroutine of its own and
// calls the hooks there; they never wait for the Engine. Each accepted
// connection has one worker, which applies its presence and its requests
// one at a time, and one publisher. Keep only queues; the runtime's Flush
// after each batch (port.Flusher) wakes the publishers of the connections
// with new events, after the batch's callers are answered. Whoever writes
// (the worker its reply, the publisher when woken) writes everything due
// on the connection under one lock, in one write (corkConn): the Session
// notice first, then the session's events in order, then the reply. So a
// device that asked gets the events of its request's batch and the reply
// in one packet of bytes, and a connection's writes are one system call per
// batch, not one per message.
//
// Presence: a connection becomes the session when its subscription to its
// own events topic is granted, not at CONNACK: from then on everything the
// session is sent can reach the device, and a connection that never
// subscribes is not online (it could not hear anything). A device that
// asked to resume (clean start false) gets its session back if the kernel
// still has it (Resume), else a new one (Connect, SYN-1), and the Session
// notice says which. When the connection is lost the session is suspended
// (Suspend) for its expiry; a clean DISCONNECT, or a connection without
// expiry, ends it (Disconnect); a takeover by a connection with the same
// client ID resumes it or starts it anew: one session at a time.
//
// Sessions outlive connections (session.go): each session keeps its events
// until the device acknowledges them (PUBACK), bounded by
// Options.EventQueue; a new connection that resumes it is written every one
// not acknowledged, then the rest. Acknowledgements go to the Engine
// (Acked), so that the store, which keeps the same events with the
// operations that caused them, drops them too; after a restart the runtime
// hands the kept ones back (Keep), so a crash loses none. The cost: every
// event of a resumable session is written to the store in the batch that
// caused it, and deleted once acknowledged in a later batch.
package mqtt
