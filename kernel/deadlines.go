package kernel

// deadlineHeap is a binary min-heap of invitations with a timeout, ordered
// by deadline, ties by creation. Each invitation knows its index, so a
// closed invitation leaves the heap at once (O(log n)), not at its deadline.
type deadlineHeap []*invitation

func (h deadlineHeap) less(i, j int) bool {
	a, b := h[i], h[j]
	return a.deadline < b.deadline || (a.deadline == b.deadline && a.seq < b.seq)
}

func (h deadlineHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIndex = int32(i)
	h[j].heapIndex = int32(j)
}

func (h *deadlineHeap) push(inv *invitation) {
	inv.heapIndex = int32(len(*h))
	*h = append(*h, inv)
	h.up(len(*h) - 1)
}

// remove takes out the element at index i.
func (h *deadlineHeap) remove(i int) {
	old := *h
	n := len(old) - 1
	removed := old[i]
	if i != n {
		old.swap(i, n)
	}
	old[n] = nil
	*h = old[:n]
	removed.heapIndex = -1
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
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
