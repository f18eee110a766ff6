package policy

import (
	"container/list"
	"sync"
	"time"

	"github.com/mailwarden/mailwarden/scoring"
)

// instanceTTL: an instance's cached results are dropped this long after it
// was last used. Postfix's SMTP session timeouts (smtpd_timeout 300 s per
// command) keep a live message's requests far closer together.
const instanceTTL = time.Hour

// instance is what one message (one Postfix `instance`) has found so far.
type instance struct {
	mu       sync.Mutex
	engine   *scoring.Engine
	tx       *scoring.Transaction
	stages   scoring.Stage // stages below this have run
	observed bool          // the verdict went to the observers
	used     time.Time
	key      string
	elem     *list.Element
}

// instanceCache is a size-bounded LRU of instances.
type instanceCache struct {
	mu    sync.Mutex
	max   int
	items map[string]*instance
	lru   *list.List // front: most recently used
}

func newInstanceCache(max int) *instanceCache {
	if max < 1 {
		max = 1
	}
	return &instanceCache{max: max, items: make(map[string]*instance), lru: list.New()}
}

// get returns the live instance for key, creating it with mk when missing
// or expired.
func (c *instanceCache) get(key string, now time.Time, mk func() *instance) *instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	if in, ok := c.items[key]; ok {
		if now.Sub(in.used) < instanceTTL {
			in.used = now
			c.lru.MoveToFront(in.elem)
			return in
		}
		c.remove(in)
	}
	in := mk()
	in.key, in.used = key, now
	in.elem = c.lru.PushFront(in)
	c.items[key] = in
	for c.lru.Len() > c.max {
		c.remove(c.lru.Back().Value.(*instance))
	}
	return in
}

func (c *instanceCache) remove(in *instance) {
	c.lru.Remove(in.elem)
	delete(c.items, in.key)
}

func (c *instanceCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}
