// Package store is mailwarden's state store: the one small interface behind
// everything that must outlive a message — karma history, greylisting
// triplets, rate-limit counters, Bayes token counts, DMARC report records and
// daily statistics — with two implementations:
//
//   - Embedded (default): one bbolt file (go.etcd.io/bbolt) in
//     [server] state_dir, no server needed. See bolt.go for how the daemon
//     and a `mailwarden learn` running in another process share the file.
//   - Redis (github.com/redis/go-redis/v9): several mailwarden instances
//     (two MX hosts, say) share karma, greylisting and rate limits.
//
// Both run the same test suite (store_test.go; the Redis half starts a real
// redis-server on loopback).
//
// # Data model
//
// Keys are strings; by convention the first component names the owner,
// separated by colons: "karma:192.0.2.1", "grey:...", "rate:user:...",
// "bayes:tok:...". Values are opaque bytes, but counters (Incr, IncrMany)
// are stored as ASCII decimal numbers, so Get on a counter returns e.g. "42"
// on both backends (ParseInt reads it back). Every key may carry a time to
// live; an expired key is gone for every operation.
//
// Config: [store] backend ("embedded" or "redis"), path (embedded file,
// default STATE_DIR/state.db), redis_url ("redis://127.0.0.1:6379/0"),
// redis_prefix (default "mailwarden:", prepended to every key in Redis).
package store

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Store is the state store. Implementations are safe for concurrent use.
//
// TTL arguments: 0 means the key does not expire. For Incr and IncrMany the
// TTL is set when the counter is created (fixed windows for rate limits); an
// existing counter keeps its expiry.
type Store interface {
	// Get returns a key's value; ok is false when the key does not exist.
	Get(ctx context.Context, key string) (val []byte, ok bool, err error)
	// GetMany returns the values of many keys in one round trip, in order;
	// a missing key gives a nil entry.
	GetMany(ctx context.Context, keys []string) ([][]byte, error)
	// Put sets a key.
	Put(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// Delete removes keys; missing keys are not an error.
	Delete(ctx context.Context, keys ...string) error
	// Incr atomically adds delta to a counter (created at 0) and returns the
	// new value.
	Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error)
	// IncrMany atomically (as one transaction) adds deltas[i] to keys[i]
	// and returns the new values.
	IncrMany(ctx context.Context, keys []string, deltas []int64, ttl time.Duration) ([]int64, error)
	// Update is an atomic read-modify-write: fn gets the current value (nil
	// when missing) and returns the new value and its TTL; a nil value
	// deletes the key, and ErrNoChange leaves it as it is. fn may be called
	// more than once (Redis retries on a concurrent change): keep it free of
	// side effects.
	Update(ctx context.Context, key string, fn func(old []byte) (val []byte, ttl time.Duration, err error)) error
	// Scan calls fn for every key starting with prefix (in key order on the
	// embedded store, in no particular order on Redis). Returning an error
	// from fn stops the scan with that error. fn must not call the store.
	Scan(ctx context.Context, prefix string, fn func(key string, val []byte) error) error
	// Close releases the store.
	Close() error
}

// ErrNoChange, returned by an Update function, leaves the key untouched.
var ErrNoChange = errors.New("store: no change")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("store: closed")

// Limits on what callers may store.
const (
	// MaxKeyLen bounds a key: keys are built from addresses and names
	// (RFC 5321 4.5.3.1: a path is at most 256 octets) plus a short prefix.
	MaxKeyLen = 1024
	// MaxValueLen bounds a value: state records are small; a value this
	// large is a bug, not data (Redis itself allows 512 MB).
	MaxValueLen = 1 << 20
	// MaxBatch bounds GetMany/IncrMany: a Bayes message is capped well
	// below this many tokens; one Redis pipeline stays reasonable.
	MaxBatch = 10000
)

// ParseInt reads a counter value as stored by Incr; a nil value is 0.
func ParseInt(b []byte) (int64, error) {
	if b == nil {
		return 0, nil
	}
	return strconv.ParseInt(string(b), 10, 64)
}

// Config selects and configures a backend (the [store] section).
type Config struct {
	Backend     string // "embedded" (default) or "redis"
	Path        string // embedded: the bbolt file
	RedisURL    string // redis: "redis://[:password@]host:port/db"
	RedisPrefix string // redis: prepended to every key
}

// Open opens the configured backend.
func Open(cfg Config) (Store, error) {
	switch cfg.Backend {
	case "", "embedded":
		return OpenBolt(cfg.Path, BoltOptions{})
	case "redis":
		return OpenRedis(cfg.RedisURL, cfg.RedisPrefix)
	}
	return nil, errors.New("store: unknown backend " + strconv.Quote(cfg.Backend) + " (embedded or redis)")
}

func checkKey(key string) error {
	if key == "" {
		return errors.New("store: empty key")
	}
	if len(key) > MaxKeyLen {
		return errors.New("store: key longer than " + strconv.Itoa(MaxKeyLen) + " bytes")
	}
	return nil
}

func checkValue(val []byte) error {
	if len(val) > MaxValueLen {
		return errors.New("store: value longer than " + strconv.Itoa(MaxValueLen) + " bytes")
	}
	return nil
}

func checkBatch(n int) error {
	if n > MaxBatch {
		return errors.New("store: batch of " + strconv.Itoa(n) + " keys exceeds " + strconv.Itoa(MaxBatch))
	}
	return nil
}
