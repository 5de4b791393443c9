// Package crash is issue #14's crash test: `beckon serve -store bolt` runs
// as a child process and is killed with SIGKILL at random moments, then
// started again on the same data directory and ports, while devices in
// this process (internal/scale's MQTT 3.1.1 Device, clean session false)
// call each other and resume their sessions after every restart.
//
// Each of Config.Pairs caller/callee pairs plays rounds: an invitation
// with a short timeout, then modifies, then an accept, a reject, a cancel,
// or nothing (it times out, often while the server is down: TMO-4). Every
// request carries a request ID and is sent again with it until it gets an
// answer (IDM-1), so every operation ends with a known result. After the
// last restart the load stops, every deadline passes, and the oracle
// (oracle.go) checks what the server promised:
//
//   - no acknowledged operation is lost and nothing happens that no
//     acknowledged operation caused: each pair's history holds exactly the
//     invite, modifies and closing message of each invitation (HIS-1,
//     DLV-3), the call records hold each invitation's final states
//     (REC-1), and nothing is left open;
//   - no timeout fires twice (TMO-1, TMO-4): one timeout message per timed
//     out invitation, one InvitationTimeout per participant;
//   - every device keeps one session across the restarts (REM-5): its
//     events are the run 1..n of seq numbers with no gap, and it handles
//     each event it is owed exactly once, in order per invitation (DLV-2),
//     those of timeouts fired at recovery included.
//
// Server keeps the log of each server process; the test copies them, with
// the devices' own logs, to a directory named in its failure message.
package crash
