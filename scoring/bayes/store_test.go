package bayes

import (
	"bytes"
	"context"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/storetest"
)

func item(id string, class Class, toks ...string) Item {
	return Item{ID: MsgID(id), Class: class, Hashes: Hashes(toks)}
}

func counts(t *testing.T, db *DB, toks ...string) []Counts {
	t.Helper()
	c, _, _, err := db.Lookup(context.Background(), Hashes(toks))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func totals(t *testing.T, db *DB) (uint64, uint64) {
	t.Helper()
	s, h, err := db.Totals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s, h
}

func learn(t *testing.T, db *DB, items ...Item) []Outcome {
	t.Helper()
	out, err := db.Learn(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLearnIdempotence runs on both backends (Redis: a private
// redis-server on loopback).
func TestLearnIdempotence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		db := NewDB(s)
		steps := []struct {
			name       string
			item       Item
			want       Outcome
			spam, ham  uint64
			tokA, tokB Counts // counts of "a" and "b" afterwards
		}{
			{"learn spam", item("m1", Spam, "a", "b"), Learned, 1, 0, Counts{1, 0}, Counts{1, 0}},
			{"same again does nothing", item("m1", Spam, "a", "b"), Already, 1, 0, Counts{1, 0}, Counts{1, 0}},
			{"as ham moves it", item("m1", Ham, "a", "b"), Moved, 0, 1, Counts{0, 1}, Counts{0, 1}},
			{"ham again does nothing", item("m1", Ham, "a", "b"), Already, 0, 1, Counts{0, 1}, Counts{0, 1}},
			{"another ham", item("m2", Ham, "a"), Learned, 0, 2, Counts{0, 2}, Counts{0, 1}},
			{"back to spam", item("m1", Spam, "a", "b"), Moved, 1, 1, Counts{1, 1}, Counts{1, 0}},
			{"forget", item("m1", Forget, "a", "b"), Forgotten, 0, 1, Counts{0, 1}, Counts{0, 0}},
			{"forget again", item("m1", Forget, "a", "b"), NotFound, 0, 1, Counts{0, 1}, Counts{0, 0}},
		}
		for _, st := range steps {
			out := learn(t, db, st.item)
			if out[0] != st.want {
				t.Fatalf("%s: outcome %v, want %v", st.name, out[0], st.want)
			}
			if s, h := totals(t, db); s != st.spam || h != st.ham {
				t.Fatalf("%s: totals %d/%d, want %d/%d", st.name, s, h, st.spam, st.ham)
			}
			c := counts(t, db, "a", "b")
			if c[0] != st.tokA || c[1] != st.tokB {
				t.Fatalf("%s: counts a=%v b=%v, want %v %v", st.name, c[0], c[1], st.tokA, st.tokB)
			}
		}
	})
}

func TestLearnBatchAndDuplicatesInBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		db := NewDB(s)
		out := learn(t, db, item("x", Spam, "t"), item("y", Ham, "t"), item("x", Spam, "t"))
		if out[0] != Already || out[1] != Learned || out[2] != Learned {
			t.Fatalf("outcomes %v", out)
		}
		if c := counts(t, db, "t"); c[0] != (Counts{1, 1}) {
			t.Fatalf("counts %v, want 1 spam 1 ham", c[0])
		}
	})
}

// TestConcurrentLearners: several learners (think: the daemon's watcher
// and `mailwarden learn`) learning the same messages at once count each
// message exactly once.
func TestConcurrentLearners(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		var items []Item
		for i := 0; i < 20; i++ {
			items = append(items, item(string(rune('A'+i)), Spam, "shared", string(rune('a'+i))))
		}
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db := NewDB(s)
				for _, it := range items {
					if _, err := db.Learn(ctx, []Item{it}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		db := NewDB(s)
		if sp, h := totals(t, db); sp != 20 || h != 0 {
			t.Fatalf("totals %d/%d, want 20/0", sp, h)
		}
		if c := counts(t, db, "shared"); c[0].Spam != 20 {
			t.Fatalf("shared token spam count %d, want 20", c[0].Spam)
		}
	})
}

func TestExpireStatsReset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		db := NewDB(s)
		now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
		db.now = func() time.Time { return now }
		learn(t, db, item("old", Spam, "stale", "kept"))
		now = now.AddDate(0, 0, 100)
		learn(t, db, item("new", Ham, "kept", "fresh"))
		st, err := db.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.NSpam != 1 || st.NHam != 1 || st.NTokens != 3 || st.Messages != 2 {
			t.Fatalf("stats %+v", st)
		}
		if got := now.Sub(st.Oldest); got < 99*24*time.Hour {
			t.Errorf("oldest token %v, want ~100 days old", st.Oldest)
		}
		n, err := db.Expire(ctx, 30*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("expired %d tokens, want 1 (stale)", n)
		}
		c := counts(t, db, "stale", "kept", "fresh")
		if c[0] != (Counts{}) || c[1] != (Counts{1, 1}) || c[2] != (Counts{0, 1}) {
			t.Errorf("after expiry %v", c)
		}
		if err := db.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		st, err = db.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.NSpam != 0 || st.NHam != 0 || st.NTokens != 0 || st.Messages != 0 {
			t.Fatalf("after reset %+v", st)
		}
		if out := learn(t, db, item("old", Spam, "stale")); out[0] != Learned {
			t.Errorf("after reset a message learns again, got %v", out[0])
		}
	})
}

func TestLargeMessageFitsOneCall(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		toks := make([]string, MaxTokens)
		for i := range toks {
			toks[i] = "tok" + string(rune(0x4e00+i))
		}
		db := NewDB(s)
		out := learn(t, db, item("big", Spam, toks...), item("small", Ham, "x"))
		if out[0] != Learned || out[1] != Learned {
			t.Fatalf("outcomes %v", out)
		}
		if c := counts(t, db, toks[MaxTokens-1]); c[0].Spam != 1 {
			t.Fatalf("last token not learned")
		}
	})
}

// TestLookupCache: with the cache on, a lookup answers from memory what it
// read within the TTL (a change by another DB shows only after it), and this
// DB's own learning shows at once.
func TestLookupCache(t *testing.T) {
	s := storetest.Bolt(t)
	clock := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cached, other := NewDB(s), NewDB(s)
	cached.now = func() time.Time { return clock }
	cached.EnableCache(10*time.Second, 1000)
	ctx := context.Background()
	h := Hashes([]string{"viagra"})
	look := func() Counts {
		t.Helper()
		c, _, _, err := cached.Lookup(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		return c[0]
	}
	if c := look(); c != (Counts{}) {
		t.Fatalf("empty store: %+v", c)
	}
	if _, err := other.Learn(ctx, []Item{{ID: "m1", Class: Spam, Hashes: h}}); err != nil {
		t.Fatal(err)
	}
	if c := look(); c.Spam != 0 {
		t.Fatalf("another DB's learning showed before the TTL: %+v", c)
	}
	clock = clock.Add(11 * time.Second)
	if c := look(); c.Spam != 1 {
		t.Fatalf("after the TTL: %+v, want 1 spam", c)
	}
	if _, err := cached.Learn(ctx, []Item{{ID: "m2", Class: Spam, Hashes: h}}); err != nil {
		t.Fatal(err)
	}
	if c := look(); c.Spam != 2 {
		t.Fatalf("own learning not seen at once: %+v, want 2 spam", c)
	}
	if err := cached.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if c := look(); c != (Counts{}) {
		t.Fatalf("after Reset: %+v", c)
	}
}

// TestHashIsFNV1a: Hash is FNV-1a 64 as hash/fnv computes it, so the
// keys of stores written before it was inlined still match.
func TestHashIsFNV1a(t *testing.T) {
	for _, tok := range []string{"", "a", "subject:free", "received:ip:64.161", "naïve", strings.Repeat("x", 300)} {
		h := fnv.New64a()
		h.Write([]byte(tok))
		if got, want := Hash(tok), h.Sum64(); got != want {
			t.Errorf("Hash(%q) = %x, want %x", tok, got, want)
		}
	}
}

// TestAppendTokKeys: the keys a lookup builds in one buffer are tokKey's.
func TestAppendTokKeys(t *testing.T) {
	hashes := []uint64{0, 1, Hash("free"), ^uint64(0), Hash("subject:money")}
	keys := appendTokKeys([]string{"first"}, hashes, []int{4, 0, 2, 3})
	want := []string{"first", tokKey(hashes[4]), tokKey(hashes[0]), tokKey(hashes[2]), tokKey(hashes[3])}
	if !slices.Equal(keys, want) {
		t.Errorf("appendTokKeys = %q, want %q", keys, want)
	}
}

// TestForgetWithOtherTokens: a message learned by an earlier tokenizer is
// re-tokenized differently when it is forgotten or moved. A token it never
// added keeps its counts: no count goes below zero, and none borrows from
// the neighbouring field of the packed counter.
func TestForgetWithOtherTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		db := NewDB(s)
		learn(t, db, item("old", Ham, "a", "b"), item("other", Spam, "c"))
		// "old" again, as today's tokenizer reads it: "c" and "d" are new.
		if out := learn(t, db, item("old", Forget, "a", "c", "d")); out[0] != Forgotten {
			t.Fatalf("forget = %v", out[0])
		}
		got := counts(t, db, "a", "b", "c", "d")
		want := []Counts{{0, 0}, {0, 1}, {1, 0}, {0, 0}}
		if !slices.Equal(got, want) {
			t.Errorf("after forget: counts a b c d = %v, want %v", got, want)
		}
		learn(t, db, item("old2", Spam, "a"))
		if out := learn(t, db, item("old2", Ham, "a", "e")); out[0] != Moved {
			t.Fatalf("move = %v", out[0])
		}
		got = counts(t, db, "a", "e")
		want = []Counts{{0, 1}, {0, 1}}
		if !slices.Equal(got, want) {
			t.Errorf("after move: counts a e = %v, want %v", got, want)
		}
		if sp, hm := totals(t, db); sp != 1 || hm != 1 {
			t.Errorf("totals = %d spam %d ham, want 1 1", sp, hm)
		}
		// In one call: forgetting a message that never added "y", then
		// learning one that does. Each change is clamped in turn, so the
		// learned count is kept (clamping their sum would lose it).
		learn(t, db, item("old3", Spam, "p"))
		learn(t, db, item("old3", Forget, "p", "y"), item("new3", Spam, "y"))
		got = counts(t, db, "p", "y")
		want = []Counts{{0, 0}, {1, 0}}
		if !slices.Equal(got, want) {
			t.Errorf("forget and learn in one call: counts p y = %v, want %v", got, want)
		}
	})
}

// beforeWrite runs hook once, just before the first IncrMany: another
// learner's whole change lands between this learner's read and its write.
type beforeWrite struct {
	store.Store
	hook func()
	once sync.Once
}

func (b *beforeWrite) IncrMany(ctx context.Context, keys []string, deltas []int64, ttl time.Duration) ([]int64, error) {
	b.once.Do(b.hook)
	return b.Store.IncrMany(ctx, keys, deltas, ttl)
}

// TestRaceForgetWithOtherTokens: two learners forget the same message,
// learned by an earlier tokenizer, at the same moment. The one that loses
// the race undoes exactly what it applied, so a token the message never
// had keeps its counts.
func TestRaceForgetWithOtherTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		db := NewDB(s)
		learn(t, db, item("old", Spam, "a", "b"), item("other", Ham, "x"))
		forget := item("old", Forget, "a", "b", "x") // "x": a token "old" never added
		loser := NewDB(&beforeWrite{Store: s, hook: func() { learn(t, db, forget) }})
		if out := learn(t, loser, forget); out[0] != Already {
			t.Fatalf("the loser's outcome = %v, want %v", out[0], Already)
		}
		got := counts(t, db, "a", "b", "x")
		want := []Counts{{0, 0}, {0, 0}, {0, 1}}
		if !slices.Equal(got, want) {
			t.Errorf("counts a b x = %v, want %v", got, want)
		}
		if sp, hm := totals(t, db); sp != 0 || hm != 1 {
			t.Errorf("totals = %d spam %d ham, want 0 1", sp, hm)
		}
	})
}

func TestUnderflow(t *testing.T) {
	pack := func(spam, ham, day int64) int64 { return spam<<spamShift + ham<<hamShift + day }
	tests := []struct {
		name string
		v    int64
		want int64
	}{
		{"none", pack(3, 5, 9000), 0},
		{"big but real counts", pack(8_000_000, 8_000_000, 9000), 0},
		{"zero", 0, 0},
		{"ham one below zero", pack(2, -1, 9000), 1 << hamShift},
		{"ham three below zero, spam zero", pack(0, -3, 9000), 3 << hamShift},
		{"spam one below zero", pack(-1, 4, 9000), 1 << spamShift},
		{"both below zero", pack(-2, -1, 9000), 1<<hamShift + 2<<spamShift},
	}
	for _, tt := range tests {
		if got := underflow(tt.v); got != tt.want {
			t.Errorf("%s: underflow = %#x, want %#x", tt.name, got, tt.want)
			continue
		}
		c, day := unpack(tt.v + tt.want)
		if tt.v+tt.want < 0 || day != 9000 && tt.v != 0 || int64(c.Ham) > hamMask/2 {
			t.Errorf("%s: corrected value %#x reads %+v day %d", tt.name, tt.v+tt.want, c, day)
		}
	}
}

// TestRaceForgetDifferentMessages: two learners forget two different
// messages at once, and today's tokenizer gives the one learned earlier a
// token it never added. Both read the token's ham count as 1 and take it
// down: the second write takes it below zero, and is put back.
func TestRaceForgetDifferentMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		db := NewDB(s)
		learn(t, db, item("X", Ham, "h"), item("Y", Ham, "z"), item("S", Spam, "h"))
		other := func() { learn(t, db, item("X", Forget, "h")) }
		loser := NewDB(&beforeWrite{Store: s, hook: other})
		if out := learn(t, loser, item("Y", Forget, "z", "h")); out[0] != Forgotten {
			t.Fatalf("forget Y = %v", out[0])
		}
		got := counts(t, db, "h", "z")
		want := []Counts{{Spam: 1}, {}}
		if !slices.Equal(got, want) {
			t.Errorf("counts h z = %+v, want %+v", got, want)
		}
	})
}

// TestHashTrimmedLines: the line-at-a-time hashing writes what the
// byte-at-a-time loop it replaced wrote (every message's identity in
// existing stores depends on it), across read boundaries too.
func TestHashTrimmedLines(t *testing.T) {
	byteWise := func(body []byte) []byte {
		var out, pending []byte
		for _, c := range body {
			switch c {
			case ' ', '\t', '\r':
				pending = append(pending, c)
			case '\n':
				pending = pending[:0]
				out = append(out, '\n')
			default:
				out = append(out, pending...)
				pending = pending[:0]
				out = append(out, c)
			}
		}
		return out
	}
	alphabet := []byte("ab \t\r\n\n x")
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 3000; i++ {
		body := make([]byte, rng.IntN(40000))
		for j := range body {
			body[j] = alphabet[rng.IntN(len(alphabet))]
		}
		var got bytes.Buffer
		// iotest.OneByteReader for small bodies puts a read boundary everywhere.
		var r io.Reader = bytes.NewReader(body)
		if len(body) < 200 {
			r = iotest.OneByteReader(r)
		}
		if err := hashTrimmedLines(&got, r); err != nil {
			t.Fatal(err)
		}
		if want := byteWise(body); !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("body %q:\ngot  %q\nwant %q", body, got.Bytes(), want)
		}
	}
}
