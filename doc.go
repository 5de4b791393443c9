// Package beckon is call-invitation signaling: the part of a chat or
// calling product that rings someone, lets them accept or reject, lets the
// caller cancel, times out, and tells every device what happened. Its
// behaviour is Tencent IM's signaling API (invite, invite in group, cancel,
// accept, reject, modify, get signaling info and six callbacks), pinned down
// rule by rule in RULES.md and checked by the conformance suite.
//
// # Design
//
// beckon is a pure core with thin adapters around it:
//
//   - kernel/ is the whole invitation lifecycle as a deterministic state
//     machine. Inputs (the six operations, presence, group membership, and
//     clock ticks) go in with the time as an argument; a Result and Outputs
//     (events for sessions, history messages for conversations, push
//     requests) come out as data. No goroutines, I/O, clock reads or global
//     randomness: a log of inputs replays exactly, and a snapshot plus the
//     log after it restores the state. The per-invitee lifecycle is declared
//     once with looplab/fsm and compiled into a table for the hot path
//     (docs/lifecycle.md).
//   - The root package is the runtime: one goroutine owns one kernel, takes
//     operations from many callers, keeps time with a benbjohnson/clock
//     Clock, makes inputs durable through the Store port before it delivers
//     anything, and serves an SDK-style Client per session.
//   - Ports: Store (log, snapshots, history; store.go) and delivery and push
//     hooks. adapters/memory is the in-process reference implementation and
//     the embedded default; adapters/bolt is the durable one (bbolt, group
//     commit, crash-safe).
//   - conformance/ is an importable, property-based suite (pgregory.net/rapid)
//     that checks every rule against any implementation, with its own
//     reference model, proven by deliberately broken implementations.
//   - fuzz/ holds the fuzz targets CI runs (kernel sequences, snapshots,
//     records, signaling messages, store files).
//
// # Contract for whoever drives the kernel
//
//  1. Own the kernel from one goroutine; create it with kernel.New, or
//     kernel.Restore from the latest snapshot.
//  2. On recovery, re-apply every logged record after the snapshot at its
//     logged time and discard the Steps (they were handed over before).
//  3. For each input, call Apply(now, input). Timeouts due at or before now
//     take effect first, then the input. It returns a kernel.Step.
//  4. If Step.Record is not nil, number it (Index, the next log position)
//     and persist it together with Step.History, durably, before step 5.
//  5. Then hand over Step.Events, each to its one session, then Step.Pushes
//     to the push hook. Then answer the caller with Step.Result.
//  6. Copy anything you keep: a Step points into buffers the next call reuses.
//  7. Schedule a Tick at NextDeadline(); treat it as an input (steps 4-5).
//     Persisting a tick that fired is what keeps a timeout from firing
//     twice after a crash (TMO-4).
//  8. Now and then save Snapshot() with the index of the last record it
//     covers, and drop the records before it.
package beckon
