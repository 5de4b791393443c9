package bolt

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// callIndex is the in-memory index of the call records (schema 5): for
// each user, the calls retention keeps of theirs, each as a ref to where
// it lies: a calls entry (in "calllog", or in the journal until a fold
// moves it) and the call's offset in the entry's value. It is built from
// the file (at a checked Open, else at the first Records or write) and
// updated after each commit, like the journal index; Records reads the
// refs after its cursor, then only the entries they point into.
//
// It also counts the refs into each entry: an entry of "calllog" no ref
// points into any more is garbage, which the next fold deletes (at most
// maxCollect of them per fold); one still in the journal is left out of
// the next fold.
//
// Memory: 16 bytes per record kept (up to twice that while a user's slice
// grows), about 80 bytes plus the name per user with records, and 16 bytes
// per entry; see doc.go for a measured figure.
type callIndex struct {
	users    map[string]*userCalls
	entries  []callEntry // by entry id
	free     []uint32    // ids in entries free for reuse
	unfolded []uint32    // ids of the entries in the journal
	garbage  []uint32    // ids of the entries of "calllog" no ref points into
	newest   int64       // close time of the newest call indexed (minInt64: none)
	swept    int64       // the age cutoff every user was last trimmed to
	gen      uint64      // marks the users one apply touched
}

// callEntry is one calls entry.
type callEntry struct {
	key     uint64 // its key (in the journal's sequence)
	refs    uint32 // refs pointing into it
	journal bool   // not folded yet
}

// callRef is one call record: its call's close time, and where the call
// lies (entry id, offset of the call in the entry's value).
type callRef struct {
	closed int64
	entry  uint32
	off    uint32
}

// userCalls is one user's records, oldest first by close time (refs of
// the same close time in no particular order: Records orders them by
// decoding their calls).
type userCalls struct {
	refs []callRef
	mark uint64
}

func newCallIndex() *callIndex {
	return &callIndex{users: make(map[string]*userCalls), newest: math.MinInt64, swept: math.MinInt64}
}

// newEntry adds an entry with no refs yet and returns its id.
func (x *callIndex) newEntry(key uint64, journal bool) uint32 {
	e := callEntry{key: key, journal: journal}
	var id uint32
	if n := len(x.free); n > 0 {
		id, x.free = x.free[n-1], x.free[:n-1]
		x.entries[id] = e
	} else {
		id = uint32(len(x.entries))
		x.entries = append(x.entries, e)
	}
	if journal {
		x.unfolded = append(x.unfolded, id)
	}
	return id
}

// freeEntry forgets an entry that is gone from the file.
func (x *callIndex) freeEntry(id uint32) {
	x.entries[id] = callEntry{}
	x.free = append(x.free, id)
}

// add files ref under user (a name the index may keep: not aliasing
// memory that changes) and returns the user's records.
func (x *callIndex) add(user string, ref callRef) *userCalls {
	u := x.users[user]
	if u == nil {
		u = &userCalls{}
		x.users[strings.Clone(user)] = u
	}
	refs := u.refs
	i := len(refs)
	if i > 0 && refs[i-1].closed > ref.closed {
		i = upperClosed(refs, ref.closed)
	}
	if i > 0 && refs[i-1] == ref {
		return u // a user twice in one call has one record of it
	}
	u.refs = slices.Insert(refs, i, ref)
	x.entries[ref.entry].refs++
	x.newest = max(x.newest, ref.closed)
	return u
}

// release drops a ref into entry id.
func (x *callIndex) release(id uint32) {
	e := &x.entries[id]
	if e.refs--; e.refs == 0 && !e.journal {
		x.garbage = append(x.garbage, id)
	}
}

// trim drops the refs of u that retention r no longer keeps: beyond the
// MaxPerUser newest (but those as old as the MaxPerUser-th, whose order
// only their calls tell: Records cuts among them), and those closed before
// the age cutoff.
func (x *callIndex) trim(u *userCalls, r port.Retention) {
	refs := u.refs
	drop := lowerClosed(refs, r.Cutoff(x.newest))
	if n := len(refs); n > r.MaxPerUser {
		drop = max(drop, lowerClosed(refs, refs[n-r.MaxPerUser].closed))
	}
	if drop == 0 {
		return
	}
	for _, ref := range refs[:drop] {
		x.release(ref.entry)
	}
	clear(refs[:drop])
	u.refs = refs[drop:]
}

// sweep trims every user to the age cutoff, if it moved on by at least a
// 64th of MaxAge since the last sweep: a user without new records keeps
// refs past the cutoff until then (Records does not list them), and so
// their entries. It costs a walk of the users (tens of ns each).
func (x *callIndex) sweep(r port.Retention) {
	cutoff := r.Cutoff(x.newest)
	if cutoff <= x.swept || (x.swept != math.MinInt64 && cutoff-x.swept < int64(r.MaxAge/64)) {
		return
	}
	x.swept = cutoff
	for name, u := range x.users {
		if len(u.refs) > 0 && u.refs[0].closed >= cutoff {
			continue
		}
		x.trim(u, r)
		if len(u.refs) == 0 {
			delete(x.users, name)
		}
	}
}

// callAdd is one calls entry a write put in the journal.
type callAdd struct {
	key   uint64
	calls []kernel.ClosedCall // the batch's, valid until the write returns
	offs  []uint32            // of each call in the entry's value
}

// apply updates the index with a committed transaction's changes:
// its fold (which moved or dropped the journal's entries and deleted the
// garbage p.collected), then its new entries, whose users it trims to r.
func (x *callIndex) apply(p *pending, r port.Retention) {
	if p.folded {
		for _, id := range x.unfolded {
			if x.entries[id].refs == 0 {
				x.freeEntry(id) // left out of the fold
			} else {
				x.entries[id].journal = false
			}
		}
		x.unfolded = x.unfolded[:0]
	}
	for _, id := range x.garbage[:p.collected] {
		x.freeEntry(id)
	}
	x.garbage = x.garbage[p.collected:]
	if len(p.newCalls) > 0 {
		x.gen++
		var touched []string
		for _, a := range p.newCalls {
			id := x.newEntry(a.key, !p.folded)
			for i := range a.calls {
				c := &a.calls[i]
				ref := callRef{closed: c.Closed, entry: id, off: a.offs[i]}
				for name := range c.Participants {
					if u := x.add(name, ref); u.mark != x.gen {
						u.mark = x.gen
						touched = append(touched, name)
					}
				}
			}
		}
		for _, name := range touched {
			u := x.users[name]
			x.trim(u, r)
			if len(u.refs) == 0 {
				delete(x.users, name)
			}
		}
	}
	if p.folded {
		x.sweep(r)
	}
}

// finish sorts and trims every user's refs once the index is read from
// the file, and lists the garbage.
func (x *callIndex) finish(r port.Retention) {
	byClosed := func(a, b callRef) int { return cmp.Compare(a.closed, b.closed) }
	for name, u := range x.users {
		if !slices.IsSortedFunc(u.refs, byClosed) {
			slices.SortStableFunc(u.refs, byClosed)
		}
		x.trim(u, r)
		if len(u.refs) == 0 {
			delete(x.users, name)
		}
	}
	x.swept = r.Cutoff(x.newest)
	x.garbage = x.garbage[:0]
	for id, e := range x.entries {
		if e.refs == 0 && !e.journal {
			x.garbage = append(x.garbage, uint32(id))
		}
	}
}

// lowerClosed returns the index of the first ref closed at t or later.
func lowerClosed(refs []callRef, t int64) int {
	i, _ := slices.BinarySearchFunc(refs, t, func(r callRef, t int64) int { return cmp.Compare(r.closed, t) })
	return i
}

// upperClosed returns the index of the first ref closed after t.
func upperClosed(refs []callRef, t int64) int {
	i, _ := slices.BinarySearchFunc(refs, t, func(r callRef, t int64) int {
		if r.closed <= t {
			return -1
		}
		return 1
	})
	return i
}
