package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Sharing the embedded file between processes.
//
// bbolt takes an exclusive flock on its file for as long as it is open, so
// the daemon cannot simply keep the file open while `mailwarden learn` (a
// separate process) writes Bayes tokens. The embedded store therefore holds
// the file on a lease:
//
//   - The file is opened on the first operation and shared by every
//     operation of the process while any is in flight.
//   - It is closed after BoltOptions.IdleRelease with no operation.
//   - A process that finds the file locked drops a marker file (PATH.wait)
//     and waits up to BoltOptions.LockTimeout for the lock. The holder checks
//     for the marker (at most every waitCheckEvery) and, once it has held the
//     file for MinHold, stops starting new operations, lets the ones in
//     flight finish, closes the file and pauses for yieldGap, long enough for
//     bbolt's lock polling (every 50 ms) to get in. Then it queues behind.
//
// So the daemon keeps the file open under load (no per-operation open cost)
// and yields it within about MinHold to a learner that asks; an operation
// that cannot get the file within LockTimeout fails with an error (the engine
// then skips the check that needed it, per [engine] on_error).
//
// Expired keys are invisible at once and deleted by a sweep at most every
// sweepEvery, run inside a write.

// BoltOptions tune the embedded store; zero values take the defaults.
type BoltOptions struct {
	// LockTimeout bounds the wait for another process's lock (default 5s:
	// well inside Postfix's 30 s command timeout).
	LockTimeout time.Duration
	// IdleRelease closes the file after this long with no operation
	// (default 500ms).
	IdleRelease time.Duration
	// MinHold is the least time the file is kept before yielding it to a
	// waiting process (default 200ms), so that opening is amortised.
	MinHold time.Duration
	// NoSync skips fsync (tests and benchmarks only).
	NoSync bool
}

const (
	// waitCheckEvery rate-limits the stat of the wait marker.
	waitCheckEvery = 50 * time.Millisecond
	// yieldGap is how long the file stays closed when yielding: longer
	// than bbolt's 50 ms flock retry interval.
	yieldGap = 120 * time.Millisecond
	// staleMarker: a wait marker older than this is left over from a
	// process that died; it is ignored.
	staleMarker = time.Minute
	// sweepEvery is how often expired keys are deleted.
	sweepEvery = 10 * time.Minute
	// sweepMax bounds the keys one sweep deletes (keeps a write short).
	sweepMax = 10000
	// failFastFor: after a failed open, operations fail at once this long.
	failFastFor = time.Second
	// batchDelay: concurrent writes within this window share one fsync.
	batchDelay = 2 * time.Millisecond
)

var bucket = []byte("kv")

// Bolt is the embedded store.
type Bolt struct {
	path string
	opts BoltOptions

	mu        sync.Mutex
	cond      *sync.Cond
	db        *bolt.DB
	inflight  int
	openedAt  time.Time
	lastUse   time.Time
	draining  bool
	closed    bool
	idle      *time.Timer
	waitCheck time.Time
	waiter    bool
	lastSweep time.Time
	openErr   error
	openErrAt time.Time
}

var _ Store = (*Bolt)(nil)

// OpenBolt opens (creating if needed) the embedded store at path. The file
// is only locked while operations run (see above); OpenBolt checks that it
// can be opened.
func OpenBolt(path string, opts BoltOptions) (*Bolt, error) {
	if path == "" {
		return nil, errors.New("store: embedded store needs a path")
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 5 * time.Second
	}
	if opts.IdleRelease <= 0 {
		opts.IdleRelease = 500 * time.Millisecond
	}
	if opts.MinHold <= 0 {
		opts.MinHold = 200 * time.Millisecond
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Bolt{path: path, opts: opts, lastSweep: time.Now()}
	s.cond = sync.NewCond(&s.mu)
	db, err := s.acquire(context.Background())
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	})
	s.release()
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return s, nil
}

func (s *Bolt) marker() string { return s.path + ".wait" }

// open opens the file, leaving a wait marker while it has to wait.
func (s *Bolt) open() (*bolt.DB, error) {
	o := &bolt.Options{Timeout: 20 * time.Millisecond, NoSync: s.opts.NoSync}
	db, err := bolt.Open(s.path, 0o640, o)
	if errors.Is(err, bolterrors.ErrTimeout) {
		_ = os.WriteFile(s.marker(), []byte(strconv.Itoa(os.Getpid())), 0o640)
		o.Timeout = s.opts.LockTimeout
		db, err = bolt.Open(s.path, 0o640, o)
		os.Remove(s.marker())
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("store: %s is locked by another process for over %s", s.path, s.opts.LockTimeout)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", s.path, err)
	}
	db.MaxBatchDelay = batchDelay
	return db, nil
}

// waiterPresent reports (rate-limited) whether another process waits.
func (s *Bolt) waiterPresent(now time.Time) bool {
	if now.Sub(s.waitCheck) < waitCheckEvery {
		return s.waiter
	}
	s.waitCheck = now
	st, err := os.Stat(s.marker())
	s.waiter = err == nil && now.Sub(st.ModTime()) < staleMarker
	return s.waiter
}

func (s *Bolt) acquire(ctx context.Context) (*bolt.DB, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.closed {
			return nil, ErrClosed
		}
		now := time.Now()
		if s.db != nil && !s.draining && now.Sub(s.openedAt) >= s.opts.MinHold && s.waiterPresent(now) {
			s.draining = true
			if s.inflight == 0 {
				s.yieldLocked()
			}
		}
		if !s.draining {
			break
		}
		s.cond.Wait()
	}
	if s.db == nil {
		// After a failed open, fail fast for a moment instead of making
		// every waiting operation sit out its own LockTimeout in turn.
		if s.openErr != nil && time.Since(s.openErrAt) < failFastFor {
			return nil, s.openErr
		}
		db, err := s.open()
		if err != nil {
			s.openErr, s.openErrAt = err, time.Now()
			return nil, err
		}
		s.openErr = nil
		s.db = db
		s.openedAt = time.Now()
	}
	if s.idle != nil {
		s.idle.Stop()
	}
	s.inflight++
	return s.db, nil
}

func (s *Bolt) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	s.lastUse = time.Now()
	if s.inflight > 0 {
		return
	}
	if s.draining {
		s.yieldLocked()
		return
	}
	if s.idle == nil {
		s.idle = time.AfterFunc(s.opts.IdleRelease, s.closeIfIdle)
	} else {
		s.idle.Reset(s.opts.IdleRelease)
	}
}

// yieldLocked closes the file and reopens the gate after yieldGap.
func (s *Bolt) yieldLocked() {
	if s.db != nil {
		s.db.Close()
		s.db = nil
	}
	s.waiter = false
	s.waitCheck = time.Now().Add(yieldGap) // the waiter removes its marker once in
	time.AfterFunc(yieldGap, func() {
		s.mu.Lock()
		s.draining = false
		s.cond.Broadcast()
		s.mu.Unlock()
	})
}

func (s *Bolt) closeIfIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight == 0 && s.db != nil && time.Since(s.lastUse) >= s.opts.IdleRelease {
		s.db.Close()
		s.db = nil
	}
}

// Close closes the store; operations in flight finish first.
func (s *Bolt) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.inflight > 0 || s.draining {
		s.cond.Wait()
		if s.inflight == 0 && !s.draining {
			break
		}
	}
	s.closed = true
	s.cond.Broadcast()
	if s.idle != nil {
		s.idle.Stop()
	}
	if s.db != nil {
		err := s.db.Close()
		s.db = nil
		return err
	}
	return nil
}

func (s *Bolt) view(ctx context.Context, fn func(b *bolt.Bucket) error) error {
	db, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer s.releaseAndSignal()
	return db.View(func(tx *bolt.Tx) error { return fn(tx.Bucket(bucket)) })
}

func (s *Bolt) update(ctx context.Context, fn func(b *bolt.Bucket) error) error {
	db, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer s.releaseAndSignal()
	sweep := false
	s.mu.Lock()
	if time.Since(s.lastSweep) > sweepEvery {
		s.lastSweep = time.Now()
		sweep = true
	}
	s.mu.Unlock()
	return db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if sweep {
			sweepExpired(b, time.Now())
		}
		return fn(b)
	})
}

func (s *Bolt) releaseAndSignal() {
	s.release()
	s.mu.Lock()
	if s.inflight == 0 {
		s.cond.Broadcast() // Close waits for this
	}
	s.mu.Unlock()
}

// Records are an 8-byte big-endian expiry (Unix nanoseconds, 0 = never)
// followed by the value.
const hdrLen = 8

func encode(val []byte, ttl time.Duration, now time.Time) []byte {
	out := make([]byte, hdrLen+len(val))
	if ttl > 0 {
		binary.BigEndian.PutUint64(out, uint64(now.Add(ttl).UnixNano()))
	}
	copy(out[hdrLen:], val)
	return out
}

// decode returns the value of a record, or nil, false when it is missing,
// expired or corrupt.
func decode(rec []byte, now time.Time) ([]byte, bool) {
	v, ok := live(rec, now)
	if !ok {
		return nil, false
	}
	return append([]byte{}, v...), true
}

// live returns the value in rec (not a copy: bbolt's memory, valid only
// inside the transaction) unless rec is absent or expired.
func live(rec []byte, now time.Time) ([]byte, bool) {
	if len(rec) < hdrLen {
		return nil, false
	}
	if exp := binary.BigEndian.Uint64(rec); exp != 0 && int64(exp) <= now.UnixNano() {
		return nil, false
	}
	return rec[hdrLen:], true
}

func expiry(rec []byte) uint64 {
	if len(rec) < hdrLen {
		return 0
	}
	return binary.BigEndian.Uint64(rec)
}

func sweepExpired(b *bolt.Bucket, now time.Time) {
	var dead [][]byte
	c := b.Cursor()
	for k, v := c.First(); k != nil && len(dead) < sweepMax; k, v = c.Next() {
		if _, ok := decode(v, now); !ok {
			dead = append(dead, append([]byte{}, k...))
		}
	}
	for _, k := range dead {
		_ = b.Delete(k)
	}
}

// Get implements Store.
func (s *Bolt) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := checkKey(key); err != nil {
		return nil, false, err
	}
	var val []byte
	var ok bool
	err := s.view(ctx, func(b *bolt.Bucket) error {
		val, ok = decode(b.Get([]byte(key)), time.Now())
		return nil
	})
	return val, ok, err
}

// GetMany implements Store.
func (s *Bolt) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if err := checkBatch(len(keys)); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return nil, err
		}
	}
	out := make([][]byte, len(keys))
	// One buffer for the keys and one for the values, not two allocations
	// per key: a Bayes lookup reads hundreds of keys.
	kb := make([]byte, 0, 16*len(keys))
	vb := make([]byte, 0, 16*len(keys)) // not nil: a present empty value is []byte{}, not nil
	err := s.view(ctx, func(b *bolt.Bucket) error {
		now := time.Now()
		// One cursor for all keys: Bucket.Get makes a cursor, and grows
		// its stack, for every key.
		c := b.Cursor()
		for i, k := range keys {
			kb = append(kb[:0], k...)
			ck, rec := c.Seek(kb)
			if !bytes.Equal(ck, kb) {
				continue
			}
			if v, ok := live(rec, now); ok {
				// Earlier values keep the old array if vb grows.
				vb = append(vb, v...)
				out[i] = vb[len(vb)-len(v) : len(vb) : len(vb)]
			}
		}
		return nil
	})
	return out, err
}

// Put implements Store.
func (s *Bolt) Put(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := checkValue(val); err != nil {
		return err
	}
	rec := encode(val, ttl, time.Now())
	return s.update(ctx, func(b *bolt.Bucket) error { return b.Put([]byte(key), rec) })
}

// Delete implements Store.
func (s *Bolt) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	return s.update(ctx, func(b *bolt.Bucket) error {
		for _, k := range keys {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Incr implements Store.
func (s *Bolt) Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	vs, err := s.IncrMany(ctx, []string{key}, []int64{delta}, ttl)
	if err != nil {
		return 0, err
	}
	return vs[0], nil
}

// IncrMany implements Store.
func (s *Bolt) IncrMany(ctx context.Context, keys []string, deltas []int64, ttl time.Duration) ([]int64, error) {
	if len(keys) != len(deltas) {
		return nil, errors.New("store: IncrMany needs one delta per key")
	}
	if err := checkBatch(len(keys)); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return nil, err
		}
	}
	out := make([]int64, len(keys))
	err := s.update(ctx, func(b *bolt.Bucket) error {
		now := time.Now()
		for i, k := range keys {
			rec := b.Get([]byte(k))
			old, ok := decode(rec, now)
			var n int64
			var rec2 []byte
			if ok {
				var err error
				if n, err = ParseInt(old); err != nil {
					return fmt.Errorf("store: %s is not a counter", k)
				}
				n += deltas[i]
				rec2 = make([]byte, hdrLen, hdrLen+20)
				binary.BigEndian.PutUint64(rec2, expiry(rec))
				rec2 = strconv.AppendInt(rec2, n, 10)
			} else {
				n = deltas[i]
				rec2 = encode(strconv.AppendInt(nil, n, 10), ttl, now)
			}
			if err := b.Put([]byte(k), rec2); err != nil {
				return err
			}
			out[i] = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Update implements Store.
func (s *Bolt) Update(ctx context.Context, key string, fn func(old []byte) ([]byte, time.Duration, error)) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := s.update(ctx, func(b *bolt.Bucket) error {
		now := time.Now()
		old, _ := decode(b.Get([]byte(key)), now)
		val, ttl, err := fn(old)
		if err != nil {
			return err
		}
		if val == nil {
			return b.Delete([]byte(key))
		}
		if err := checkValue(val); err != nil {
			return err
		}
		return b.Put([]byte(key), encode(val, ttl, now))
	})
	if errors.Is(err, ErrNoChange) {
		return nil
	}
	return err
}

// Scan implements Store.
func (s *Bolt) Scan(ctx context.Context, prefix string, fn func(key string, val []byte) error) error {
	return s.view(ctx, func(b *bolt.Bucket) error {
		now := time.Now()
		c := b.Cursor()
		p := []byte(prefix)
		n := 0
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			if n++; n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			val, ok := decode(v, now)
			if !ok {
				continue
			}
			if err := fn(string(k), val); err != nil {
				return err
			}
		}
		return nil
	})
}
