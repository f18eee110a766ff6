package writebehind

import (
	"sync"
	"testing"
	"time"
)

// TestQueue: every offered item reaches the write function exactly once,
// in batches of at most max, also when many goroutines offer at once; Close
// writes what is queued; after Close, Offer says no; a full queue says no
// instead of blocking.
func TestQueue(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	biggest := 0
	q := New(1000, 16, func(b []int) {
		mu.Lock()
		defer mu.Unlock()
		biggest = max(biggest, len(b))
		for _, v := range b {
			seen[v]++
		}
	})
	var wg sync.WaitGroup
	refused := make(chan int, 8000)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				if v := g*1000 + i; !q.Offer(v) {
					refused <- v
				}
			}
		}()
	}
	wg.Wait()
	q.Close()
	close(refused)
	for v := range refused {
		seen[v] += 1000 // the caller's own write, for the count below
	}
	for v := range 8000 {
		if n := seen[v]; n != 1 && n != 1000 {
			t.Fatalf("item %d written %d times", v, n)
		}
	}
	if biggest > 16 {
		t.Fatalf("a batch of %d, max 16", biggest)
	}
	if q.Offer(1) {
		t.Fatal("Offer after Close accepted")
	}
	q.Close() // twice is fine

	block := make(chan struct{})
	full := New(2, 1, func([]int) { <-block })
	n := 0
	for i := range 10 {
		if full.Offer(i) {
			n++
		}
	}
	if n > 3 { // one in the writer's hands, two queued
		t.Fatalf("a queue of 2 took %d items while the writer was stuck", n)
	}
	close(block)
	full.Close()
}

// TestLinger: with Linger the writer gathers items offered within the
// linger time into one batch; Close still writes at once.
func TestLinger(t *testing.T) {
	var mu sync.Mutex
	var batches [][]int
	q := New(100, 50, func(b []int) {
		mu.Lock()
		defer mu.Unlock()
		batches = append(batches, append([]int(nil), b...))
	}).Linger(5 * time.Second)
	for i := range 5 {
		q.Offer(i)
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	q.Close()
	if d := time.Since(start); d > 4*time.Second { // not the linger time
		t.Fatalf("Close took %v", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(batches) != 1 || len(batches[0]) != 5 {
		t.Fatalf("batches %v, want one of 5", batches)
	}
}
