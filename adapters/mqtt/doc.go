// Package mqtt serves beckon to remote devices over MQTT 3.1.1 and MQTT 5
// (TCP, and MQTT over websocket from an HTTP handler) with an embedded
// broker (mochi-mqtt). The wire protocol is docs/protocol.md at the
// repository's root; this package is its server side.
//
// The adapter sits between the network and the runtime: it authenticates
// connections (REM-1, Authenticator), confines each device to its own topics
// (REM-2), turns requests into kernel inputs for an Engine and answers each
// with one reply (REM-3), reports presence (REM-4), and is the runtime's
// port.Delivery: events for a session go out on its connection, numbered
// by seq.
//
// Goroutines: mochi reads each connection on a goroutine of its own and
// calls the hooks there; they never wait for the Engine. Each accepted
// connection has one worker, which applies its presence and its requests
// one at a time and writes the replies, and one publisher, which writes its
// events in order. Deliver only queues.
//
// Presence: a connection becomes the session (Connect) when its
// subscription to its own events topic is granted, not at CONNACK: from
// then on every event, the SYN-1 re-delivery of pending invitations first,
// can reach the device, and a connection that never subscribes is not
// online (it could not hear anything). The session ends (Disconnect) when
// that connection ends or unsubscribes from events (the connection is then
// closed), or when another connection with the same client ID takes it
// over: the kernel sees Disconnect then Connect, one session at a time.
package mqtt
