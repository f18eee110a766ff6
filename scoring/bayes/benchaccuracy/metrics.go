package main

import (
	"math"
	"sort"
)

// scored is one test message's score under one system.
type scored struct {
	Spam  bool
	Group string
	Score float64
}

// auc is the area under the ROC curve by the Mann-Whitney statistic: the
// chance that a random spam scores above a random ham, ties counting half.
func auc(list []scored) float64 {
	s := append([]scored(nil), list...)
	sort.Slice(s, func(i, j int) bool { return s[i].Score < s[j].Score })
	var nSpam, nHam float64
	for _, x := range s {
		if x.Spam {
			nSpam++
		} else {
			nHam++
		}
	}
	if nSpam == 0 || nHam == 0 {
		return math.NaN()
	}
	// Rank sum of the spam with average ranks for ties.
	var rankSum float64
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j].Score == s[i].Score {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if s[k].Spam {
				rankSum += avg
			}
		}
		i = j
	}
	return (rankSum - nSpam*(nSpam+1)/2) / (nSpam * nHam)
}

// rates returns the false-positive rate (ham at or above the threshold),
// per ham group, and the false-negative rate (spam below it).
func rates(list []scored, threshold float64) (fp float64, fpGroup map[string][2]int, fn float64) {
	fpGroup = make(map[string][2]int)
	var nSpam, nHam, fps, fns int
	for _, x := range list {
		if x.Spam {
			nSpam++
			if x.Score < threshold {
				fns++
			}
			continue
		}
		nHam++
		g := fpGroup[x.Group]
		g[1]++
		if x.Score >= threshold {
			fps++
			g[0]++
		}
		fpGroup[x.Group] = g
	}
	return float64(fps) / float64(nHam), fpGroup, float64(fns) / float64(nSpam)
}

// caughtAtFP returns the share of spam caught with the threshold set as low
// as possible while at most maxFP of the ham score at or above it.
func caughtAtFP(list []scored, maxFP float64) (caught, threshold float64) {
	var hams, spams []float64
	for _, x := range list {
		if x.Spam {
			spams = append(spams, x.Score)
		} else {
			hams = append(hams, x.Score)
		}
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(hams)))
	allowed := int(math.Floor(maxFP * float64(len(hams))))
	// The threshold must be above the (allowed+1)-th highest ham score.
	threshold = math.Inf(-1)
	if allowed < len(hams) {
		threshold = math.Nextafter(hams[allowed], math.Inf(1))
	}
	n := 0
	for _, s := range spams {
		if s >= threshold {
			n++
		}
	}
	return float64(n) / float64(len(spams)), threshold
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
