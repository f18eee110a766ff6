package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mailwarden/mailwarden/scoring/bayes"
)

// tune trains in memory on the train side and prints (1-AUC)% on the test
// side: for a grid of classifier constants (how DefaultParams were checked),
// or with -grid=false for DefaultParams only (-params for others), which takes a few seconds and
// is the quick loop for tokenizer changes (run it with several -seed
// values). With -explain it prints the strongest clues of chosen test
// messages instead. It never touches the store; it writes the test side's
// probabilities under DefaultParams (or -params) to tune-scores.tsv in the
// work folder.
func (r *run) tune() {
	type tokd struct {
		toks []string
		h    []uint64
	}
	prep := func(list []*sample) []tokd {
		out := make([]tokd, len(list))
		for i, s := range list {
			t := r.tok.Tokens(bayes.Extract(s.Msg))
			out[i] = tokd{t, bayes.Hashes(t)}
		}
		return out
	}
	tr, te := prep(r.train), prep(r.test)
	counts := make(map[uint64]bayes.Counts)
	var nspam, nham uint64
	for i, s := range r.train {
		for _, h := range tr[i].h {
			c := counts[h]
			if s.Spam {
				c.Spam++
			} else {
				c.Ham++
			}
			counts[h] = c
		}
		if s.Spam {
			nspam++
		} else {
			nham++
		}
	}
	countsOf := func(i int) []bayes.Counts {
		cs := make([]bayes.Counts, len(te[i].h))
		for j, h := range te[i].h {
			cs[j] = counts[h]
		}
		return cs
	}
	if r.explain != "" {
		for i, s := range r.test {
			if !strings.Contains(s.Path, r.explain) {
				continue
			}
			cs := countsOf(i)
			prob, clues := bayes.DefaultParams.Classify(te[i].toks, cs, nspam, nham)
			fmt.Printf("%s spam=%v p=%g tokens=%d clues=%d\n", s.Path, s.Spam, prob, len(te[i].toks), len(clues))
			for k, c := range clues {
				if k >= 40 {
					break
				}
				j := slices.Index(te[i].toks, c.Token)
				fmt.Printf("  %.4f  %-50q spam=%d ham=%d\n", c.Prob, c.Token, cs[j].Spam, cs[j].Ham)
			}
		}
		return
	}
	grid := []bayes.Params{bayes.DefaultParams}
	if r.params != "" {
		var p bayes.Params
		if _, err := fmt.Sscanf(r.params, "%g,%g,%g,%d", &p.S, &p.X, &p.MinStrength, &p.MaxTokens); err != nil {
			fatal(fmt.Errorf("-params %q: want S,X,min_strength,max_tokens: %w", r.params, err))
		}
		grid = []bayes.Params{p}
	}
	ref := grid[0] // whose scores go to tune-scores.tsv; the grid holds the defaults
	if r.grid {
		grid = nil
		for _, S := range []float64{0.1, 0.25, 0.45, 1} {
			for _, ms := range []float64{0.05, 0.1, 0.2, 0.3} {
				for _, mt := range []int{50, 150, 400} {
					grid = append(grid, bayes.Params{S: S, X: 0.5, MinStrength: ms, MaxTokens: mt})
				}
			}
		}
	}
	for _, p := range grid {
		var sc []scored
		for i, s := range r.test {
			prob, _ := p.Classify(nil, countsOf(i), nspam, nham)
			sc = append(sc, scored{Spam: s.Spam, Group: s.Group, Score: prob})
		}
		if p == ref {
			r.writeTuneScores(sc)
		}
		fp, _, fn := rates(sc, 0.9)
		caught, _ := caughtAtFP(sc, 0.001)
		fmt.Printf("S=%.3f X=%.3f min=%.3f max=%d  (1-AUC)%%=%.3f  FP@0.9=%.2f%% FN@0.9=%.2f%% caught@0.1%%FP=%.1f%%\n",
			p.S, p.X, p.MinStrength, p.MaxTokens, (1-auc(sc))*100, fp*100, fn*100, caught*100)
	}
}

func (r *run) writeTuneScores(sc []scored) {
	var b strings.Builder
	b.WriteString("path\tlabel\tprob\n")
	for i, x := range sc {
		l := "ham"
		if x.Spam {
			l = "spam"
		}
		fmt.Fprintf(&b, "%s\t%s\t%g\n", r.test[i].Path, l, x.Score)
	}
	if err := os.WriteFile(filepath.Join(r.work, "tune-scores.tsv"), []byte(b.String()), 0o644); err != nil {
		logf("tune-scores.tsv: %v", err)
	}
}
