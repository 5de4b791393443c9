package kernel

import "slices"

// This file holds the effect of each operation once validate has accepted
// its form; whether cancel, accept, reject, modify and timeout may happen,
// and what state they lead to, is the lifecycle table's (lifecycle.go).

func (k *Kernel) invite(in *Input) Result {
	if in.Op == OpInviteInGroup {
		members, ok := k.groups[in.Group]
		if !ok {
			return Result{Err: fail(ErrGroupNotFound, "Group", in.Group, "the group is unknown: set its members first")}
		}
		if _, ok := members[in.User]; !ok {
			return Result{Err: fail(ErrNotGroupMember, "User", in.User, "the inviter is not a member of group %q", in.Group)}
		}
		for i, u := range in.Invitees {
			if _, ok := members[u]; !ok {
				return Result{Err: fail(ErrInvalidParameters, "Invitees["+itoa(i)+"]", u, "the invitee is not a member of group %q", in.Group)}
			}
		}
	}
	if u := k.users[in.User]; u != nil && len(u.made) >= k.cfg.MaxOpenPerInviter {
		return Result{Err: fail(ErrInvalidParameters, "User", in.User,
			"the inviter already has %d open invitations (Config.MaxOpenPerInviter)", k.cfg.MaxOpenPerInviter)}
	}
	id := in.InviteID
	if id != "" {
		if _, used := k.invites[id]; used {
			return Result{InviteID: id, Err: fail(ErrAlreadyExists, "InviteID", id, "an open invitation has this ID; choose another or leave it empty")}
		}
	} else if id = in.ProposedInviteID; id == "" || k.invites[id] != nil {
		var err error
		if id, err = k.drawInviteID(); err != nil {
			return Result{Err: err}
		}
	}

	if in.Push != nil { // keep a copy: the caller may reuse its PushInfo
		p := *in.Push
		in.Push = &p
	}
	k.seq++
	inv := &invitation{
		id: id, inviter: in.User, group: in.Group, data: in.Data, push: in.Push,
		seq: k.seq, created: k.now, timeout: int32(in.Timeout), heapIndex: -1,
		onlineOnly: in.OnlineUserOnly,
	}
	if in.Op == OpInvite {
		inv.one[0] = in.Invitees[0]
		inv.invitees, inv.members = inv.one[:], inv.oneMember[:]
	} else {
		inv.invitees = slices.Clip(append([]string(nil), in.Invitees...))
		inv.members = make([]member, len(in.Invitees))
	}
	inv.pending = int32(len(inv.invitees))
	if inv.onlineOnly {
		for i, name := range inv.invitees { // ONL-1: the invitees offline now never hear of it
			u := k.users[name]
			inv.members[i].unreached = u == nil || len(u.sessions) == 0
		}
	}
	k.insert(inv)

	ev := k.newInvitationEvent(inv)
	for i, name := range inv.invitees {
		if m := &inv.members[i]; !m.unreached {
			k.emitTo(name, m.u, &ev)
		}
	}
	k.record(inv, inv.inviter, ActionInvite, inv.invitees, inv.data)
	if inv.push != nil && !inv.onlineOnly && inv.group == "" && !inv.members[0].u.reachable() {
		k.pushes = append(k.pushes, PushRequest{
			To: inv.invitees[0], InviteID: inv.id, Inviter: inv.inviter, Data: inv.data, Info: *inv.push})
	}
	return Result{InviteID: id}
}

// insert adds a new open invitation to every index.
func (k *Kernel) insert(inv *invitation) {
	k.invites[inv.id] = inv
	inv.inviterU = k.userOf(inv.inviter)
	inv.inviterU.refs++
	inv.inviterU.made = append(inv.inviterU.made, inv)
	for i, name := range inv.invitees {
		u := k.userOf(name)
		u.refs++
		m := &inv.members[i]
		m.u = u
		switch {
		case m.state != Pending:
		case !inv.onlineOnly:
			u.pending = append(u.pending, inv)
		case !m.unreached:
			u.onlinePending = append(u.onlinePending, inv)
		}
	}
	if inv.timeout > 0 {
		k.deadlines.push(inv, inv.created+int64(inv.timeout)*1e9)
	}
}

// drawInviteID draws an unused invite ID from the configured source, or
// from the default counter.
func (k *Kernel) drawInviteID() (string, error) {
	for try := 0; try < maxGeneratedInviteIDTrials; try++ {
		var id string
		if k.cfg.IDs != nil {
			id = k.cfg.IDs.NewInviteID()
			if err := checkID("InviteID", id, MaxInviteIDBytes); err != nil {
				return "", fail(ErrInvalidParameters, "InviteID", id, "Config.IDs drew an invalid invite ID: %v", err)
			}
		} else {
			id = "i" + itoa(int(k.seq+1))
			if try > 0 {
				id += "." + itoa(try)
			}
		}
		if _, used := k.invites[id]; !used {
			return id, nil
		}
	}
	return "", failGiven(ErrAlreadyExists, "InviteID", "drawn", "%d drawn invite IDs were all in use; Config.IDs must draw unused IDs", maxGeneratedInviteIDTrials)
}

// decide looks up the lifecycle table for in's caller doing t on the
// invitation in.InviteID: it returns the invitation, the caller's invitee
// index (-1 if it is none) and the state the transition moves invitees to,
// or the table's refusal.
func (k *Kernel) decide(in *Input, t transition) (*invitation, int, State, error) {
	inv := k.invites[in.InviteID]
	row, i := standingOf(inv, in.User)
	c := &lifecycle[row][t]
	if c.refusal != nil {
		return nil, -1, noState, c.refusal.err(in.User, in.InviteID)
	}
	return inv, i, c.next, nil
}

func (k *Kernel) cancel(in *Input) Result {
	inv, _, next, err := k.decide(in, tCancel)
	if err != nil {
		return Result{InviteID: in.InviteID, Err: err}
	}
	for i := range inv.members {
		if m := &inv.members[i]; m.state == Pending {
			m.state = next
		}
	}
	inv.pending = 0
	ev := Event{Type: EventCancelled, InviteID: inv.id, Inviter: inv.inviter, Data: in.Data}
	k.emitToParticipants(inv, &ev)
	k.record(inv, in.User, ActionCancel, inv.invitees, in.Data)
	k.close(inv)
	return Result{InviteID: inv.id}
}

// answer is accept or reject.
func (k *Kernel) answer(in *Input, t transition) Result {
	inv, i, next, err := k.decide(in, t)
	if err != nil {
		return Result{InviteID: in.InviteID, Err: err}
	}
	inv.members[i].state = next
	inv.pending--
	k.unindexPending(inv, i)
	ev := Event{Type: EventAccepted, InviteID: inv.id, Invitee: in.User, Data: in.Data}
	action := ActionAccept
	if t == tReject {
		ev.Type, action = EventRejected, ActionReject
	}
	k.emitToParticipants(inv, &ev)
	k.record(inv, in.User, action, inv.invitees[i:i+1:i+1], in.Data)
	if inv.pending == 0 {
		k.close(inv)
	}
	return Result{InviteID: inv.id}
}

func (k *Kernel) modify(in *Input) Result {
	inv, _, _, err := k.decide(in, tModify)
	if err != nil {
		return Result{InviteID: in.InviteID, Err: err}
	}
	inv.data = in.Data
	ev := Event{Type: EventModified, InviteID: inv.id, Data: in.Data}
	k.emitToParticipants(inv, &ev)
	k.record(inv, in.User, ActionModify, inv.invitees, in.Data)
	return Result{InviteID: inv.id}
}

// expire times out every invitation due at or before now; it reports
// whether any did.
func (k *Kernel) expire(now int64) bool {
	if len(k.deadlines) == 0 || k.deadlines[0].deadline > now {
		return false
	}
	if n := k.deadlines.due(now); n > 1 {
		// A mass expiry (say, after downtime): size the buffers once.
		k.history = slices.Grow(k.history, n)
		k.events = slices.Grow(k.events, n)
	}
	for len(k.deadlines) > 0 && k.deadlines[0].deadline <= now {
		k.timeout(k.deadlines[0].inv)
	}
	return true
}

func (k *Kernel) timeout(inv *invitation) {
	timed := inv.invitees
	if int(inv.pending) != len(inv.invitees) {
		timed = make([]string, 0, inv.pending)
		for i, m := range inv.members {
			if m.state == Pending {
				timed = append(timed, inv.invitees[i])
			}
		}
	}
	next := lifecycle[pendingStanding(inv)][tTimeout].next
	for i := range inv.members {
		if m := &inv.members[i]; m.state == Pending {
			m.state = next
		}
	}
	inv.pending = 0
	ev := Event{Type: EventTimeout, InviteID: inv.id, Invitees: timed}
	k.emitTo(inv.inviter, inv.inviterU, &ev)
	for i, m := range inv.members {
		if m.state == TimedOut && !m.unreached {
			ev.Invitees = inv.invitees[i : i+1 : i+1]
			k.emitTo(inv.invitees[i], m.u, &ev)
		}
	}
	k.record(inv, inv.inviter, ActionTimeout, timed, "")
	k.close(inv)
}

// close removes a closed invitation from every index (LIM-2).
func (k *Kernel) close(inv *invitation) {
	k.closed(inv)
	delete(k.invites, inv.id)
	if inv.heapIndex >= 0 {
		k.deadlines.remove(int(inv.heapIndex))
	}
	inv.inviterU.refs--
	inv.inviterU.made = removeInvitation(inv.inviterU.made, inv)
	k.release(inv.inviter, inv.inviterU)
	for i := range inv.members {
		m := &inv.members[i]
		if m.state == Cancelled || m.state == TimedOut {
			k.unindexPending(inv, i)
		}
		m.u.refs--
		k.release(inv.invitees[i], m.u)
	}
}

// unindexPending removes inv from the pending list of its invitee i,
// keeping order (for an online-only one, from its listed invitations).
func (k *Kernel) unindexPending(inv *invitation, i int) {
	if inv.onlineOnly {
		if !inv.members[i].unreached {
			inv.members[i].u.unlistOnline(inv)
		}
		return
	}
	u := inv.members[i].u
	for i, p := range u.pending {
		if p == inv {
			n := len(u.pending) - 1
			copy(u.pending[i:], u.pending[i+1:])
			u.pending[n] = nil
			u.pending = u.pending[:n]
			return
		}
	}
}

func (inv *invitation) inviteeIndex(user string) int {
	for i, u := range inv.invitees {
		if u == user {
			return i
		}
	}
	return -1
}

// membership reports whether the membership changed.
func (k *Kernel) membership(in *Input) (Result, bool) {
	switch in.Op {
	case OpSetGroup:
		members := make(map[string]struct{}, len(in.Invitees))
		for _, u := range in.Invitees {
			members[u] = struct{}{}
		}
		k.groups[in.Group] = members
		return Result{}, true
	}
	members, ok := k.groups[in.Group]
	if !ok {
		return Result{Err: fail(ErrGroupNotFound, "Group", in.Group, "the group is unknown: set its members first")}, false
	}
	_, member := members[in.User]
	if in.Op == OpJoinGroup && !member {
		members[in.User] = struct{}{}
		return Result{}, true
	}
	if in.Op == OpLeaveGroup && member {
		delete(members, in.User)
		return Result{}, true
	}
	return Result{}, false
}
