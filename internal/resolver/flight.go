package resolver

import (
	"context"
	"sync"
)

// flightGroup de-duplicates identical queries in flight (the single-flight
// pattern of golang.org/x/sync/singleflight, with per-caller contexts): the
// first caller runs fn; the others wait for its result or their own
// context, whichever comes first.
type flightGroup struct {
	mu    sync.Mutex
	calls map[cacheKey]*flightCall
}

type flightCall struct {
	done chan struct{}
	val  any
	err  error
}

func (g *flightGroup) do(ctx context.Context, k cacheKey, fn func() (any, error)) (any, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[cacheKey]*flightCall)
	}
	c, ok := g.calls[k]
	if !ok {
		c = &flightCall{done: make(chan struct{})}
		g.calls[k] = c
		go func() {
			defer func() {
				if p := recover(); p != nil {
					c.err = panicError{p}
				}
				g.mu.Lock()
				delete(g.calls, k)
				g.mu.Unlock()
				close(c.done)
			}()
			c.val, c.err = fn()
		}()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		return nil, ctxError(k.name, ctx.Err())
	}
}

type panicError struct{ v any }

func (p panicError) Error() string { return "resolver: panic in query" }
