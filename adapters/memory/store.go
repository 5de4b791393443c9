package memory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
)

// errStoreClosed is what every call after Close returns.
var errStoreClosed = fmt.Errorf("memory store: %w", port.ErrClosed)

// errStoreClaimed is what Claim returns while another claim holds.
var errStoreClaimed = fmt.Errorf("memory store: %w: it serves another runtime; close that runtime first, or give this one its own store", port.ErrLocked)

// Store keeps the log, the latest snapshot, the history and the call
// records in memory. It implements port.Store and is the reference for
// every other adapter.
//
// It keeps everything encoded, in byte slices of its own: records with
// kernel.AppendRecord, history messages with a small codec of this file,
// closed calls with one of records.go. So it copies whatever it keeps by
// construction, never shares a slice with a caller, and the garbage
// collector has nothing to scan in it (a long history costs memory, not
// collector time). The history messages of all conversations go to one
// log, in append order, and each conversation keeps the positions of its
// messages (4 bytes each, in chunks, so that a long conversation never
// copies its whole index to grow): a conversation costs its messages and
// about a hundred bytes, and an Append writes to one place however many
// conversations it touches. The history holds at most MaxHistory messages,
// the call records at most MaxCalls calls. Nothing survives the process; a
// Store given to a second Runtime (after the first is closed) plays the
// part of a disk across a restart. It serves one runtime at a time
// (Claim). It is safe for concurrent use.
type Store struct {
	mu        sync.RWMutex
	closed    bool
	claimed   bool                               // a runtime holds it (see Claim)
	snapIndex uint64                             // index the snapshot covers, 0 if none
	snapshot  []byte                             // nil if none
	log       log                                // every record after snapIndex
	history   log                                // every history message of every conversation, in append order
	convs     map[kernel.Conversation]*convIndex // each conversation's messages by Seq: their entries in history
	scratch   []byte                             // encoding buffer of Append

	kept      kept                    // events of resumable sessions (kept.go)
	records   map[string]*userRecords // each user's call records: positions in calls (records.go)
	calls     log                     // the closed calls some user lists, and some no longer
	compactAt uint64                  // calls.len() past which the calls log is compacted
	callBuf   []byte                  // reused to encode a closed call
	retention port.Retention
	newest    int64 // close time of the newest call given, if hasNewest
	hasNewest bool
}

// log is a sequence of encoded entries kept in fixed-size chunks, as are
// the references to them: nothing is ever copied to grow (one ever-growing
// slice would copy, and fault in, its whole length at each doubling, which
// dominates the cost of a long history). A Store has three logs, records,
// history and calls, so the chunks' fixed cost does not add up. The chunks
// of dropped entries (the records a snapshot covers, the calls no user
// lists) are kept for reuse, so the records log settles on the chunks of
// one snapshot interval instead of allocating (and faulting in) new ones
// after each snapshot, and the calls log on about twice its live calls.
type log struct {
	data [][]byte // chunks of chunkBytes capacity (a longer entry gets its own)
	refs [][]ref  // chunks of chunkRefs references; entry i is refs[i/chunkRefs][i%chunkRefs]
	n    int

	freeData [][]byte // empty chunks of chunkBytes capacity, for add to reuse
	freeRefs [][]ref  // empty chunks of chunkRefs capacity
}

// ref locates one entry: data[chunk][start:end], or the whole chunk if
// start is wholeChunk (an entry longer than chunkBytes has a chunk of its
// own, and may be longer than 32 bits count). 32 bits are plenty for the
// rest: a chunk index counts 64 KiB chunks, an offset stays within one.
type ref struct{ chunk, start, end uint32 }

const wholeChunk = ^uint32(0)

const (
	chunkBytes = 64 << 10
	chunkRefs  = 4096
)

func (l *log) len() int { return l.n }

func (l *log) entry(i int) []byte {
	r := l.refs[i/chunkRefs][i%chunkRefs]
	if r.start == wholeChunk {
		return l.data[r.chunk]
	}
	return l.data[r.chunk][r.start:r.end:r.end]
}

// add appends a copy of entry.
func (l *log) add(entry []byte) {
	last := len(l.data) - 1
	if last < 0 || len(l.data[last])+len(entry) > cap(l.data[last]) {
		if len(entry) > chunkBytes {
			l.data = append(l.data, make([]byte, 0, len(entry))) // a chunk of its own
		} else {
			l.data = append(l.data, reuse(&l.freeData, chunkBytes))
		}
		last++
	}
	start := len(l.data[last])
	l.data[last] = append(l.data[last], entry...)
	if l.n%chunkRefs == 0 {
		l.refs = append(l.refs, reuse(&l.freeRefs, chunkRefs))
	}
	refs := &l.refs[len(l.refs)-1]
	r := ref{uint32(last), uint32(start), uint32(start + len(entry))}
	if len(entry) > chunkBytes {
		r.start, r.end = wholeChunk, 0
	}
	*refs = append(*refs, r)
	l.n++
}

// dropFirst removes the first n entries: it copies the others to chunks
// of the free lists (or new ones), then frees every chunk they were in.
// The records log it serves holds at most about a snapshot interval.
func (l *log) dropFirst(n int) {
	rest := log{freeData: l.freeData, freeRefs: l.freeRefs}
	for i := n; i < l.n; i++ {
		rest.add(l.entry(i))
	}
	l.freeInto(&rest)
	*l = rest
}

// freeInto adds l's chunks to the free lists of rest, which took what it
// keeps of l.
func (l *log) freeInto(rest *log) {
	for _, c := range l.data {
		if cap(c) == chunkBytes { // a chunk of one long entry is not kept
			rest.freeData = append(rest.freeData, c[:0])
		}
	}
	for _, c := range l.refs {
		rest.freeRefs = append(rest.freeRefs, c[:0])
	}
}

// reuse returns an empty chunk: the last of *free, or a new one of
// capacity n.
func reuse[T any](free *[][]T, n int) []T {
	k := len(*free)
	if k == 0 {
		return make([]T, 0, n)
	}
	c := (*free)[k-1]
	*free = (*free)[:k-1]
	return c
}

// MaxHistory is how many history messages a Store holds, all
// conversations together (about 4 billion: it counts them in 32 bits, and
// would need hundreds of gigabytes to hold that many). Append fails
// beyond it.
const MaxHistory = 1<<32 - 1

var maxHistory uint64 = MaxHistory // tests lower it

// convIndex is a conversation's messages by Seq: the position of message
// Seq in the history log is at(Seq-1). Positions go in chunks of up to
// indexChunk, so that growing a long index copies one chunk at most, and a
// short one costs a few bytes.
type convIndex struct {
	chunks [][]uint32
	n      int
}

const indexChunk = 1024

func (c *convIndex) len() int { return c.n }

func (c *convIndex) at(i int) uint32 { return c.chunks[i/indexChunk][i%indexChunk] }

func (c *convIndex) add(pos uint32) {
	if c.n%indexChunk == 0 {
		var next []uint32 // the first chunk grows as needed, a short index stays small
		if c.n > 0 {
			next = make([]uint32, 0, indexChunk)
		}
		c.chunks = append(c.chunks, next)
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, pos)
	c.n++
}

// NewStore returns an empty store. It keeps call records within
// port.Retention's defaults unless WithRetention says otherwise.
func NewStore(opts ...StoreOption) *Store {
	s := &Store{convs: make(map[kernel.Conversation]*convIndex), records: make(map[string]*userRecords), kept: make(kept),
		retention: port.Retention{}.WithDefaults(), compactAt: minCompaction}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Claim makes the caller the store's one user until release; a second
// Claim meanwhile fails with port.ErrLocked.
func (s *Store) Claim() (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, errStoreClosed
	case s.claimed:
		return nil, errStoreClaimed
	}
	s.claimed = true
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.claimed = false
			s.mu.Unlock()
		})
	}, nil
}

// Load decodes the records after the snapshot and returns them with a
// copy of the snapshot and its index.
func (s *Store) Load() (uint64, []byte, []kernel.Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, nil, nil, errStoreClosed
	}
	records := make([]kernel.Record, s.log.len())
	for i := range records {
		r, err := kernel.DecodeRecord(s.log.entry(i))
		if err != nil {
			return 0, nil, nil, fmt.Errorf("memory: record %d: %w", s.snapIndex+uint64(i)+1, err)
		}
		records[i] = r
	}
	return s.snapIndex, slices.Clone(s.snapshot), records, nil
}

// last is the index of the last record appended.
func (s *Store) last() uint64 { return s.snapIndex + uint64(s.log.len()) }

// Append encodes and keeps the batch's records and history messages. It
// checks first that the records continue the log without a gap and, if
// they do not, keeps nothing of the batch.
func (s *Store) Append(b port.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStoreClosed
	}
	for i, r := range b.Records {
		if want := s.last() + uint64(i) + 1; r.Index != want {
			return fmt.Errorf("memory store: record %d where %d belongs: %w", r.Index, want, port.ErrBadIndex)
		}
	}
	if uint64(s.history.len())+uint64(len(b.History)) > maxHistory {
		return fmt.Errorf("memory: the history is full: it holds %d messages, and %d more would pass MaxHistory", s.history.len(), len(b.History))
	}
	if err := s.roomForCalls(len(b.Closed)); err != nil {
		return err
	}
	for _, r := range b.Records {
		s.scratch = kernel.AppendRecord(s.scratch[:0], r)
		s.log.add(s.scratch)
	}
	for i := range b.History {
		h := &b.History[i]
		c := s.convs[h.Conv]
		if c == nil {
			c = new(convIndex)
			s.convs[h.Conv] = c
		}
		s.scratch = appendHistory(s.scratch[:0], h)
		c.add(uint32(s.history.len()))
		s.history.add(s.scratch)
	}
	s.keep(b.Closed)
	s.kept.apply(&b)
	return nil
}

// SaveSnapshot keeps a copy of snapshot and drops the records up to index.
func (s *Store) SaveSnapshot(index uint64, snapshot []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStoreClosed
	}
	if index < s.snapIndex || index > s.last() {
		return fmt.Errorf("memory store: snapshot at %d, outside the log (snapshot at %d, last record %d): %w",
			index, s.snapIndex, s.last(), port.ErrBadIndex)
	}
	s.log.dropFirst(int(index - s.snapIndex))
	s.snapIndex, s.snapshot = index, slices.Clone(snapshot)
	return nil
}

// History returns the messages of conv with Seq > after, oldest first, at
// most limit of them (limit <= 0: all), their payloads encoded as the
// SDK's JSON envelope.
func (s *Store) History(conv kernel.Conversation, after uint64, limit int) ([]port.HistoryMessage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errStoreClosed
	}
	c := s.convs[conv]
	if c == nil || after >= uint64(c.len()) {
		return nil, nil
	}
	n := c.len() - int(after)
	if limit > 0 && n > limit {
		n = limit
	}
	out := make([]port.HistoryMessage, n)
	for i := range out {
		seq := after + uint64(i) + 1
		h, err := decodeHistory(s.history.entry(int(c.at(int(seq - 1)))))
		if err != nil {
			return nil, fmt.Errorf("memory: history message %d of %s: %w", seq, conv, err)
		}
		payload, err := kernel.MarshalSignalingInfo(h.Info)
		if err != nil {
			return nil, fmt.Errorf("memory: history message %d of %s: %w", seq, conv, err)
		}
		out[i] = port.HistoryMessage{Seq: seq, Sender: h.Sender, At: time.Unix(0, h.At), Payload: payload}
	}
	return out, nil
}

// Close makes every later call fail with port.ErrClosed, a second Close
// included.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStoreClosed
	}
	s.closed = true
	return nil
}

// appendHistory encodes a history message (its conversation is the key it
// is kept under): Sender, At, then the signaling info's InviteID, GroupID,
// Inviter, invitee count and invitees, Data, Timeout, ActionType and
// OnlineUserOnly; strings as a uvarint length and the bytes.
func appendHistory(b []byte, h *kernel.History) []byte {
	info := &h.Info
	b = appendString(b, h.Sender)
	b = binary.AppendVarint(b, h.At)
	b = appendString(b, info.InviteID)
	b = appendString(b, info.GroupID)
	b = appendString(b, info.Inviter)
	b = binary.AppendUvarint(b, uint64(len(info.InviteeList)))
	for _, u := range info.InviteeList {
		b = appendString(b, u)
	}
	b = appendString(b, info.Data)
	b = binary.AppendVarint(b, int64(info.Timeout))
	b = binary.AppendVarint(b, int64(info.ActionType))
	if info.OnlineUserOnly {
		return append(b, 1)
	}
	return append(b, 0)
}

// decodeHistory reads what appendHistory wrote.
func decodeHistory(b []byte) (kernel.History, error) {
	d := decoder{b: b}
	var h kernel.History
	h.Sender, h.At = d.string(), d.varint()
	info := &h.Info
	info.BusinessID = kernel.BusinessID
	info.InviteID, info.GroupID, info.Inviter = d.string(), d.string(), d.string()
	info.InviteeList = make([]string, d.count())
	for i := range info.InviteeList {
		info.InviteeList[i] = d.string()
	}
	info.Data = d.string()
	info.Timeout = int(d.varint())
	info.ActionType = kernel.Action(d.varint())
	info.OnlineUserOnly = d.byte() == 1
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("trailing bytes")
	}
	return h, d.err
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads the history and call encodings; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

var errTruncated = errors.New("truncated")

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, n = errTruncated, 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err, n = errTruncated, 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length that cannot exceed the bytes left.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err, n = errTruncated, 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count()
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.err = errTruncated
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}
