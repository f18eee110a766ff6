package store

import (
	"context"
	"fmt"
	"math/rand"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkGetMany: 300 random keys of 100k, as a Bayes lookup reads them.
func BenchmarkGetMany(b *testing.B) {
	s, err := OpenBolt(filepath.Join(b.TempDir(), "s.db"), BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const n = 100000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("bayes:tok:%016x", rand.Uint64())
	}
	for start := 0; start < n; start += MaxBatch {
		end := min(start+MaxBatch, n)
		deltas := make([]int64, end-start)
		for i := range deltas {
			deltas[i] = 1
		}
		if _, err := s.IncrMany(ctx, keys[start:end], deltas, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	r := rand.New(rand.NewSource(1))
	b.ResetTimer()
	for range b.N {
		q := make([]string, 300)
		for i := range q {
			q[i] = keys[r.Intn(n)]
		}
		if _, err := s.GetMany(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}
