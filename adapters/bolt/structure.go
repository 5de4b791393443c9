package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// The structural check reads bbolt's pages itself, through ReadAt and with
// every offset bounds-checked, before bbolt walks them: bbolt trusts its
// pages, and a damaged one can make it fault outside the file, loop for
// billions of steps (a damaged overflow count in its own consistency
// check), or allocate without bound. After this check passes, every page
// bbolt can reach is well formed.
const (
	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagMeta     = 0x04
	flagFreelist = 0x10

	elementSize      = 16 // branch and leaf page elements
	bucketHeaderSize = 16 // root page ID and sequence of a bucket value
	leafBucketFlag   = 0x01
	maxBucketDepth   = 16 // beckon nests buckets two deep
	maxTreeLevels    = 64 // a bbolt tree of 2^64 keys is far shallower
)

// structure checks the page tree of one meta page.
type structure struct {
	f    io.ReaderAt
	ps   uint64
	hwm  uint64
	seen []bool // pages accounted for: reachable, freelist or free
}

// checkStructure checks that, from the meta page h.use, every page below
// the high-water mark is reached exactly once or listed free exactly once;
// that pages are what their parents say (ID, type, bounds of every element,
// keys in order and within their parent's range); and that the freelist is
// well formed. It returns an error wrapping ErrCorrupt that names the page.
func checkStructure(f io.ReaderAt, h header) error {
	st := &structure{f: f, ps: uint64(h.pageSize), hwm: h.use.pgid, seen: make([]bool, h.use.pgid)}
	st.seen[0], st.seen[1] = true, true
	free, err := readFreelist(f, h)
	if err != nil {
		return err
	}
	if err := st.mark(h.use.freelist, free.overflow); err != nil {
		return err
	}
	if err := st.tree(h.use.root, nil, nil, 0, 0); err != nil {
		return err
	}
	for _, id := range free.ids {
		if id < 2 || id >= st.hwm {
			return corruptf("freelist lists page %d, outside pages 2..%d", id, st.hwm-1)
		}
		if st.seen[id] {
			return corruptf("page %d is both in use and listed free", id)
		}
		st.seen[id] = true
	}
	for id, ok := range st.seen {
		if !ok {
			return corruptf("page %d is neither in use nor listed free", id)
		}
	}
	return nil
}

// mark accounts for page id and its overflow pages.
func (st *structure) mark(id uint64, overflow uint32) error {
	if id < 2 || id >= st.hwm || uint64(overflow) >= st.hwm-id {
		return corruptf("page %d (+%d overflow pages) lies outside pages 2..%d", id, overflow, st.hwm-1)
	}
	for i := id; i <= id+uint64(overflow); i++ {
		if st.seen[i] {
			return corruptf("page %d is referenced twice", i)
		}
		st.seen[i] = true
	}
	return nil
}

// readPage reads page id with its overflow pages and checks its header.
func readPage(f io.ReaderAt, ps, hwm, id uint64, flags uint16) ([]byte, uint32, error) {
	if id < 2 || id >= hwm {
		return nil, 0, corruptf("reference to page %d, outside pages 2..%d", id, hwm-1)
	}
	hdr := make([]byte, pageHeaderSize)
	if _, err := f.ReadAt(hdr, int64(id*ps)); err != nil {
		return nil, 0, fmt.Errorf("reading page %d: %w", id, err)
	}
	ne := binary.NativeEndian
	if got := ne.Uint64(hdr); got != id {
		return nil, 0, corruptf("page %d says it is page %d", id, got)
	}
	overflow := ne.Uint32(hdr[12:])
	if uint64(overflow) >= hwm-id {
		return nil, 0, corruptf("page %d claims %d overflow pages, past the end (%d pages)", id, overflow, hwm)
	}
	if got := ne.Uint16(hdr[8:]); got&flags == 0 || got&(got-1) != 0 {
		return nil, 0, corruptf("page %d has type flags %#x, expected %#x", id, got, flags)
	}
	buf := make([]byte, (1+uint64(overflow))*ps)
	if _, err := f.ReadAt(buf, int64(id*ps)); err != nil {
		return nil, 0, fmt.Errorf("reading page %d: %w", id, err)
	}
	return buf, overflow, nil
}

// tree checks the page tree rooted at id, level levels below its bucket's
// root, in a bucket nested depth deep, whose keys must lie in [lo, hi) (nil:
// unbounded).
func (st *structure) tree(id uint64, lo, hi []byte, depth, level int) error {
	if level > maxTreeLevels {
		return corruptf("page %d lies more than %d levels deep in its tree", id, maxTreeLevels)
	}
	buf, overflow, err := readPage(st.f, st.ps, st.hwm, id, flagBranch|flagLeaf)
	if err != nil {
		return err
	}
	if err := st.mark(id, overflow); err != nil {
		return err
	}
	return st.page(buf, fmt.Sprintf("page %d", id), lo, hi, depth, level)
}

// page checks one branch or leaf page held in buf (a whole page, or an
// inline bucket's page inside a value).
func (st *structure) page(buf []byte, name string, lo, hi []byte, depth, level int) error {
	if len(buf) < pageHeaderSize {
		return corruptf("%s is too short for a page header", name)
	}
	ne := binary.NativeEndian
	flags, count := ne.Uint16(buf[8:]), uint64(ne.Uint16(buf[10:]))
	if pageHeaderSize+count*elementSize > uint64(len(buf)) {
		return corruptf("%s claims %d elements, more than it can hold", name, count)
	}
	var prev []byte
	for i := range count {
		at := pageHeaderSize + i*elementSize
		e := buf[at : at+elementSize]
		var pos, ksize, vsize uint64
		switch flags {
		case flagBranch:
			pos, ksize = uint64(ne.Uint32(e[0:])), uint64(ne.Uint32(e[4:]))
		case flagLeaf:
			pos, ksize, vsize = uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
		default:
			return corruptf("%s has type flags %#x where a branch or leaf page belongs", name, flags)
		}
		if at+pos+ksize+vsize > uint64(len(buf)) {
			return corruptf("%s: element %d lies outside the page", name, i)
		}
		key := buf[at+pos : at+pos+ksize]
		switch {
		case prev != nil && bytes.Compare(key, prev) <= 0:
			return corruptf("%s: keys out of order at element %d", name, i)
		case lo != nil && bytes.Compare(key, lo) < 0, hi != nil && bytes.Compare(key, hi) >= 0:
			return corruptf("%s: key of element %d lies outside the range its parent gives", name, i)
		}
		prev = key
		if flags == flagBranch {
			next := hi
			if i+1 < count {
				n := buf[at+elementSize:]
				npos, nks := uint64(ne.Uint32(n[0:])), uint64(ne.Uint32(n[4:]))
				if at+elementSize+npos+nks > uint64(len(buf)) {
					return corruptf("%s: element %d lies outside the page", name, i+1)
				}
				next = buf[at+elementSize+npos : at+elementSize+npos+nks]
			}
			if err := st.tree(ne.Uint64(e[8:]), key, next, depth, level+1); err != nil {
				return err
			}
			continue
		}
		if ne.Uint32(e[0:])&leafBucketFlag == 0 {
			continue
		}
		v := buf[at+pos+ksize : at+pos+ksize+vsize]
		if len(v) < bucketHeaderSize {
			return corruptf("%s: bucket value of element %d is too short", name, i)
		}
		if depth+1 > maxBucketDepth {
			return corruptf("%s: buckets nested too deep", name)
		}
		root := ne.Uint64(v)
		if root == 0 { // inline bucket: its page follows the header
			// bbolt resolves every page ID under an inline bucket to the
			// inline page itself, so an inline branch page would send its
			// cursors round in a circle forever: it must be a leaf.
			if inl := v[bucketHeaderSize:]; len(inl) >= pageHeaderSize && ne.Uint16(inl[8:]) != flagLeaf {
				return corruptf("inline bucket %q in %s is not a leaf page", key, name)
			}
			if err := st.page(v[bucketHeaderSize:], fmt.Sprintf("inline bucket %q in %s", key, name), nil, nil, depth+1, 0); err != nil {
				return err
			}
			continue
		}
		if err := st.tree(root, nil, nil, depth+1, 0); err != nil {
			return err
		}
	}
	if flags == flagBranch && count == 0 {
		return corruptf("%s is an empty branch page", name)
	}
	return nil
}

// freelist is what a freelist page lists.
type freelist struct {
	ids      []uint64
	overflow uint32
}

// readFreelist reads and checks the freelist page of h.use, bounding what
// bbolt will read and allocate when it loads it.
func readFreelist(f io.ReaderAt, h header) (freelist, error) {
	ps, hwm := uint64(h.pageSize), h.use.pgid
	buf, overflow, err := readPage(f, ps, hwm, h.use.freelist, flagFreelist)
	if err != nil {
		return freelist{}, fmt.Errorf("freelist: %w", err)
	}
	ne := binary.NativeEndian
	count, at := uint64(ne.Uint16(buf[10:])), uint64(pageHeaderSize)
	if count == 0xFFFF {
		count, at = ne.Uint64(buf[pageHeaderSize:]), pageHeaderSize+8
	}
	if count > hwm || at+count*8 > uint64(len(buf)) {
		return freelist{}, corruptf("freelist page %d claims %d free pages, more than it can hold", h.use.freelist, count)
	}
	ids := make([]uint64, count)
	for i := range ids {
		ids[i] = ne.Uint64(buf[at+uint64(i)*8:])
		if ids[i] < 2 || ids[i] >= hwm { // bbolt would write there
			return freelist{}, corruptf("freelist lists page %d, outside pages 2..%d", ids[i], hwm-1)
		}
	}
	return freelist{ids: ids, overflow: overflow}, nil
}
