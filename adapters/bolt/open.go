package bolt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Open opens the beckon store at path, creating a new one only if nothing
// exists at path. It never initialises an existing file in place: an empty
// file, a file that is not a bbolt database, or a bbolt database without
// beckon's schema is refused with ErrNotStore; a damaged or truncated one
// with ErrCorrupt; one of a newer schema with ErrNewerSchema; and a store
// whose lock another process (or another Open in this process) holds, with
// ErrLocked once the lock timeout has passed. An invalid option gives
// ErrBadOption before the file is touched. Unless WithoutOpenCheck is
// given, Open reads and verifies the whole file before it returns (see
// Check).
//
// A new store is built under a temporary name beside path
// ("<name>.creating-NNNN") and linked into place once complete, so a crash
// while creating leaves either nothing at path or a whole empty store. The
// temporary files such a crash leaves are removed by the next Open of path
// (see removeStale).
func Open(path string, opts ...Option) (*Store, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, storeError(path, "open", err)
	}
	unlock, locked, err := lockDir(path, o.lockTimeout)
	if err != nil {
		return nil, storeError(path, "open", err)
	}
	if locked {
		removeStale(path)
	}
	err = prepare(path, o)
	unlock()
	if err != nil {
		return nil, err
	}
	return open(path, o)
}

// prepare creates a new store if nothing is at path. The directory's lock
// is held, where there is one.
func prepare(path string, o options) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := create(path, o); err != nil {
			return storeError(path, "create", err)
		}
	case err != nil:
		return storeError(path, "open", err)
	case fi.IsDir():
		return storeError(path, "open", fmt.Errorf("%w: it is a directory", ErrNotStore))
	}
	return nil
}

// creatingInfix is what create puts between path's base name and the
// random digits of its temporary file.
const creatingInfix = ".creating-"

// lockDir takes the lock of path's directory that every Open holds while
// it removes stale temporary files and creates a store, so that no Open
// removes the temporary file of a create in progress (in this process or
// another). A SIGKILLed holder's lock goes with it. Where the directory
// cannot be locked (a platform without flock, a directory that cannot be
// opened), unlock is a no-op and locked is false: stale files are then
// left alone.
func lockDir(path string, timeout time.Duration) (unlock func(), locked bool, err error) {
	nothing := func() {}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nothing, false, nil
	}
	locked, err = lockFile(d, timeout)
	switch {
	case errors.Is(err, ErrLocked):
		_ = d.Close()
		return nil, false, fmt.Errorf("%w: another Open is creating a store in its directory (gave up after %v)", ErrLocked, timeout)
	case err != nil || !locked:
		_ = d.Close()
		return nothing, false, nil
	}
	return func() {
		unlockFile(d)
		_ = d.Close()
	}, true, nil
}

// removeStale removes the temporary files that creates of a store at path
// left when their process died: the regular files beside path named
// exactly "<name>.creating-" and decimal digits (what os.CreateTemp makes of
// create's pattern), never path itself nor anything else. The caller holds
// the directory's lock, which every create holds throughout, so none of
// them belongs to a create in progress; a file whose own lock is held (by
// a bbolt that still has it open) is skipped all the same. Errors are
// ignored: a file left behind is harmless, and the next Open tries again.
func removeStale(path string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !isCreatingName(e.Name(), base) {
			continue
		}
		name := filepath.Join(dir, e.Name())
		f, err := os.OpenFile(name, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if locked, err := lockFile(f, 0); err == nil && locked {
			_ = os.Remove(name)
		}
		_ = f.Close()
	}
}

// isCreatingName reports whether name is a temporary name of create for a
// store named base.
func isCreatingName(name, base string) bool {
	digits, ok := strings.CutPrefix(name, base+creatingInfix)
	if !ok || digits == "" {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// boltOptions are the bbolt settings of every store. Durability: NoSync
// and NoGrowSync stay false, so a commit returns only after its pages and
// then its meta page are fsynced. The freelist is written at every commit
// (NoFreelistSync false): it costs one page write inside the same fsync,
// and it spares Open a scan of the whole file that bbolt runs on its own
// goroutine, where a panic on a damaged page could not be recovered. The
// map freelist keeps allocation fast when the file has many free pages.
func boltOptions(o options) *bbolt.Options {
	return &bbolt.Options{
		Timeout:      o.lockTimeout,
		FreelistType: bbolt.FreelistMapType,
	}
}

// create builds a new, empty store at path (see Open).
func create(path string, o options) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, base+creatingInfix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // once linked, path keeps the file
	if err := f.Close(); err != nil {
		return err
	}
	db, err := bbolt.Open(tmp, 0o600, boltOptions(o))
	if err != nil {
		return err
	}
	if err := db.Update(initSchema); err != nil {
		_ = db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // created meanwhile by someone else: open that one
		}
		return err
	}
	return syncDir(dir)
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// open opens an existing store.
func open(path string, o options) (*Store, error) {
	var (
		file    *os.File
		hookErr error
	)
	bo := boltOptions(o)
	bo.OpenFile = func(name string, _ int, _ os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, os.O_RDWR, 0) // never create here
		if err != nil {
			hookErr = err
			return nil, err
		}
		if _, hookErr = inspect(f, o.lockTimeout); hookErr != nil {
			_ = f.Close()
			return nil, hookErr
		}
		file = f
		return f, nil
	}
	var db *bbolt.DB
	err := guarded(func() (err error) {
		db, err = bbolt.Open(path, 0o600, bo)
		return err
	})
	if err != nil {
		if file != nil {
			// bbolt failed or panicked after the hook opened the file: release
			// the lock explicitly (a mapping bbolt left behind after a panic
			// would keep it held past Close), then the descriptor. The
			// mapping itself stays until the process ends.
			unlockFile(file)
			_ = file.Close()
		}
		if hookErr != nil {
			err = hookErr
		}
		return nil, storeError(path, "open", classifyOpenError(err, o.lockTimeout))
	}
	s := &Store{db: db, file: file, path: path, journalLimit: o.journalLimit, retention: o.retention}
	check := func() (err error) {
		// Without the check the journal index is built on first use: a
		// damaged page could make reading the journal loop (see
		// WithoutOpenCheck), and Open and Close alone must not.
		s.schema, err = s.checkSchema()
		return err
	}
	if !o.noCheck {
		check = func() error {
			if _, err := s.checkFile(); err != nil {
				return err
			}
			v, err := s.verify()
			s.schema, s.idx, s.calls = v.schema, v.journal, v.calls
			return err
		}
	}
	if err := check(); err != nil {
		_ = db.Close()
		return nil, storeError(path, "open", err)
	}
	return s, nil
}

// inspect locks a file that is about to be opened and reads its header.
func inspect(f *os.File, timeout time.Duration) (header, error) {
	locked, err := lockFile(f, timeout)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return header{}, lockedError(timeout)
		}
		return header{}, fmt.Errorf("lock: %w", err)
	}
	size, err := fileSize(f)
	if err != nil {
		return header{}, err
	}
	if size == 0 {
		return header{}, fmt.Errorf("%w: the file exists but is empty (0 bytes); "+
			"an existing file is never initialised in place: remove it to start a fresh store", ErrNotStore)
	}
	if !locked {
		return header{}, nil
	}
	return readHeader(f, size)
}

func lockedError(timeout time.Duration) error {
	return fmt.Errorf("%w: another process, or another Open in this process, holds its lock "+
		"(gave up after %v)", ErrLocked, timeout)
}

// classifyOpenError maps what bbolt.Open returned to this package's errors.
func classifyOpenError(err error, timeout time.Duration) error {
	switch {
	case errors.Is(err, ErrLocked), errors.Is(err, ErrCorrupt), errors.Is(err, ErrNotStore):
		return err
	case errors.Is(err, berrors.ErrTimeout):
		return lockedError(timeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch),
		errors.Is(err, berrors.ErrChecksum), strings.Contains(err.Error(), "file size too small"):
		return corruptf("bbolt cannot read its header: %v", err)
	}
	return err
}

// Claim makes the caller the store's one user until release (see
// port.Store); a second Claim meanwhile fails with ErrLocked. Across
// processes the file lock taken by Open does the same.
func (s *Store) Claim() (release func(), err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return nil, storeError(s.path, "claim", err)
	}
	if !s.claimed.CompareAndSwap(false, true) {
		return nil, storeError(s.path, "claim", fmt.Errorf("%w: it serves another runtime; close that runtime first, or give this one its own store", ErrLocked))
	}
	var once sync.Once
	return func() { once.Do(func() { s.claimed.Store(false) }) }, nil
}
