package kernel

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"time"
)

// snapshotMagic starts every snapshot; snapshotVersion follows it.
// Restore also reads version 1, whose remembered requests have no call
// fingerprint (IDM-2 then treats any call with their request ID as the
// retry, as version 1 did, until they leave the window).
const (
	snapshotMagic   = "BECKONSN"
	snapshotVersion = 3
)

// unreachedBit marks, in a snapshot's invitee state byte, an invitee that
// an online-only invitation never reached.
const unreachedBit = 0x80

// Snapshot returns the whole state of the kernel (not its Config) as bytes
// that Restore reads back. The same state always gives the same bytes.
//
// Encoding, version 2 (strings are a uvarint length and the bytes; counts
// are uvarints; integers varints unless said):
//
//	"BECKONSN" uvarint(version=2) varint(now, Unix ns) uvarint(seq)
//	count invitations, in creation order, each:
//	    id inviter group data byte(flags: 1 online-only, 2 push)
//	    varint(timeout s) varint(created, Unix ns) uvarint(seq)
//	    count invitees, each: user byte(state, | 0x80 if unreached: an
//	        online-only invitee offline at invite time)
//	    if push: title desc ext sound
//	count online users, sorted, each: user, count sessions (connection order), each:
//	    session uvarint(seq) varint(expiry s) byte(1: away, 0: connected)
//	    and if away varint(since, Unix ns)
//	count groups, sorted, each: group, count members (sorted), each: member
//	count remembered requests, oldest first, each: user requestID varint(at) inviteID
//	    uint64 little-endian call fingerprint (0: unknown)
//	uint32 little-endian CRC-32 (IEEE) of everything before it
//
// Version 2 is the same with each session its name alone (seq 0, expiry
// 0, connected); version 1 also without the call fingerprints.
func (k *Kernel) Snapshot() []byte { return k.snapshot(snapshotVersion) }

// snapshot encodes the state in the given version (1 to 3).
func (k *Kernel) snapshot(version uint64) []byte {
	b := make([]byte, 0, 64+len(k.invites)*96)
	b = append(b, snapshotMagic...)
	b = binary.AppendUvarint(b, version)
	b = binary.AppendVarint(b, k.now)
	b = binary.AppendUvarint(b, k.seq)

	invs := make([]*invitation, 0, len(k.invites))
	for _, inv := range k.invites {
		invs = append(invs, inv)
	}
	slices.SortFunc(invs, func(a, b *invitation) int { return cmpUint(a.seq, b.seq) })
	b = binary.AppendUvarint(b, uint64(len(invs)))
	for _, inv := range invs {
		for _, s := range [...]string{inv.id, inv.inviter, inv.group, inv.data} {
			b = appendString(b, s)
		}
		var flags byte
		if inv.onlineOnly {
			flags |= 1
		}
		if inv.push != nil {
			flags |= 2
		}
		b = append(b, flags)
		b = binary.AppendVarint(b, int64(inv.timeout))
		b = binary.AppendVarint(b, inv.created)
		b = binary.AppendUvarint(b, inv.seq)
		b = binary.AppendUvarint(b, uint64(len(inv.invitees)))
		for i, u := range inv.invitees {
			b = appendString(b, u)
			m := inv.members[i]
			state := byte(m.state)
			if m.unreached {
				state |= unreachedBit
			}
			b = append(b, state)
		}
		if inv.push != nil {
			for _, s := range [...]string{inv.push.Title, inv.push.Desc, inv.push.Ext, inv.push.Sound} {
				b = appendString(b, s)
			}
		}
	}

	var online []string
	for name, u := range k.users {
		if len(u.sessions) > 0 {
			online = append(online, name)
		}
	}
	slices.Sort(online)
	b = binary.AppendUvarint(b, uint64(len(online)))
	for _, name := range online {
		b = appendString(b, name)
		sessions := k.users[name].sessions
		b = binary.AppendUvarint(b, uint64(len(sessions)))
		for _, s := range sessions {
			b = appendString(b, s.id)
			if version >= 3 {
				b = binary.AppendUvarint(b, s.seq)
				b = binary.AppendVarint(b, int64(s.expiry))
				if s.lost {
					b = append(b, 1)
					b = binary.AppendVarint(b, s.away)
				} else {
					b = append(b, 0)
				}
			}
		}
	}

	groups := sortedKeys(k.groups)
	b = binary.AppendUvarint(b, uint64(len(groups)))
	for _, g := range groups {
		b = appendString(b, g)
		members := sortedKeys(k.groups[g])
		b = binary.AppendUvarint(b, uint64(len(members)))
		for _, m := range members {
			b = appendString(b, m)
		}
	}

	b = binary.AppendUvarint(b, uint64(k.requests.live()))
	k.requests.each(func(r *request) {
		user, reqID, _ := strings.Cut(r.key, "\x00")
		b = appendString(b, user)
		b = appendString(b, reqID)
		b = binary.AppendVarint(b, r.at)
		b = appendString(b, r.inviteID)
		if version >= 2 {
			b = binary.LittleEndian.AppendUint64(b, r.call)
		}
	})
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// Restore returns a kernel in the state a Snapshot recorded, with cfg as
// its config. Bytes that are not a complete, consistent snapshot of this
// version give an error wrapping ErrCorrupt; Restore never panics.
func Restore(cfg Config, snap []byte) (*Kernel, error) {
	if len(snap) < len(snapshotMagic)+4 || string(snap[:len(snapshotMagic)]) != snapshotMagic {
		return nil, fmt.Errorf("%w: not a beckon snapshot (bad magic)", ErrCorrupt)
	}
	body := snap[:len(snap)-4]
	if sum := binary.LittleEndian.Uint32(snap[len(snap)-4:]); sum != crc32.ChecksumIEEE(body) {
		return nil, fmt.Errorf("%w: snapshot checksum mismatch (damaged or truncated)", ErrCorrupt)
	}
	d := decoder{b: body[len(snapshotMagic):]}
	version := d.uvarint()
	if d.err == nil && (version < 1 || version > snapshotVersion) {
		return nil, fmt.Errorf("%w: snapshot version %d, this build reads 1 to %d", ErrCorrupt, version, snapshotVersion)
	}
	k := New(cfg)
	k.now = d.varint()
	k.nowTime = time.Unix(0, k.now)
	k.seq = d.uvarint()
	if err := k.restoreInvitations(&d); err != nil {
		return nil, err
	}
	for n := d.count(); n > 0 && d.err == nil; n-- {
		u := d.string()
		sessions := make([]session, d.count())
		names := make([]string, len(sessions))
		bad := false
		for i := range sessions {
			s := &sessions[i]
			s.id = d.string()
			names[i] = s.id
			if version >= 3 {
				s.seq = d.uvarint()
				expiry := d.varint()
				lost := d.byte()
				if s.lost = lost == 1; s.lost {
					s.away = d.varint()
				}
				s.expiry = int32(expiry)
				bad = bad || expiry < 0 || expiry > MaxSessionExpirySeconds || lost > 1 ||
					(s.lost && (s.away > k.now || expiry == 0))
			}
		}
		if d.err == nil && (u == "" || len(sessions) == 0 || k.Online(u) || hasDuplicate(names) || bad) {
			return nil, fmt.Errorf("%w: snapshot presence of %q is inconsistent", ErrCorrupt, u)
		}
		k.userOf(u).sessions = sessions
		for _, s := range sessions {
			if s.lost {
				k.awayHeap = append(k.awayHeap, awayEntry{at: s.ends(), user: u, session: s.id})
			}
		}
	}
	for n := d.count(); n > 0 && d.err == nil; n-- {
		g := d.string()
		m := d.count()
		members := make(map[string]struct{}, m)
		for ; m > 0; m-- {
			members[d.string()] = struct{}{}
		}
		if _, dup := k.groups[g]; d.err == nil && (g == "" || dup) {
			return nil, fmt.Errorf("%w: snapshot group %q is inconsistent", ErrCorrupt, g)
		}
		k.groups[g] = members
	}
	for n := d.count(); n > 0 && d.err == nil; n-- {
		user, reqID := d.string(), d.string()
		at := d.varint()
		id := d.string()
		var call uint64
		if version >= 2 {
			call = d.uint64()
		}
		key := requestKey(user, reqID)
		if _, dup := k.requests.byKey[key]; d.err == nil && (user == "" || reqID == "" || dup || at > k.now) {
			return nil, fmt.Errorf("%w: snapshot request %q of %q is inconsistent", ErrCorrupt, reqID, user)
		}
		r := &request{key: key, at: at, inviteID: id, call: call}
		k.requests.byKey[key] = r
		k.requests.fifo = append(k.requests.fifo, r)
	}
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	heap.Init(&k.awayHeap)
	if !bytes.Equal(k.snapshot(version), snap) { // unsorted or duplicate entries: Snapshot never writes them
		return nil, fmt.Errorf("%w: snapshot is not in canonical form", ErrCorrupt)
	}
	return k, nil
}

func (k *Kernel) restoreInvitations(d *decoder) error {
	var lastSeq uint64
	for n := d.count(); n > 0 && d.err == nil; n-- {
		inv := &invitation{heapIndex: -1}
		inv.id, inv.inviter, inv.group, inv.data = d.string(), d.string(), d.string(), d.string()
		flags := d.byte()
		inv.onlineOnly = flags&1 != 0
		timeout := d.varint()
		inv.created = d.varint()
		inv.seq = d.uvarint()
		m := d.count()
		if m == 1 && inv.group == "" {
			inv.invitees, inv.members = inv.one[:], inv.oneMember[:]
		} else {
			inv.invitees, inv.members = make([]string, m), make([]member, m)
		}
		for i := range inv.invitees {
			inv.invitees[i] = d.string()
			state := d.byte()
			inv.members[i].state = State(state &^ unreachedBit)
			inv.members[i].unreached = state&unreachedBit != 0
			if inv.members[i].state == Pending {
				inv.pending++
			}
		}
		if flags&2 != 0 {
			inv.push = &PushInfo{Title: d.string(), Desc: d.string(), Ext: d.string(), Sound: d.string()}
		}
		if d.err != nil {
			break
		}
		inv.timeout = int32(timeout)
		switch {
		case inv.id == "" || inv.inviter == "" || k.invites[inv.id] != nil:
			return corruptInvitation(inv, "empty or duplicate ID or inviter")
		case flags&^3 != 0 || timeout < 0 || int64(inv.timeout) != timeout:
			return corruptInvitation(inv, "bad flags or timeout")
		case inv.seq <= lastSeq || inv.seq > k.seq || inv.created > k.now:
			return corruptInvitation(inv, "out of order or from the future")
		case len(inv.invitees) == 0 || (inv.group == "" && len(inv.invitees) != 1) || inv.pending == 0:
			return corruptInvitation(inv, "no invitee, or none pending")
		case hasDuplicate(inv.invitees) || slices.Contains(inv.invitees, inv.inviter):
			return corruptInvitation(inv, "duplicate invitee or inviter among invitees")
		}
		for _, m := range inv.members {
			if m.unreached && !inv.onlineOnly {
				return corruptInvitation(inv, "an unreached invitee in an invitation that is not online-only")
			}
			if s := m.state; s >= stateCount || s == Cancelled || s == TimedOut {
				return corruptInvitation(inv, "invitee state impossible in an open invitation")
			}
		}
		lastSeq = inv.seq
		k.insert(inv) // indexes only the pending invitees
	}
	return nil
}

func corruptInvitation(inv *invitation, why string) error {
	return fmt.Errorf("%w: snapshot invitation %q: %s", ErrCorrupt, inv.id, why)
}

func hasDuplicate(list []string) bool {
	seen := make(map[string]struct{}, len(list))
	for _, s := range list {
		if _, ok := seen[s]; ok {
			return true
		}
		seen[s] = struct{}{}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
