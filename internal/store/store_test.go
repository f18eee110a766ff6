package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/storetest"
)

// The same suite runs against both backends.

func TestGetPutDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if _, ok, err := s.Get(ctx, "a:missing"); err != nil || ok {
			t.Fatalf("Get missing = ok %v err %v", ok, err)
		}
		if err := s.Put(ctx, "a:1", []byte("one"), 0); err != nil {
			t.Fatal(err)
		}
		v, ok, err := s.Get(ctx, "a:1")
		if err != nil || !ok || string(v) != "one" {
			t.Fatalf("Get = %q %v %v", v, ok, err)
		}
		if err := s.Put(ctx, "a:1", []byte("uno"), 0); err != nil {
			t.Fatal(err)
		}
		if v, _, _ := s.Get(ctx, "a:1"); string(v) != "uno" {
			t.Fatalf("overwrite: got %q", v)
		}
		// A present empty value is not a missing key, in GetMany too.
		if err := s.Put(ctx, "a:empty", []byte{}, 0); err != nil {
			t.Fatal(err)
		}
		vals, err := s.GetMany(ctx, []string{"a:empty", "a:missing", "a:1"})
		if err != nil || vals[0] == nil || len(vals[0]) != 0 || vals[1] != nil || string(vals[2]) != "uno" {
			t.Fatalf("GetMany empty, missing, uno = %q (nil: %v %v) %v", vals, vals[0] == nil, vals[1] == nil, err)
		}
		if err := s.Delete(ctx, "a:1", "a:never"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Get(ctx, "a:1"); ok {
			t.Fatal("deleted key still there")
		}
	})
}

func TestTTL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if err := s.Put(ctx, "ttl:short", []byte("x"), 150*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, "ttl:long", []byte("y"), time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Get(ctx, "ttl:short"); !ok {
			t.Fatal("key gone before its TTL")
		}
		time.Sleep(300 * time.Millisecond)
		if _, ok, _ := s.Get(ctx, "ttl:short"); ok {
			t.Fatal("key still there after its TTL")
		}
		if _, ok, _ := s.Get(ctx, "ttl:long"); !ok {
			t.Fatal("long-lived key gone")
		}
		vals, err := s.GetMany(ctx, []string{"ttl:short", "ttl:long"})
		if err != nil || vals[0] != nil || string(vals[1]) != "y" {
			t.Fatalf("GetMany after expiry = %q %v", vals, err)
		}
		n := 0
		s.Scan(ctx, "ttl:", func(string, []byte) error { n++; return nil })
		if n != 1 {
			t.Fatalf("Scan saw %d keys, want 1 (expired keys are invisible)", n)
		}
	})
}

func TestIncr(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		tests := []struct {
			delta, want int64
		}{{1, 1}, {1, 2}, {5, 7}, {-3, 4}, {0, 4}}
		for _, tt := range tests {
			got, err := s.Incr(ctx, "cnt:a", tt.delta, 0)
			if err != nil || got != tt.want {
				t.Fatalf("Incr(%d) = %d, %v; want %d", tt.delta, got, err, tt.want)
			}
		}
		v, _, _ := s.Get(ctx, "cnt:a")
		if n, err := store.ParseInt(v); err != nil || n != 4 {
			t.Fatalf("counter reads back as %q", v)
		}
		if err := s.Put(ctx, "cnt:text", []byte("hello"), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Incr(ctx, "cnt:text", 1, 0); err == nil {
			t.Fatal("Incr on a non-counter succeeded")
		}
	})
}

func TestIncrTTLFixedWindow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if _, err := s.Incr(ctx, "win:a", 1, 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond)
		// A later increment must not extend the window.
		if n, err := s.Incr(ctx, "win:a", 1, 300*time.Millisecond); err != nil || n != 2 {
			t.Fatalf("second Incr = %d %v", n, err)
		}
		time.Sleep(250 * time.Millisecond)
		if n, err := s.Incr(ctx, "win:a", 1, 300*time.Millisecond); err != nil || n != 1 {
			t.Fatalf("Incr after the window = %d %v, want a fresh counter", n, err)
		}
	})
}

func TestBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		keys := make([]string, 500)
		deltas := make([]int64, len(keys))
		for i := range keys {
			keys[i] = fmt.Sprintf("bayes:tok:%04d", i)
			deltas[i] = int64(i%7 + 1)
		}
		if _, err := s.IncrMany(ctx, keys, deltas, 0); err != nil {
			t.Fatal(err)
		}
		got, err := s.IncrMany(ctx, keys, deltas, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range keys {
			if got[i] != 2*deltas[i] {
				t.Fatalf("key %s = %d, want %d", keys[i], got[i], 2*deltas[i])
			}
		}
		// Missing keys, among them a prefix of a present one and a key
		// after the last, in an order a cursor cannot just walk.
		missing := []string{"bayes:tok:none", "bayes:tok:00", "bayes:tok:99999", "a"}
		rev := slices.Clone(keys)
		slices.Reverse(rev)
		vals, err := s.GetMany(ctx, append(append([]string{}, missing...), rev...))
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range missing {
			if vals[i] != nil {
				t.Fatalf("missing key %s gave %q", k, vals[i])
			}
		}
		for i := range keys {
			k, v := keys[len(keys)-1-i], vals[len(missing)+i]
			if n, _ := store.ParseInt(v); n != 2*deltas[len(keys)-1-i] {
				t.Fatalf("GetMany %s = %q", k, v)
			}
		}
		if _, err := s.IncrMany(ctx, keys[:2], deltas[:1], 0); err == nil {
			t.Fatal("IncrMany with mismatched lengths succeeded")
		}
		big := make([]string, store.MaxBatch+1)
		for i := range big {
			big[i] = fmt.Sprint("k", i)
		}
		if _, err := s.GetMany(ctx, big); err == nil {
			t.Fatal("GetMany over MaxBatch succeeded")
		}
	})
}

func TestUpdate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		appendX := func(old []byte) ([]byte, time.Duration, error) {
			return append(append([]byte{}, old...), 'x'), 0, nil
		}
		for range 3 {
			if err := s.Update(ctx, "up:a", appendX); err != nil {
				t.Fatal(err)
			}
		}
		if v, _, _ := s.Get(ctx, "up:a"); string(v) != "xxx" {
			t.Fatalf("after 3 updates: %q", v)
		}
		if err := s.Update(ctx, "up:a", func([]byte) ([]byte, time.Duration, error) { return nil, 0, store.ErrNoChange }); err != nil {
			t.Fatalf("ErrNoChange surfaced: %v", err)
		}
		if v, _, _ := s.Get(ctx, "up:a"); string(v) != "xxx" {
			t.Fatalf("ErrNoChange changed the value: %q", v)
		}
		boom := errors.New("boom")
		if err := s.Update(ctx, "up:a", func([]byte) ([]byte, time.Duration, error) { return []byte("zzz"), 0, boom }); !errors.Is(err, boom) {
			t.Fatalf("fn error = %v, want boom", err)
		}
		if v, _, _ := s.Get(ctx, "up:a"); string(v) != "xxx" {
			t.Fatalf("failed update changed the value: %q", v)
		}
		if err := s.Update(ctx, "up:a", func([]byte) ([]byte, time.Duration, error) { return nil, 0, nil }); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Get(ctx, "up:a"); ok {
			t.Fatal("nil value did not delete")
		}
	})
}

// TestConcurrentAtomic checks that Incr and Update lose no increments under
// concurrent use.
func TestConcurrentAtomic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		const workers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each*2)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					if _, err := s.Incr(ctx, "conc:incr", 1, 0); err != nil {
						errs <- err
					}
					err := s.Update(ctx, "conc:upd", func(old []byte) ([]byte, time.Duration, error) {
						n, _ := store.ParseInt(old)
						return fmt.Appendf(nil, "%d", n+1), 0, nil
					})
					if err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, k := range []string{"conc:incr", "conc:upd"} {
			v, _, _ := s.Get(ctx, k)
			if n, _ := store.ParseInt(v); n != workers*each {
				t.Errorf("%s = %d, want %d", k, n, workers*each)
			}
		}
	})
}

func TestScan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		for _, k := range []string{"dmarc:rec:b", "dmarc:rec:a", "dmarc:recx", "stats:2026-01-01", "dmarc:rec:*"} {
			if err := s.Put(ctx, k, []byte(k), 0); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			prefix string
			want   []string
		}{
			{"dmarc:rec:", []string{"dmarc:rec:*", "dmarc:rec:a", "dmarc:rec:b"}},
			{"dmarc:rec", []string{"dmarc:rec:*", "dmarc:rec:a", "dmarc:rec:b", "dmarc:recx"}},
			{"stats:", []string{"stats:2026-01-01"}},
			{"none:", nil},
		}
		for _, tt := range tests {
			t.Run(tt.prefix, func(t *testing.T) {
				var got []string
				err := s.Scan(ctx, tt.prefix, func(k string, v []byte) error {
					if k != string(v) {
						t.Errorf("key %q has value %q", k, v)
					}
					got = append(got, k)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				sort.Strings(got)
				if strings.Join(got, ",") != strings.Join(tt.want, ",") {
					t.Fatalf("Scan(%q) = %v, want %v", tt.prefix, got, tt.want)
				}
			})
		}
		stop := errors.New("stop")
		n := 0
		if err := s.Scan(ctx, "dmarc:", func(string, []byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
			t.Fatalf("Scan stop: err %v after %d keys", err, n)
		}
	})
}

func TestBadKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		long := strings.Repeat("k", store.MaxKeyLen+1)
		if err := s.Put(ctx, "", []byte("x"), 0); err == nil {
			t.Error("empty key accepted")
		}
		if err := s.Put(ctx, long, []byte("x"), 0); err == nil {
			t.Error("over-long key accepted")
		}
		if err := s.Put(ctx, "big", make([]byte, store.MaxValueLen+1), 0); err == nil {
			t.Error("over-long value accepted")
		}
		// Binary keys and values round-trip.
		key := "bin:\x00\xff:é"
		if err := s.Put(ctx, key, []byte{0, 1, 2, 0xff}, 0); err != nil {
			t.Fatal(err)
		}
		if v, ok, _ := s.Get(ctx, key); !ok || string(v) != "\x00\x01\x02\xff" {
			t.Fatalf("binary round trip: %q", v)
		}
	})
}
