// Package port holds beckon's ports: the interfaces the runtime drives its
// adapters through (Store, Delivery, Keeper, SessionRegistry, PushHook),
// the data they exchange (Batch, HistoryMessage, CallRecord, Ack), and the errors every adapter
// returns for the same situations (ErrClosed, ErrNoSession,
// ErrSessionTaken, ErrLocked, ErrBadIndex), so that the runtime matches them without
// knowing the adapter.
//
// Dependencies go one way: kernel <- port <- adapters <- runtime (the root
// package) <- cmd. The root package aliases these types (beckon.Store and
// so on); adapters import only kernel and port.
//
// Who calls what: the runtime's loop goroutine applies operations to the
// kernel and calls no port. Its committer goroutine calls Store.Append and
// Store.SaveSnapshot; its deliverer goroutine calls Delivery.Deliver (or
// Keeper.Keep and Keeper.Ended) and PushHook.Push; callers' goroutines call
// Store.History, Store.Records and SessionRegistry.Register; New calls
// Store.Load and Store.Kept. Each port's doc says when.
//
// Every adapter runs the suite of its port: storetest.Run for a Store,
// deliverytest.Run for a SessionRegistry.
package port
