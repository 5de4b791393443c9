package bolt_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beckonhq/beckon"
	"github.com/beckonhq/beckon/adapters/bolt"
	"github.com/beckonhq/beckon/internal/loadtest"
	"github.com/beckonhq/beckon/kernel"
	"github.com/beckonhq/beckon/port"
	"github.com/beckonhq/beckon/port/storetest"
	bbolt "go.etcd.io/bbolt"
)

// benchCallers is how many goroutines call at once.
const benchCallers = 64

// BenchmarkDurable measures durable signaling operations per second with
// 64 concurrent callers through the runtime on a bolt store: each caller
// has its own inviter and invitee logged in and invites 1:1 (30 s timeout)
// then accepts, over and over; one op is one Invite or one Accept, and it
// returns only once fsynced. In the same run, for comparison, 64 goroutines
// put values of the same size as one op writes (its log record and its
// history message, framed) into a bare bbolt file with DB.Batch, as many
// puts as ops: with bbolt's default batch settings, and with MaxBatchSize
// 64 (a batch commits as soon as all 64 callers are in it), the latter
// also with each caller putting into a bucket of its own, as each caller's
// history goes to a conversation of its own. Metrics:
//
//	runtime-ops/s       the runtime on bolt
//	raw-batch-ops/s     bare bbolt DB.Batch, default settings
//	raw-batch64-ops/s   bare bbolt DB.Batch, MaxBatchSize 64
//	raw-batch64-convs-ops/s  the same, a bucket per caller
//	runtime/raw         runtime-ops/s over raw-batch-ops/s
//	bytes/op            value bytes one op writes (what the raw puts write)
func BenchmarkDurable(b *testing.B) {
	b.StopTimer()
	size := bytesPerOp(b)
	runtimeRate, perCommit := benchRuntime(b, b.N)
	raw := benchRawBatch(b, b.N, size, 0, false)
	raw64 := benchRawBatch(b, b.N, size, benchCallers, false)
	raw64convs := benchRawBatch(b, b.N, size, benchCallers, true)
	b.ReportMetric(runtimeRate, "runtime-ops/s")
	b.ReportMetric(raw, "raw-batch-ops/s")
	b.ReportMetric(raw64, "raw-batch64-ops/s")
	b.ReportMetric(raw64convs, "raw-batch64-convs-ops/s")
	b.ReportMetric(runtimeRate/raw, "runtime/raw")
	b.ReportMetric(float64(size), "bytes/op")
	b.ReportMetric(perCommit, "records/commit")
}

// countingStore counts the runtime's commits.
type countingStore struct {
	*bolt.Store
	appends, records atomic.Int64
}

func (s *countingStore) Append(b port.Batch) error {
	s.appends.Add(1)
	s.records.Add(int64(len(b.Records)))
	return s.Store.Append(b)
}

// benchRuntime runs about n ops through a runtime on a new bolt store and
// returns the ops per second and the records per commit.
func benchRuntime(b *testing.B, n int) (float64, float64) {
	bs, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	s := &countingStore{Store: bs}
	rt, err := beckon.New(beckon.WithStore(s), beckon.WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	clients := loadtest.Login(b, rt, benchCallers)
	pairs := (n + 2*benchCallers - 1) / (2 * benchCallers)
	a0, r0 := s.appends.Load(), s.records.Load()
	b.StartTimer()
	start := time.Now()
	clients.Run(b, pairs)
	elapsed := time.Since(start)
	b.StopTimer()
	return float64(2*pairs*benchCallers) / elapsed.Seconds(), float64(s.records.Load()-r0) / float64(s.appends.Load()-a0)
}

// benchRawBatch puts about n values of size bytes into a new bbolt file
// from 64 goroutines with DB.Batch (maxBatch 0: bbolt's default), into one
// bucket or (perCaller) a bucket per goroutine, and returns the puts per
// second.
func benchRawBatch(b *testing.B, n, size, maxBatch int, perCaller bool) float64 {
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if maxBatch > 0 {
		db.MaxBatchSize = maxBatch
	}
	bucket := func(i int) []byte {
		if perCaller {
			return []byte("c" + strconv.Itoa(i))
		}
		return []byte("log")
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		for i := range benchCallers {
			if _, err := tx.CreateBucketIfNotExists(bucket(i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	per := (n + benchCallers - 1) / benchCallers
	var next atomic.Uint64
	value := make([]byte, size)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range benchCallers {
		wg.Go(func() {
			name := bucket(i)
			for range per {
				k := binary.BigEndian.AppendUint64(nil, next.Add(1))
				if err := db.Batch(func(tx *bbolt.Tx) error { return tx.Bucket(name).Put(k, value) }); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(per*benchCallers) / time.Since(start).Seconds()
}

// bytesPerOp is what one op of the benchmark writes on average: its log
// record and its history message, each framed, with their keys.
func bytesPerOp(b *testing.B) int {
	id := "0f8fad5b-d9cb-469f-a165-70867728950e"
	at := time.Unix(1_700_000_000, 0)
	invite := kernel.Input{Op: kernel.OpInvite, User: "a12", Session: "s", InviteID: id, Invitees: []string{"b12"}, Data: loadtest.Data, Timeout: 30}
	accept := kernel.Input{Op: kernel.OpAccept, User: "b12", Session: "s", InviteID: id, Data: loadtest.Data}
	total := 0
	for _, in := range []kernel.Input{invite, accept} {
		info := kernel.SignalingInfo{BusinessID: 1, InviteID: id, Inviter: "a12", InviteeList: []string{"b12"}, Data: loadtest.Data, Timeout: 30, ActionType: kernel.ActionInvite}
		p, err := kernel.MarshalSignalingInfo(info)
		if err != nil {
			b.Fatal(err)
		}
		rec := kernel.AppendRecord(nil, kernel.Record{Index: 123456, At: at, Input: in})
		total += 8 + 4 + len(rec) // key, checksum, record
		total += 8 + 4 + 1 + 9 + 1 + len(in.User) + len(p)
	}
	return total / 2
}

// BenchmarkStoreAppend measures Store.Append alone, with batches of the
// sizes the runtime sends, each record with one history message, the
// messages going to one conversation or each to its own (convs=batch, as
// with many callers; with the journal both cost about the same, since the
// messages go to the journal's last page either way; the folds, every
// DefaultJournalLimit messages, are included).
func BenchmarkStoreAppend(b *testing.B) {
	for _, n := range []int{1, 32, 64, 256} {
		for _, convs := range []int{1, n} {
			b.Run(fmt.Sprintf("batch=%d/convs=%d", n, convs), func(b *testing.B) {
				benchAppend(b, n, convs)
			})
			if n == 1 {
				break
			}
		}
	}
}

func benchAppend(b *testing.B, n, convs int) {
	s, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := port.Batch{Records: make([]kernel.Record, n), History: make([]kernel.History, n)}
	for i := range n {
		batch.History[i] = storetest.History(kernel.C2C("a"+strconv.Itoa(i%convs), "b"+strconv.Itoa(i%convs)), i)
	}
	next := uint64(1)
	for b.Loop() {
		for i := range n {
			batch.Records[i] = storetest.Record(next)
			next++
		}
		if err := s.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkCommitBytes measures what a store writes per commit, as the
// runtime under BenchmarkDurable's load commits (batchGen), with a
// snapshot every 10,000 records (whose commit folds the journal). One op
// is one batch. Deterministic, unlike the time a commit takes. The same
// batches without their closed calls (calls=0) tell the call records' own
// share. Metrics:
//
//	KiB/batch         bytes of pages written per batch, the folds included
//	fold-KiB/batch    of which the snapshots' commits, spread over the batches
//	writes/batch      page writes per batch (meta pages included)
func BenchmarkCommitBytes(b *testing.B) {
	for _, calls := range []bool{true, false} {
		b.Run(fmt.Sprintf("calls=%d", map[bool]int{true: batchRecords / 2}[calls]), func(b *testing.B) {
			benchCommitBytes(b, calls)
		})
	}
}

func benchCommitBytes(b *testing.B, calls bool) {
	s, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const snapshotEvery = 10_000
	var gen batchGen
	writes0, bytes0 := bolt.Written(s)
	var foldBytes int64
	for b.Loop() {
		batch := gen.next()
		if !calls {
			batch.Closed = nil
		}
		if err := s.Append(batch); err != nil {
			b.Fatal(err)
		}
		if gen.index%snapshotEvery < batchRecords {
			_, before := bolt.Written(s)
			if err := s.SaveSnapshot(gen.index, []byte("snap")); err != nil {
				b.Fatal(err)
			}
			_, after := bolt.Written(s)
			foldBytes += after - before
		}
	}
	writes, bytes := bolt.Written(s)
	b.ReportMetric(float64(bytes-bytes0)/1024/float64(b.N), "KiB/batch")
	b.ReportMetric(float64(foldBytes)/1024/float64(b.N), "fold-KiB/batch")
	b.ReportMetric(float64(writes-writes0)/float64(b.N), "writes/batch")
}

// batchGen makes batches as the runtime commits them under
// BenchmarkDurable's load: batchRecords records (invites and accepts of
// benchCallers pairs of users, in turn), their history messages, and the
// calls they close (every other record).
type batchGen struct {
	index uint64 // of the last record made
	calls int
}

const batchRecords = 32

func (g *batchGen) next() port.Batch {
	const t0 = int64(1_700_000_000_000_000_000)
	var batch port.Batch
	for i := range batchRecords {
		g.index++
		batch.Records = append(batch.Records, storetest.Record(g.index))
		u := strconv.Itoa(int(g.index) % benchCallers)
		batch.History = append(batch.History, storetest.History(kernel.C2C("a"+u, "b"+u), i))
		if i%2 == 1 {
			g.calls++
			at := t0 + int64(g.calls)*1e6
			batch.Closed = append(batch.Closed, kernel.ClosedCall{Index: g.index, InviteID: fmt.Sprintf("9b2c51e8-3f0a-4d6e-8a57-%012d", g.calls),
				Inviter: "a" + u, Invitees: []string{"b" + u}, States: []kernel.State{kernel.Accepted}, Created: at, Closed: at + 5e5})
		}
	}
	return batch
}

// BenchmarkFold measures the commit that folds a full journal
// (DefaultJournalLimit messages) into the per-conversation history: a
// SaveSnapshot whose only work is the fold. The messages are spread over
// 64 conversations (as in BenchmarkDurable) or over 8,192 (about every
// message a conversation of its own page: the worst case). Metrics: the
// commit's duration (ms/fold) and per message folded (us/msg).
func BenchmarkFold(b *testing.B) {
	for _, convs := range []int{64, 8192} {
		b.Run(fmt.Sprintf("msgs=%d/convs=%d", bolt.DefaultJournalLimit, convs), func(b *testing.B) {
			s, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), bolt.WithJournalLimit(bolt.MaxJournalLimit))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			n := 0
			var batch port.Batch
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for range bolt.DefaultJournalLimit / 256 {
					batch.History = batch.History[:0]
					for range 256 {
						c := kernel.C2C("a"+strconv.Itoa(n%convs), "b"+strconv.Itoa(n%convs))
						batch.History = append(batch.History, storetest.History(c, n))
						n++
					}
					if err := s.Append(batch); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if err := s.SaveSnapshot(0, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if j, err := bolt.JournalLen(s); err != nil || j != 0 {
				b.Fatalf("the journal holds %d messages after the fold (%v)", j, err)
			}
			perFold := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(perFold*1e3, "ms/fold")
			b.ReportMetric(perFold*1e6/bolt.DefaultJournalLimit, "us/msg")
		})
	}
}

// BenchmarkFsync measures the machine's cost of making 4 KiB durable in a
// temporary file: write then fsync, and write then fdatasync (what bbolt
// calls on Linux, twice per commit: its pages, then its meta page; where
// there is no fdatasync, fsync again).
func BenchmarkFsync(b *testing.B) {
	for _, mode := range []string{"fsync", "fdatasync"} {
		b.Run(mode, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			buf := make([]byte, 4096)
			i := 0
			for b.Loop() {
				if _, err := f.WriteAt(buf, int64(i%64)*4096); err != nil {
					b.Fatal(err)
				}
				i++
				if mode == "fsync" {
					err = f.Sync()
				} else {
					err = fdatasync(f)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// recordsBench is the store of BenchmarkRecords: built once per process
// (its build, about a minute, is not measured), removed by nobody but the
// OS's temp cleaning: the path is logged.
var recordsBench struct {
	once sync.Once
	path string
	err  error
}

const (
	recordsStored  = 1_000_000 // call records in the store, all users together
	recordsOfOne   = 1_000     // of them, the target user's
	recordsPerCall = 2         // a 1:1 call: the inviter's and the invitee's
)

// buildRecordsBench writes recordsStored/recordsPerCall 1:1 calls with
// the store API, in batches of 10,000 (each folded by a SaveSnapshot),
// recordsOfOne of them with the user "target".
func buildRecordsBench() (string, error) {
	dir, err := os.MkdirTemp("", "beckon-records-bench-*")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "records.db")
	s, err := bolt.Open(path, bolt.WithRecordRetention(port.Retention{MaxPerUser: recordsOfOne}))
	if err != nil {
		return "", err
	}
	defer s.Close()
	const perBatch = 10_000
	calls := recordsStored / recordsPerCall
	every := calls / recordsOfOne
	t0 := int64(1_700_000_000_000_000_000)
	for i, index := 0, uint64(1); i < calls; index++ {
		b := port.Batch{Records: storetest.Records(index, index)}
		for ; i < calls && len(b.Closed) < perBatch; i++ {
			inviter := fmt.Sprintf("u%d", i%50_000)
			if i%every == 0 {
				inviter = "target"
			}
			b.Closed = append(b.Closed, kernel.ClosedCall{Index: index, InviteID: fmt.Sprintf("c%d", i), Inviter: inviter,
				Invitees: []string{fmt.Sprintf("v%d", i%50_000)}, States: []kernel.State{kernel.Accepted},
				Created: t0 + int64(i)*1e6, Closed: t0 + int64(i)*1e6 + 1})
		}
		if err := s.Append(b); err != nil {
			return "", err
		}
		if err := s.SaveSnapshot(index, []byte("snap")); err != nil { // folds the calls into calllog
			return "", err
		}
	}
	return path, nil
}

// recordsStore returns the path of BenchmarkRecords' store, building it
// the first time.
func recordsStore(b *testing.B) string {
	recordsBench.once.Do(func() { recordsBench.path, recordsBench.err = buildRecordsBench() })
	if recordsBench.err != nil {
		b.Fatal(recordsBench.err)
	}
	b.Logf("store: %s", recordsBench.path)
	return recordsBench.path
}

// BenchmarkRecords lists the 1,000 records of one user, newest first in
// pages of 100 chained by the cursor, among 1M stored (the call index
// built before the timer starts).
func BenchmarkRecords(b *testing.B) {
	s, err := bolt.Open(recordsStore(b), bolt.WithoutOpenCheck(), bolt.WithRecordRetention(port.Retention{MaxPerUser: recordsOfOne}))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Records("target", port.RecordCursor{}, 1); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for after := (port.RecordCursor{}); ; {
			page, err := s.Records("target", after, 100)
			if err != nil {
				b.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			n += len(page)
			after = page[len(page)-1].Cursor()
		}
		if n != recordsOfOne {
			b.Fatalf("listed %d records, want %d", n, recordsOfOne)
		}
	}
}

// BenchmarkRecordsUnfiled lists the 100 newest records of one user while
// none is folded yet: the journal holds 16,000 messages and the 8,000
// calls they closed (500 batches of batchGen), about what it holds just
// before a fold. Records reads the journal's calls entries that the
// user's records lie in (a store of schema 4 scanned every one).
func BenchmarkRecordsUnfiled(b *testing.B) {
	s, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var gen batchGen
	for range 500 {
		if err := s.Append(gen.next()); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if page, err := s.Records("a2", port.RecordCursor{}, 100); err != nil || len(page) != 100 {
			b.Fatalf("Records: %d records, %v; want 100", len(page), err)
		}
	}
}

// BenchmarkOpenRecords opens BenchmarkRecords' store (1M records of about
// 100,000 users) and builds its call index: with the whole-file check
// (check=true; the check builds the index), and without it, up to the
// first Records (which builds the index). One op is one Open and Close.
// Metrics: ms/open, and index-B/record, what the open store holds on the
// heap (the call index, nearly all of it) per record.
func BenchmarkOpenRecords(b *testing.B) {
	path := recordsStore(b)
	for _, check := range []bool{true, false} {
		b.Run(fmt.Sprintf("check=%v", check), func(b *testing.B) {
			opts := []bolt.Option{bolt.WithRecordRetention(port.Retention{MaxPerUser: recordsOfOne})}
			if !check {
				opts = append(opts, bolt.WithoutOpenCheck())
			}
			var heap float64
			for b.Loop() {
				before := heapInUse()
				s, err := bolt.Open(path, opts...)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Records("target", port.RecordCursor{}, 1); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_, records, _, err := bolt.CallIndexSize(s)
				if err != nil || records != recordsStored {
					b.Fatalf("the call index holds %d records (%v), want %d", records, err, recordsStored)
				}
				heap = float64(heapInUse()-before) / float64(records)
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/open")
			b.ReportMetric(heap, "index-B/record")
		})
	}
}

// heapInUse returns the bytes of live heap objects after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
