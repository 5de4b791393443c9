// Package conformance is the executable form of shared/RULES.md: a test
// suite that any implementation of beckon's signaling semantics can run
// against itself through a small neutral interface (Harness), without
// importing beckon's kernel.
//
//   - Run runs example-based checks, at least one per rule ID of Rules, each
//     against a fresh system. Subtests are named "RULE-ID/what"; a failure
//     reads "RULE op: got X, want Y" followed by the trace of operations.
//   - RunProperties runs a property-based state-machine test (rapid): random
//     operations, malformed ones included, applied side by side to the
//     harness and to a reference model written here in plain Go; after
//     every step results, codes, events, history and push requests must
//     agree. Time moves over the whole range, deadlines exactly and a
//     nanosecond either side included. A failure names the rules whose
//     check failed: "RULE[,RULE...] op: what: got X, want Y".
//     StateMachine exposes the same property for fuzz targets.
//
// Optional capabilities are interfaces a harness may also implement:
// Restarter (durable implementations: DLV-3, TMO-4, DET-1), SessionResumer
// (sessions that outlive a lost connection: REM-4..REM-6), InvitationCounter
// (LIM-2), OutputLog (one global output order, compared with the model's) and
// HistoryReader (HIS-4: history read as a user).
// Checks that need a missing capability are skipped with the reason.
//
// Where RULES.md is silent the suite follows kernel/doc.go (check order,
// recipient order, output order); see README.md for the other decisions.
package conformance
