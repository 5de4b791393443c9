package beckon

import (
	"context"

	"github.com/beckonhq/beckon/kernel"
)

// query runs f on the loop, against the kernel: after every input
// submitted before it and before every input submitted after it, so it
// needs no lock and races with nothing. It applies nothing and is not
// logged. Its answer travels with the loop's batch like any answer, so
// query returns once what was applied before it is durable: it never
// reports state that a store failure could still undo. f must only read
// the kernel, keep nothing of it, and be quick (the loop waits for it);
// it writes its findings to variables of the caller, which query's
// return makes visible. The error is the runtime's (ErrClosed,
// ErrStoreFailed) or ctx's, as for an operation.
func (r *Runtime) query(ctx context.Context, f func(k *kernel.Kernel)) error {
	_, err := r.enqueue(ctx, kernel.Input{}, f)
	return err
}

// HistoryAs lists the signaling messages of conv as History does, for
// user, who must be one of its own users (HIS-4): one of the two users of
// a 1:1 conversation, or a current member of the group (else
// ErrNotGroupMember, 10007; an unknown group is ErrGroupNotFound, 10010;
// a user outside a 1:1 conversation, ErrInvalidParameters). It is the
// checked path for adapters that act for remote sessions, and what
// Client.GroupHistory uses. Membership is read on the loop (see query),
// then the store.
func (r *Runtime) HistoryAs(ctx context.Context, user string, conv Conversation, after uint64, limit int) ([]HistoryMessage, error) {
	var denied error
	if err := r.query(ctx, func(k *kernel.Kernel) { denied = k.CanRead(user, conv) }); err != nil {
		return nil, err
	}
	if denied != nil {
		return nil, denied
	}
	return r.History(conv, after, limit)
}
