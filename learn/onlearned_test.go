package learn

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/storetest"
	"github.com/mailwarden/mailwarden/scoring/bayes"
)

// counter records Config.OnLearned calls as "class/result" -> n.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(class, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[class+"/"+result]++
}

func (c *counter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.n
	c.n = map[string]int{}
	return out
}

func sameCounts(got, want map[string]int) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestOnLearned: a pass tells OnLearned each message's class and outcome.
func TestOnLearned(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		root := t.TempDir()
		md := filepath.Join(root, "users", "carol", "Maildir")
		put(t, filepath.Join(md, ".LearnAsSpam", "new"), "1.M1P1.host", msg(1, "spam"))
		put(t, filepath.Join(md, ".LearnAsHam", "cur"), "2.M2P2.host:2,S", msg(2, "ham"))
		// Cannot be parsed: left in place, a failure each pass.
		put(t, filepath.Join(md, ".LearnAsHam", "new"), "empty", "")

		c := &counter{n: map[string]int{}}
		cfg := testConfig(root)
		cfg.OnLearned = c.add
		w := New(cfg, &bayes.Learner{DB: bayes.NewDB(s)}, nil)
		if _, err := w.Pass(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"spam/" + ResultLearned: 1, "ham/" + ResultLearned: 1, "ham/" + ResultFailed: 1}
		if got := c.take(); !sameCounts(got, want) {
			t.Errorf("first pass: %v, want %v", got, want)
		}

		// A copy of the spam, learned already; the empty file fails again.
		put(t, filepath.Join(md, ".LearnAsSpam", "cur"), "3.M3P3.host:2,S", msg(1, "spam"))
		if _, err := w.Pass(context.Background()); err != nil {
			t.Fatal(err)
		}
		want = map[string]int{"spam/" + ResultAlready: 1, "ham/" + ResultFailed: 1}
		if got := c.take(); !sameCounts(got, want) {
			t.Errorf("second pass: %v, want %v", got, want)
		}

		// Without a callback a pass works as before.
		w = New(testConfig(root), &bayes.Learner{DB: bayes.NewDB(s)}, nil)
		if _, err := w.Pass(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
