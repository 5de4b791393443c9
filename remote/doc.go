// Package remote is beckon's Go device client: the SDK's API (the
// beckon.Signaling interface, as *beckon.Client has it) for a device that
// reaches a beckon server over MQTT 5 (docs/protocol.md), such as `beckon
// serve` or a product that embeds adapters/mqtt. A program switches between
// the in-process client and this one by changing the call that makes it:
// Runtime.Login or Dial.
//
// Same API, same behaviour: the same CallOptions (sent as the request's
// arguments, WithRequestID as its requestID), the same errors (a reply with
// code 8010 matches beckon.ErrInvalidInviteID with errors.Is, and
// beckon.Code reads its number), the same Listener (its calls one at a
// time, in order, never on the caller's goroutine; a panicking callback is
// recovered and logged).
//
// What the network adds:
//
//   - Context: an operation waits for the server's reply until ctx ends,
//     and then returns ctx's error; the server may still have applied it.
//     Give the operation WithRequestID and retry it with the same request
//     ID: a repeat applies nothing new and gets the first answer (IDM-1).
//     The same holds for ErrConnectionLost.
//   - Server refusals of its own: 6013 (the server is shutting down: not
//     applied; matches beckon.ErrClosed), 6022 (its store failed: not
//     applied or not acknowledged; matches beckon.ErrStoreFailed; retry with
//     the same request ID), 7008 (too many requests: not applied;
//     ErrTooManyRequests).
//   - Reconnection: a lost connection is re-established automatically
//     (with the same token) and resumes the session (Options.SessionExpiry,
//     default 120s, REM-5): the Listener hears every event of the time
//     away, in order, once, and nothing again. Operations wait for the
//     reconnection (within their ctx); a reply lost with its connection is
//     ErrConnectionLost. A device that comes back after its session
//     expired gets a new session (REM-6): a SessionListener hears
//     OnSessionRestarted, then every invitation still pending for the
//     user again (SYN-1); stop ringing any other (docs/protocol.md
//     "Sessions and sequence numbers").
//   - Takeover: a second connection with the same user and device takes
//     the session; the client that had it is closed (its calls return
//     beckon.ErrNotLoggedIn, logged at Error) rather than reconnecting to
//     take it back. Give each device its own device ID.
//   - Duplicates: QoS 1 may deliver an event twice, and a resumed session
//     sends again what was not acknowledged; the client drops any event
//     whose seq is not above the last one of the session.
package remote
