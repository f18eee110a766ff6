package main

import (
	"fmt"

	"github.com/mailwarden/mailwarden/scoring/bayes"
)

// tune trains in memory on the train side and prints (1-AUC)% on the test
// side for a grid of classifier constants: how DefaultParams were checked.
// It never touches the store.
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
	for _, S := range []float64{0.1, 0.25, 0.45, 1} {
		for _, ms := range []float64{0.05, 0.1, 0.2, 0.3} {
			for _, mt := range []int{50, 150, 400} {
				p := bayes.Params{S: S, X: 0.5, MinStrength: ms, MaxTokens: mt}
				var sc []scored
				for i, s := range r.test {
					cs := make([]bayes.Counts, len(te[i].h))
					for j, h := range te[i].h {
						cs[j] = counts[h]
					}
					prob, _ := p.Classify(nil, cs, nspam, nham)
					sc = append(sc, scored{Spam: s.Spam, Group: s.Group, Score: prob})
				}
				fp, _, fn := rates(sc, 0.9)
				caught, _ := caughtAtFP(sc, 0.001)
				fmt.Printf("S=%.2f min=%.2f max=%d  (1-AUC)%%=%.3f  FP@0.9=%.2f%% FN@0.9=%.2f%% caught@0.1%%FP=%.1f%%\n",
					S, ms, mt, (1-auc(sc))*100, fp*100, fn*100, caught*100)
			}
		}
	}
}
