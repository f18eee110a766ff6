package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// WrapStore counts the errors of a store's operations.
func (m *Metrics) WrapStore(s store.Store) store.Store { return &countingStore{s: s, m: m} }

type countingStore struct {
	s store.Store
	m *Metrics
}

func (c *countingStore) count(op string, err error) error {
	if err != nil && !errors.Is(err, store.ErrNoChange) && !errors.Is(err, context.Canceled) {
		c.m.StoreError(op)
	}
	return err
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, ok, err := c.s.Get(ctx, key)
	return v, ok, c.count("get", err)
}

func (c *countingStore) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	v, err := c.s.GetMany(ctx, keys)
	return v, c.count("get_many", err)
}

func (c *countingStore) Put(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return c.count("put", c.s.Put(ctx, key, val, ttl))
}

func (c *countingStore) Delete(ctx context.Context, keys ...string) error {
	return c.count("delete", c.s.Delete(ctx, keys...))
}

func (c *countingStore) Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	n, err := c.s.Incr(ctx, key, delta, ttl)
	return n, c.count("incr", err)
}

func (c *countingStore) IncrMany(ctx context.Context, keys []string, deltas []int64, ttl time.Duration) ([]int64, error) {
	n, err := c.s.IncrMany(ctx, keys, deltas, ttl)
	return n, c.count("incr_many", err)
}

func (c *countingStore) Update(ctx context.Context, key string, fn func(old []byte) ([]byte, time.Duration, error)) error {
	return c.count("update", c.s.Update(ctx, key, fn))
}

func (c *countingStore) Scan(ctx context.Context, prefix string, fn func(key string, val []byte) error) error {
	return c.count("scan", c.s.Scan(ctx, prefix, fn))
}

func (c *countingStore) Close() error { return c.s.Close() }
