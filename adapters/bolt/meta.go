package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's on-disk header (format version 2), read here before bbolt maps
// the file so that a foreign, truncated or damaged file is refused with a
// clear error instead of a fault inside bbolt. Pages 0 and 1 each hold a
// 16-byte page header followed by a meta record in the machine's byte
// order: magic, version, page size, flags (uint32 each), root bucket page
// and sequence, freelist page, high-water-mark page, transaction ID (uint64
// each), then a FNV-64a checksum of everything before it.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	pageHeaderSize   = 16
	metaChecksumAt   = 56 // offset of the checksum in the meta record
	metaSize         = 64
	pgidNoFreelist   = ^uint64(0)
	minPageSize      = 1024
	maxPageSize      = 1 << 24
	firstMetaBufSize = 4096
)

// meta is one decoded meta page.
type meta struct {
	magic, version, pageSize uint32
	root, freelist, pgid     uint64
	txid, checksum, sum      uint64
}

func parseMeta(b []byte) (meta, bool) {
	if len(b) < pageHeaderSize+metaSize {
		return meta{}, false
	}
	m := b[pageHeaderSize : pageHeaderSize+metaSize]
	ne := binary.NativeEndian
	h := fnv.New64a()
	_, _ = h.Write(m[:metaChecksumAt])
	return meta{
		magic: ne.Uint32(m[0:]), version: ne.Uint32(m[4:]), pageSize: ne.Uint32(m[8:]),
		root: ne.Uint64(m[16:]), freelist: ne.Uint64(m[32:]), pgid: ne.Uint64(m[40:]),
		txid: ne.Uint64(m[48:]), checksum: ne.Uint64(m[56:]), sum: h.Sum64(),
	}, true
}

// problem says why bbolt would not use this meta page, or "" if it would.
func (m meta) problem() string {
	switch {
	case m.magic != boltMagic:
		return "no bbolt magic number"
	case m.version != boltVersion:
		return fmt.Sprintf("bbolt format version %d, this build reads %d", m.version, boltVersion)
	case m.checksum != m.sum:
		return "checksum mismatch"
	}
	return ""
}

// header is what the two meta pages of a file say.
type header struct {
	pageSize int
	use      meta      // the meta page bbolt will use: the valid one with the higher txid
	bad      [2]string // why page 0 or 1 is unusable ("" if it is fine)
}

// note describes an unusable meta page next to a usable one, or "".
func (h header) note() string {
	for i, why := range h.bad {
		if why != "" {
			return fmt.Sprintf("meta page %d is unusable (%s); the store was read through the other one, "+
				"at transaction %d: after a power loss this is expected, otherwise the file is damaged "+
				"and the latest transaction may be missing", i, why, h.use.txid)
		}
	}
	return ""
}

// readHeader reads and checks the meta pages of a file of size bytes. Its
// errors wrap ErrNotStore (no bbolt header at all, or not written by this
// package) or ErrCorrupt (a damaged or truncated bbolt file).
func readHeader(f io.ReaderAt, size int64) (header, error) {
	var h header
	buf := make([]byte, firstMetaBufSize)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return h, err
	}
	m0, ok0 := parseMeta(buf[:n])
	if !ok0 {
		return h, fmt.Errorf("%w: %d bytes is too short for a bbolt database", ErrNotStore, size)
	}
	h.bad[0] = m0.problem()
	var m1 meta
	h.bad[1] = "no valid meta page found"
	// Page 1 starts at the page size, which page 0 tells when it is valid;
	// otherwise try every page size bbolt could have used.
	for ps := int64(minPageSize); ps <= maxPageSize && ps < size; ps <<= 1 {
		if h.bad[0] == "" && ps != int64(m0.pageSize) {
			continue
		}
		n, err := f.ReadAt(buf, ps)
		if err != nil && !errors.Is(err, io.EOF) {
			return h, err
		}
		m, ok := parseMeta(buf[:n])
		if !ok {
			break
		}
		if why := m.problem(); why == "" && int64(m.pageSize) == ps {
			m1, h.bad[1] = m, ""
			break
		} else if h.bad[0] == "" {
			h.bad[1] = why
			if why == "" {
				h.bad[1] = "page size differs from page 0's"
			}
			break
		}
	}
	switch {
	case h.bad[0] == "" && (h.bad[1] != "" || m0.txid >= m1.txid):
		h.use = m0
	case h.bad[1] == "":
		h.use = m1
	case m0.magic != boltMagic && m1.magic != boltMagic:
		return h, fmt.Errorf("%w: not a bbolt database (its first page has no bbolt header)", ErrNotStore)
	default:
		return h, corruptf("both bbolt meta pages are unusable (page 0: %s; page 1: %s)", h.bad[0], h.bad[1])
	}
	m := h.use
	h.pageSize = int(m.pageSize)
	switch {
	case m.pageSize < minPageSize || m.pageSize > maxPageSize || m.pageSize&(m.pageSize-1) != 0:
		return h, corruptf("implausible page size %d", m.pageSize)
	case m.freelist == pgidNoFreelist:
		return h, fmt.Errorf("%w: bbolt database kept without a freelist (NoFreelistSync), which beckon never writes", ErrNotStore)
	case m.pgid < 4 || m.root < 2 || m.root >= m.pgid || m.freelist < 2 || m.freelist >= m.pgid:
		return h, corruptf("meta page points outside the file (root %d, freelist %d, %d pages)", m.root, m.freelist, m.pgid)
	case uint64(size)/uint64(m.pageSize) < m.pgid:
		return h, corruptf("truncated: the file has %d bytes, its header says it holds %d pages of %d bytes (%d bytes)",
			size, m.pgid, m.pageSize, m.pgid*uint64(m.pageSize))
	}
	// bbolt loads the freelist as it opens: bound what it will read.
	if _, err := readFreelist(f, h); err != nil {
		return h, err
	}
	return h, nil
}

// fileSize returns the size of an open file.
func fileSize(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
