// Package scale measures beckon with many connected devices (issue #14
// item 5): how much memory the server needs per connected device, how
// fast ten thousand devices connect, whether idle devices slow the rings
// of active ones, and whether every device resumes its session after a
// reconnect storm without losing an event (REM-5).
//
// The server is `beckon serve -store memory` run as a child process on
// 127.0.0.1 (Server): ten thousand connections need ten thousand
// descriptors on each side, and the server's resident set is read from
// /proc (Linux). The devices are Device, an MQTT 3.1.1 client written from
// docs/protocol.md with the few packets it needs (CONNECT, SUBSCRIBE,
// PUBLISH and PUBACK at QoS 1, PINGREQ): one read goroutine and a 512-byte
// buffer per connection, so that ten thousand fit in one process. Devices
// connect with clean session false (persistent sessions) and follow the
// protocol's sequence numbers: the Session message that opens the events
// topic, an event handled once even when re-delivered.
//
// Run runs the phases in turn, each bounded in time; cmd/scaleload is its
// command line.
package scale
