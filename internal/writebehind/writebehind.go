// Package writebehind takes store writes off the SMTP reply path: a caller
// offers an item and goes on; one goroutine takes whatever is queued (by
// default no timer: an item waits for at most the write before it; see
// Linger) and hands the batch
// to a write function, which can fold it (one store update per key) and
// write the keys concurrently so that the embedded store commits them
// together. Close writes what is queued and stops. karma's nice judgements
// the DMARC report rows and Bayes autolearn use it.
package writebehind

import (
	"sync"
	"time"
)

// Queue is a write-behind queue of items of type T. The zero value is not
// usable; use New. A Queue is safe for concurrent use.
type Queue[T any] struct {
	size, max int
	write     func([]T)
	linger    time.Duration

	mu     sync.Mutex
	ch     chan T
	done   chan struct{}
	closed bool
}

// New returns a queue holding at most size items, handing write at most max
// at a time. The writer goroutine starts with the first Offer.
func New[T any](size, max int, write func(batch []T)) *Queue[T] {
	return &Queue[T]{size: size, max: max, write: write}
}

// Linger makes the writer wait up to d after the first item of a batch for
// more (until max), for writes whose cost hardly grows with the batch (a
// Bayes learn commits hundreds of token pages either way). Call it before
// the first Offer.
func (q *Queue[T]) Linger(d time.Duration) *Queue[T] {
	q.linger = d
	return q
}

// Offer queues an item; false when the queue cannot take it (closed, or
// full because the store is slow): the caller then writes it itself, so
// that nothing is lost.
func (q *Queue[T]) Offer(it T) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	if q.ch == nil {
		q.ch = make(chan T, q.size)
		q.done = make(chan struct{})
		go q.loop()
	}
	select {
	case q.ch <- it:
		return true
	default:
		return false
	}
}

// loop writes until the queue is closed and empty: it waits for one item,
// takes whatever else is queued, and writes the batch before looking again.
func (q *Queue[T]) loop() {
	defer close(q.done)
	batch := make([]T, 0, q.max)
	for {
		it, ok := <-q.ch
		if !ok {
			return
		}
		batch = append(batch[:0], it)
		var deadline <-chan time.Time
		var timer *time.Timer
		if q.linger > 0 {
			timer = time.NewTimer(q.linger)
			deadline = timer.C
		}
	fill:
		for len(batch) < q.max {
			if deadline == nil {
				select {
				case it, ok := <-q.ch:
					if !ok {
						break fill
					}
					batch = append(batch, it)
				default:
					break fill
				}
				continue
			}
			select {
			case it, ok := <-q.ch:
				if !ok {
					break fill
				}
				batch = append(batch, it)
			case <-deadline:
				break fill
			}
		}
		if timer != nil {
			timer.Stop()
		}
		q.write(batch)
	}
}

// Close writes what is queued and stops the writer; later Offers return
// false. It returns when the last batch is written.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	if q.closed || q.ch == nil {
		q.closed = true
		q.mu.Unlock()
		return
	}
	q.closed = true
	close(q.ch)
	done := q.done
	q.mu.Unlock()
	<-done
}
