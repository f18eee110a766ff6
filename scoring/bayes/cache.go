package bayes

import (
	"sync"
	"time"
)

// tokenCache keeps token counts read from the store for a short time: a
// lookup reads a few hundred tokens, most of them common words that the
// previous messages read too, and on the embedded store each costs a B+tree
// search (~0.7 µs; a Redis store, a share of a round trip). Counts change as
// messages are learned: this DB's own learning drops what it touched at
// once; learning by another process (mailwarden learn, the maildir watcher's
// DB, another instance) shows within the TTL, which classification does not
// notice (a token's counts move by one per learned message).
type tokenCache struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[uint64]cachedCounts
}

type cachedCounts struct {
	c  Counts
	at int64 // unix nanoseconds when read
}

// EnableCache makes Lookup keep token counts in memory for ttl, at most max
// tokens (the whole cache is dropped when it fills). The daemon's
// classifier uses it; learners need not.
func (db *DB) EnableCache(ttl time.Duration, max int) {
	if ttl <= 0 || max <= 0 {
		db.cache = nil
		return
	}
	db.cache = &tokenCache{ttl: ttl, max: max, m: make(map[uint64]cachedCounts)}
}

// get fills out[i] for the hashes it holds fresh and returns the indexes of
// the others.
func (tc *tokenCache) get(hashes []uint64, out []Counts, now int64) (miss []int) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for i, h := range hashes {
		if e, ok := tc.m[h]; ok && now-e.at < int64(tc.ttl) {
			out[i] = e.c
			continue
		}
		miss = append(miss, i)
	}
	return miss
}

func (tc *tokenCache) put(hashes []uint64, counts []Counts, now int64) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if len(tc.m)+len(hashes) > tc.max {
		clear(tc.m)
	}
	for i, h := range hashes {
		tc.m[h] = cachedCounts{c: counts[i], at: now}
	}
}

// drop forgets tokens whose counts this DB just changed (nil: all).
func (tc *tokenCache) drop(hashes []uint64) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if hashes == nil {
		clear(tc.m)
		return
	}
	for _, h := range hashes {
		delete(tc.m, h)
	}
}
