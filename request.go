package beckon

import (
	"context"
	"sync/atomic"

	"github.com/beckonhq/beckon/kernel"
)

// The states of a request: queued until the loop takes it or its caller
// gives up; whoever moves it out of queued first decides.
const (
	stateQueued uint32 = iota
	stateTaken
	stateAbandoned
)

// request is one submitted input and, once answered, its outcome.
type request struct {
	in    kernel.Input
	query func(*kernel.Kernel) // if set, run on the loop instead of applying in (query.go)
	res   kernel.Result
	err   error // the runtime's own error (closed, store failure)
	state atomic.Uint32
	done  chan struct{} // capacity 1; receives once when answered
}

// newRequest is the New of Runtime.requests. The pool is per runtime, not
// global: a channel belongs to the testing/synctest bubble it was made in.
func newRequest() any { return &request{done: make(chan struct{}, 1)} }

// finish answers the request's caller.
func (q *request) finish() { q.done <- struct{}{} }

// checkContext returns the 6017 error of a nil ctx.
func checkContext(ctx context.Context) error {
	if ctx == nil {
		return &kernel.OpError{Class: kernel.ErrInvalidParameters, Field: "ctx", Value: "nil",
			Msg: "a nil context.Context; pass context.Background(), or a context that ends when the caller gives up"}
	}
	return nil
}

// submit queues in for the loop and waits for its outcome.
func (r *Runtime) submit(ctx context.Context, in kernel.Input) (kernel.Result, error) {
	return r.enqueue(ctx, in, nil)
}

// enqueue is submit of in, or, if query is not nil, of a query the loop
// runs instead of applying anything (query.go).
func (r *Runtime) enqueue(ctx context.Context, in kernel.Input, query func(*kernel.Kernel)) (kernel.Result, error) {
	if err := checkContext(ctx); err != nil {
		return kernel.Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return kernel.Result{}, err
	}
	q := r.requests.Get().(*request)
	q.in, q.query = in, query
	if r.drawID != nil && (q.in.Op == kernel.OpInvite || q.in.Op == kernel.OpInviteInGroup) && q.in.InviteID == "" {
		q.in.ProposedInviteID = r.drawID() // off the loop; see newUUID
	}
	q.state.Store(stateQueued)

	r.mu.Lock()
	if r.closed {
		err := r.err
		r.mu.Unlock()
		q.in, q.query = kernel.Input{}, nil
		r.requests.Put(q)
		return kernel.Result{}, err
	}
	r.queue = append(r.queue, q)
	first := len(r.queue) == 1
	r.mu.Unlock()
	if first { // otherwise whoever made the queue non-empty signalled
		r.signal()
	}

	if cancel := ctx.Done(); cancel == nil {
		<-q.done
	} else {
		select {
		case <-q.done:
		case <-cancel:
			if q.state.CompareAndSwap(stateQueued, stateAbandoned) {
				return kernel.Result{}, ctx.Err() // the loop will skip it; not pooled
			}
			<-q.done // taken: the outcome comes within one batch
		}
	}
	res, err := q.res, q.err
	q.in, q.query, q.res, q.err = kernel.Input{}, nil, kernel.Result{}, nil
	r.requests.Put(q)
	if err == nil {
		err = res.Err
	}
	return res, err
}

// signal wakes the loop if it waits.
func (r *Runtime) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}
