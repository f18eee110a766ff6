package resolver

import (
	"container/list"
	"sync"
	"time"

	"github.com/miekg/dns"
)

type cacheKey struct {
	name  string
	qtype uint16
}

type entry struct {
	rcode   int
	rrs     []dns.RR
	expires time.Time
}

type cacheItem struct {
	key cacheKey
	e   entry
}

// cache is a size-bounded LRU of responses. A nil *cache caches nothing.
type cache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // front: most recently used
	items map[cacheKey]*list.Element
}

func newCache(max int) *cache {
	return &cache{max: max, ll: list.New(), items: make(map[cacheKey]*list.Element, max)}
}

func (c *cache) get(k cacheKey, now time.Time) (entry, bool) {
	if c == nil {
		return entry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return entry{}, false
	}
	it := el.Value.(*cacheItem)
	if !now.Before(it.e.expires) {
		c.ll.Remove(el)
		delete(c.items, k)
		return entry{}, false
	}
	c.ll.MoveToFront(el)
	return it.e, true
}

func (c *cache) put(k cacheKey, e entry) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		el.Value.(*cacheItem).e = e
		c.ll.MoveToFront(el)
		return
	}
	c.items[k] = c.ll.PushFront(&cacheItem{key: k, e: e})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*cacheItem).key)
	}
}

func (c *cache) flush() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.ll.Init()
	c.items = make(map[cacheKey]*list.Element, c.max)
	c.mu.Unlock()
}

func (c *cache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
