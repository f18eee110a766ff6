package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the shared store: several mailwarden instances pointing at one
// Redis see the same karma, greylisting and rate-limit state. Every key is
// stored under the configured prefix.
type Redis struct {
	c      *redis.Client
	prefix string
}

var _ Store = (*Redis)(nil)

const (
	// redisTimeout bounds each command: the state store is on the message
	// path, and Postfix's command timeout is 30 s.
	redisTimeout = 3 * time.Second
	// updateRetries bounds optimistic-locking retries in Update.
	updateRetries = 50
	// scanCount is the COUNT hint per SCAN round trip.
	scanCount = 1000
)

// incrScript adds to a counter and sets the TTL only when the counter has
// none (that is, when it was just created): fixed windows.
var incrScript = redis.NewScript(`
local out = {}
for i, k in ipairs(KEYS) do
  out[i] = redis.call('INCRBY', k, ARGV[i])
  if tonumber(ARGV[#KEYS+1]) > 0 and redis.call('PTTL', k) == -1 then
    redis.call('PEXPIRE', k, ARGV[#KEYS+1])
  end
end
return out
`)

// OpenRedis connects to the Redis at url (redis://[:password@]host:port/db)
// and checks that it answers.
func OpenRedis(url, prefix string) (*Redis, error) {
	if url == "" {
		return nil, errors.New("store: redis backend needs redis_url")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("store: redis_url: %w", err)
	}
	opt.ReadTimeout = redisTimeout
	opt.WriteTimeout = redisTimeout
	opt.DialTimeout = redisTimeout
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("store: redis %s: %w", opt.Addr, err)
	}
	return &Redis{c: c, prefix: prefix}, nil
}

func (s *Redis) k(key string) string { return s.prefix + key }

// Get implements Store.
func (s *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := checkKey(key); err != nil {
		return nil, false, err
	}
	v, err := s.c.Get(ctx, s.k(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// GetMany implements Store.
func (s *Redis) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if err := checkBatch(len(keys)); err != nil {
		return nil, err
	}
	out := make([][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	ks := make([]string, len(keys))
	for i, k := range keys {
		if err := checkKey(k); err != nil {
			return nil, err
		}
		ks[i] = s.k(k)
	}
	vals, err := s.c.MGet(ctx, ks...).Result()
	if err != nil {
		return nil, err
	}
	for i, v := range vals {
		if str, ok := v.(string); ok {
			out[i] = []byte(str)
		}
	}
	return out, nil
}

// Put implements Store.
func (s *Redis) Put(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := checkValue(val); err != nil {
		return err
	}
	return s.c.Set(ctx, s.k(key), val, ttl).Err()
}

// Delete implements Store.
func (s *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	ks := make([]string, len(keys))
	for i, k := range keys {
		ks[i] = s.k(k)
	}
	return s.c.Del(ctx, ks...).Err()
}

// Incr implements Store.
func (s *Redis) Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	vs, err := s.IncrMany(ctx, []string{key}, []int64{delta}, ttl)
	if err != nil {
		return 0, err
	}
	return vs[0], nil
}

// IncrMany implements Store (one Lua script: atomic on the server).
func (s *Redis) IncrMany(ctx context.Context, keys []string, deltas []int64, ttl time.Duration) ([]int64, error) {
	if len(keys) != len(deltas) {
		return nil, errors.New("store: IncrMany needs one delta per key")
	}
	if err := checkBatch(len(keys)); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, nil
	}
	ks := make([]string, len(keys))
	args := make([]any, 0, len(keys)+1)
	for i, k := range keys {
		if err := checkKey(k); err != nil {
			return nil, err
		}
		ks[i] = s.k(k)
		args = append(args, deltas[i])
	}
	args = append(args, ttl.Milliseconds())
	res, err := incrScript.Run(ctx, s.c, ks, args...).Int64Slice()
	if err != nil {
		if strings.Contains(err.Error(), "not an integer") {
			return nil, fmt.Errorf("store: a key in %v is not a counter", keys)
		}
		return nil, err
	}
	return res, nil
}

// Update implements Store with WATCH/MULTI: fn is re-run when another
// client changed the key in between.
func (s *Redis) Update(ctx context.Context, key string, fn func(old []byte) ([]byte, time.Duration, error)) error {
	if err := checkKey(key); err != nil {
		return err
	}
	k := s.k(key)
	txf := func(tx *redis.Tx) error {
		old, err := tx.Get(ctx, k).Bytes()
		if errors.Is(err, redis.Nil) {
			old, err = nil, nil
		}
		if err != nil {
			return err
		}
		val, ttl, err := fn(old)
		if err != nil {
			return err
		}
		if val != nil {
			if err := checkValue(val); err != nil {
				return err
			}
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if val == nil {
				p.Del(ctx, k)
			} else {
				p.Set(ctx, k, val, ttl)
			}
			return nil
		})
		return err
	}
	for range updateRetries {
		err := s.c.Watch(ctx, txf, k)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if errors.Is(err, ErrNoChange) {
			return nil
		}
		return err
	}
	return fmt.Errorf("store: update of %s kept conflicting (%d tries)", key, updateRetries)
}

// Scan implements Store.
func (s *Redis) Scan(ctx context.Context, prefix string, fn func(key string, val []byte) error) error {
	pattern := globEscape(s.k(prefix)) + "*"
	var cursor uint64
	// SCAN may return a key more than once (when the keyspace is rehashed
	// during the scan); each key is reported once.
	seen := make(map[string]bool)
	for {
		keys, next, err := s.c.Scan(ctx, cursor, pattern, scanCount).Result()
		if err != nil {
			return err
		}
		fresh := keys[:0]
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				fresh = append(fresh, k)
			}
		}
		keys = fresh
		if len(keys) > 0 {
			vals, err := s.c.MGet(ctx, keys...).Result()
			if err != nil {
				return err
			}
			for i, v := range vals {
				str, ok := v.(string)
				if !ok { // expired or deleted since SCAN
					continue
				}
				if err := fn(strings.TrimPrefix(keys[i], s.prefix), []byte(str)); err != nil {
					return err
				}
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// globEscape escapes Redis glob metacharacters.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Close implements Store.
func (s *Redis) Close() error { return s.c.Close() }
