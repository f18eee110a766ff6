//go:build bench

package rules

import (
	"sort"
	"testing"

	"github.com/mailwarden/mailwarden/scoring"
)

// TestCorpusReport logs how the default rules alone separate the corpus
// (information for BENCHMARKS.md; the Bayes check does the heavy lifting).
// It builds only with -tags bench: go test -tags bench -v -run TestCorpusReport ./scoring/rules
func TestCorpusReport(t *testing.T) {
	msgs := loadCorpus(t, corpusDir(t), corpusFolders)
	e := scorerEngine(t)
	var spam, ham, spamTag, hamTag int
	hits := map[string][2]int{}
	for _, cm := range msgs {
		v := scoreOne(e, cm.m)
		tagged := v.Action >= scoring.Tag
		if cm.spam {
			spam++
			if tagged {
				spamTag++
			}
		} else {
			ham++
			if tagged {
				hamTag++
			}
		}
		for _, s := range v.Symbols {
			h := hits[s.Name]
			if cm.spam {
				h[0]++
			} else {
				h[1]++
			}
			hits[s.Name] = h
		}
	}
	t.Logf("default rules alone, tag level 4: spam tagged %d/%d, ham tagged %d/%d", spamTag, spam, hamTag, ham)
	var names []string
	for n := range hits {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("%-26s spam %4d  ham %4d", n, hits[n][0], hits[n][1])
	}
}
