package kernel

// deadlineHeap is a binary min-heap of the invitations that can time out,
// ordered by deadline, ties by creation. The keys sit in the heap's own
// array, so sifting reads no invitation; each invitation knows its index,
// so a closed one leaves the heap at once (O(log n)), not at its deadline.
type deadlineHeap []deadlineEntry

type deadlineEntry struct {
	deadline int64 // Unix nanoseconds
	seq      uint64
	inv      *invitation
}

func (h deadlineHeap) less(i, j int) bool {
	a, b := &h[i], &h[j]
	return a.deadline < b.deadline || (a.deadline == b.deadline && a.seq < b.seq)
}

func (h deadlineHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].inv.heapIndex = int32(i)
	h[j].inv.heapIndex = int32(j)
}

func (h *deadlineHeap) push(inv *invitation, deadline int64) {
	inv.heapIndex = int32(len(*h))
	*h = append(*h, deadlineEntry{deadline: deadline, seq: inv.seq, inv: inv})
	h.up(len(*h) - 1)
}

// remove takes out the element at index i.
func (h *deadlineHeap) remove(i int) {
	old := *h
	n := len(old) - 1
	removed := old[i].inv
	if i != n {
		old.swap(i, n)
	}
	old[n] = deadlineEntry{}
	*h = old[:n]
	removed.heapIndex = -1
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
}

// due counts the entries with a deadline at or before now, visiting only
// those (and their direct children): O(due).
func (h deadlineHeap) due(now int64) int {
	n := 0
	var visit func(i int)
	visit = func(i int) {
		if i >= len(h) || h[i].deadline > now {
			return
		}
		n++
		visit(2*i + 1)
		visit(2*i + 2)
	}
	visit(0)
	return n
}

func (h deadlineHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

// down sifts element i down; it reports whether it moved.
func (h deadlineHeap) down(i0 int) bool {
	i, n := i0, len(h)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if r := j + 1; r < n && h.less(r, j) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}
