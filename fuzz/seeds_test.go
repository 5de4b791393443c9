package fuzz

// kernelSeeds are hand-written FuzzKernel inputs (encoding in gen_test.go),
// one per interesting situation; the fuzzer mutates from them.
func kernelSeeds() [][]byte {
	const small, defaults, cycle3, cycleBad = 0, 1, 2, 4
	online := seq(sConnect(u0, s0), sConnect(u1, s0), sConnect(u1, s1), sConnect(u2, s0))
	return [][]byte{
		// Invite, accept, then everything on the closed invitation fails.
		seq([]byte{small}, online, sInvite(u0, u1, idGen, dD, t2, 0), sOp(kAccept, u1, idLast, dHello, 0),
			sOp(kAccept, u1, idLast, dD, 0), sOp(kCancel, u0, idLast, dD, 0), sOp(kModify, u0, idLast, dD, 0)),
		// Timeout exactly at the deadline, then accept is 8010.
		seq([]byte{small}, online, sInvite(u0, u1, idGen, dD, t2, 0), sAdvance(a1s), sTick(),
			sAdvance(a1s), sTick(), sOp(kAccept, u1, idLast, dD, 0), sTick()),
		// Timeout inside an operation (no tick ran), same deadline for two.
		seq([]byte{small}, online, sInvite(u0, u1, idGen, dD, t2, 0), sInvite(u2, u1, idGen, dD, t2, 0),
			sAdvance(a3s), sOp(kReject, u1, idPrev, dD, 0), sInvite(u3, u1, idGen, dNone, t1, 0)),
		// Group invite: reject, modify, accept closes; cancel after is 8010.
		seq([]byte{small}, online, sSetGroup(g0, u0, u1, u2), sGroupInvite(u0, g0, []byte{u1, u2}, idGen, dD, t3, 0),
			sOp(kReject, u1, idLast, dD, 0), sOp(kModify, u2, idLast, dHello, 0), sOp(kAccept, u2, idLast, dD, 0),
			sOp(kCancel, u0, idLast, dD, 0)),
		// Group errors: unknown group, inviter not member, invitee not member, join/leave.
		seq([]byte{small}, sGroupInvite(u0, g1, []byte{u1}, idGen, dD, 0, 0), sSetGroup(g1, u1),
			sGroupInvite(u0, g1, []byte{u1}, idGen, dD, 0, 0), sJoin(g1, u0), sGroupInvite(u0, g1, []byte{u1, u2}, idGen, dD, 0, 0),
			sJoin(g1, u2), sLeave(g1, u1), sLeave(g1, u1), sJoin(g0, u1), sGroupInvite(u0, g1, []byte{u2}, idGen, dD, t1, 0)),
		// Cancel: invitee 8011, stranger 8010, inviter; partial timeout of a group invite.
		seq([]byte{small}, online, sSetGroup(g0, u0, u1, u2, u3), sGroupInvite(u0, g0, []byte{u1, u2, u3}, idGen, dD, t2, 0),
			sOp(kCancel, u1, idLast, dD, 0), sOp(kAccept, u2, idLast, dD, 0), sAdvance(a2s), sTick(),
			sInvite(u1, u0, idGen, dD, t1, 0), sOp(kCancel, u2, idLast, dD, 0), sOp(kCancel, u1, idLast, dD, 0)),
		// Invite ID collisions with the counter and between chosen IDs.
		seq([]byte{small}, sInvite(u0, u1, idI1+1, dD, 0, 0), sInvite(u1, u2, idGen, dD, 0, 0),
			sInvite(u2, u3, idX0, dD, 0, 0), sInvite(u3, u0, idX0, dD, 0, 0), sOp(kCancel, u2, idChosenX0, dD, 0),
			sInvite(u3, u0, idX0, dD, 0, 0)),
		// Online-only: an offline invitee never gets it; modify is 8011; no history.
		seq([]byte{small}, sConnect(u0, s0), sInvite(u0, u1, idGen, dD, t3, fOnline), sConnect(u1, s0),
			sOp(kModify, u0, idLast, dD, 0), sAdvance(a3s), sTick()),
		// Push to an offline invitee, SYN-1 on connect, push without desc.
		seq([]byte{small}, sInvite(u0, u1, idGen, dD, 0, fPush), sInvite(u2, u1, idGen, dD, 0, fPushNoDesc),
			sConnect(u1, s1), sConnect(u1, s0), sConnect(u1, s0), sDisconnect(u1, s1), sDisconnect(u1, s1),
			sInvite(u2, u1, idGen, dD, 0, fPush)),
		// Request IDs: a retry is a duplicate until the window passes.
		seq([]byte{small}, sInvite(u0, u1, idGen, dD, 0, fReq0), sInvite(u0, u1, idGen, dD, 0, fReq0),
			sOp(kCancel, u0, idLast, dD, fReq0), sOp(kCancel, u0, idLast, dD, fReq1), sOp(kCancel, u0, idLast, dD, fReq1),
			sAdvance(a5s), sInvite(u0, u1, idGen, dD, 0, fReq0), sRaw(0, u0, fReq0)),
		// Malformed inputs: data too big, bad timeouts, bad IDs, unused fields.
		seq([]byte{small}, sInvite(u0, u1, idGen, dTooBig, 0, 0), sInvite(u0, u1, idGen, dMax, tNeg, 0),
			sInvite(u0, u1, idGen, dD, tTooBig, 0), sInvite(badUser, u1, idGen, dD, 0, 0), sInvite(u0, u0, idGen, dD, 0, 0),
			sExtra(sInvite(u0, u1, idGen, dD, 0, 0), 4), sExtra(sConnect(u1, s0), 9), sExtra(sOp(kAccept, u1, idLast, dD, 0), 6),
			sOp(kCancel, u0, idGen, dD, fBadReq), sRaw(1, u0, 0), sRaw(2, u0, 0), sRaw(3, u0, 0)),
		// Snapshot/restore swaps with deadlines pending.
		seq([]byte{small}, online, sInvite(u0, u1, idGen, dD, t3, fReq0), sSwap(), sAdvance(a2s), sOp(kModify, u1, idLast, dD, 0),
			sSwap(), sAdvance(a1s), sSwap(), sTick(), sInvite(u0, u1, idGen, dD, 0, fReq0)),
		// The clock going back is read as the latest time.
		seq([]byte{small}, online, sInvite(u0, u1, idGen, dD, t1, 0), sAdvance(aBack), sAdvance(aBack), sTick(),
			sAdvance(a3s), sTick()),
		// Open-invitation limit (2 in the small config).
		seq([]byte{small}, sInvite(u0, u1, idGen, dD, 0, 0), sInvite(u0, u2, idGen, dD, 0, 0), sInvite(u0, u3, idGen, dD, 0, 0),
			sOp(kReject, u1, idPrev, dD, 0), sInvite(u0, u3, idGen, dD, 0, 0)),
		// Cycling ID source: drawn IDs collide, then all 8 draws are in use.
		seq([]byte{cycle3}, sInvite(u0, u1, idGen, dD, 0, 0), sInvite(u1, u2, idGen, dD, 0, 0), sInvite(u2, u3, idGen, dD, 0, 0),
			sInvite(u3, u0, idGen, dD, 0, 0), sInvite(u3, u1, idC0, dD, 0, 0)),
		// ID source drawing invalid and colliding IDs.
		seq([]byte{cycleBad}, sInvite(u0, u1, idGen, dD, 0, 0), sInvite(u0, u1, idGen, dD, 0, 0), sInvite(u1, u2, idGen, dD, 0, 0),
			sInvite(u2, u3, idGen, dD, 0, 0), sInvite(u3, u0, idGen, dD, 0, 0), sInvite(u3, u0, idGen, dD, 0, 0)),
		// Default limits: a one-day timeout fires after a day.
		seq([]byte{defaults}, online, sInvite(u0, u1, idGen, dMax, tMax, fReq0), sAdvance(a601s), sInvite(u0, u1, idGen, dD, 0, fReq0),
			sAdvance(aDay), sOp(kAccept, u1, idPrev, dD, 0)),
	}
}
