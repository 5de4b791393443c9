package beckon

import (
	"context"
	"fmt"

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

// OpenInvitations lists the open invitations user takes part in as the
// inviter or as a pending invitee (QRY-1; never an online-only one the
// user was offline for, ONL-1), in creation order, with their invitees'
// states, current data and deadline (zero for timeout 0). It is a query on
// the loop (see query): not logged, it changes nothing. At most
// kernel.Config.MaxOpenPerInviter outgoing (default 100) and
// kernel.MaxListedIncoming incoming (1,000, the newest) are listed. It
// checks no caller: the raw path for trusted code and adapters that act
// for an authenticated user; Client.OpenInvitations is the user's own.
func (r *Runtime) OpenInvitations(ctx context.Context, user string) ([]OpenInvitation, error) {
	var out []OpenInvitation
	err := r.query(ctx, func(k *kernel.Kernel) {
		out = k.OpenInvitations(user)
		for i := range out { // the kernel's invitee lists are shared: never handed out
			out[i].Invitees = append([]string(nil), out[i].Invitees...)
		}
	})
	return out, err
}

// Records lists user's call records (REC-1, REC-2) from the store: one
// per closed invitation the user took part in (not online-only), newest
// first (by close time, ties by invite ID), those after the cursor after
// (the zero RecordCursor: from the newest; else the Cursor() of the last
// record of the previous page), at most limit (<= 0: every record kept).
// The store keeps each user's newest records within its retention
// (port.Retention: by default port.DefaultRecordsPerUser, 1,000, and
// port.DefaultRecordMaxAge, 90 days). It sees what is durable, as History
// does, and checks no caller (Client.Records is the user's own).
func (r *Runtime) Records(user string, after RecordCursor, limit int) ([]CallRecord, error) {
	rs, err := r.store.Records(user, after, limit)
	if err != nil {
		return nil, readError(err, fmt.Sprintf("call records of %q", user))
	}
	return rs, nil
}
