package bayes

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"strings"
)

// Params are the constants of Robinson's token probability and of the
// chi-square combining. The defaults are SpamBayes's, which SpamAssassin's
// and Bogofilter's differ from only slightly.
type Params struct {
	// S is the strength of the prior x for rarely seen tokens
	// (SpamBayes unknown_word_strength 0.45).
	S float64
	// X is the probability assumed for a token never seen (0.5).
	X float64
	// MinStrength: tokens whose probability is within this distance of 0.5
	// are ignored as noise (SpamBayes minimum_prob_strength 0.1).
	MinStrength float64
	// MaxTokens is the number of most significant tokens combined
	// (SpamBayes max_discriminators, SpamAssassin N_SIGNIFICANT_TOKENS: 150).
	MaxTokens int
}

// DefaultParams are the constants used unless configured otherwise.
var DefaultParams = Params{S: 0.45, X: 0.5, MinStrength: 0.1, MaxTokens: 150}

// Counts is how many spam and ham messages a token was learned from.
type Counts struct {
	Spam, Ham uint32
}

// TokenProb is Robinson's f(w): the probability that a message containing
// the token is spam, pulled towards X for tokens seen in few messages.
//
//	p(w) = (spam(w)/nspam) / (spam(w)/nspam + ham(w)/nham)
//	f(w) = (S·X + n·p(w)) / (S + n),   n = spam(w) + ham(w)
func (p Params) TokenProb(c Counts, nspam, nham uint64) float64 {
	var sr, hr float64
	if nspam > 0 {
		sr = float64(c.Spam) / float64(nspam)
	}
	if nham > 0 {
		hr = float64(c.Ham) / float64(nham)
	}
	n := float64(c.Spam) + float64(c.Ham)
	if sr+hr == 0 {
		return p.X
	}
	pw := sr / (sr + hr)
	return (p.S*p.X + n*pw) / (p.S + n)
}

// Combine is Fisher's method as SpamBayes applies it ("chi-combining"): the
// spam and ham evidence are each judged by how unlikely their product would
// be by chance, and the result is (1 + S - H) / 2. It returns 0.5 for no
// evidence.
func Combine(probs []float64) float64 {
	n := len(probs)
	if n == 0 {
		return 0.5
	}
	var lnS, lnH float64 // ln Π(1-f), ln Π f
	for _, f := range probs {
		lnS += math.Log(1 - f)
		lnH += math.Log(f)
	}
	s := 1 - chi2Q(-2*lnS, 2*n)
	h := 1 - chi2Q(-2*lnH, 2*n)
	return (s - h + 1) / 2
}

// chi2Q returns the probability that a chi-square variable with v (even)
// degrees of freedom is at least x2: the series e^-m Σ m^i/i! for i < v/2.
func chi2Q(x2 float64, v int) float64 {
	m := x2 / 2
	sum := math.Exp(-m)
	term := sum
	for i := 1; i < v/2; i++ {
		term *= m / float64(i)
		sum += term
	}
	return math.Min(sum, 1)
}

// Clue is one token's contribution to a verdict.
type Clue struct {
	Token string
	Prob  float64
}

// Classify turns the counts of a message's tokens into a spam probability:
// token probabilities, the MaxTokens strongest beyond MinStrength, combined.
// toks and counts are parallel; toks may be nil (clues then have no text).
// It returns the probability and the clues used, strongest first.
func (p Params) Classify(toks []string, counts []Counts, nspam, nham uint64) (float64, []Clue) {
	cands := make([]candidate, 0, len(counts))
	for i, c := range counts {
		f := p.TokenProb(c, nspam, nham)
		d := math.Abs(f - 0.5)
		if d < p.MinStrength {
			continue
		}
		cl := Clue{Prob: f}
		if toks != nil {
			cl.Token = toks[i]
		}
		cands = append(cands, candidate{strength: d, index: i, clue: cl})
	}
	if p.MaxTokens > 0 && len(cands) > p.MaxTokens {
		// Only the strongest MaxTokens are used: select them first
		// (expected linear time), then sort just those; a big message has
		// thousands.
		selectTop(cands, p.MaxTokens)
		cands = cands[:p.MaxTokens]
	}
	slices.SortFunc(cands, candidate.compare)
	clues := make([]Clue, len(cands))
	probs := make([]float64, len(cands))
	for i, c := range cands {
		clues[i], probs[i] = c.clue, c.clue.Prob
	}
	return Combine(probs), clues
}

// candidate is a clue with its strength |f - 0.5| and its place in the
// message's tokens.
type candidate struct {
	strength float64
	index    int
	clue     Clue
}

// compare orders candidates strongest first; equal strengths by token text,
// then by place, so the choice of clues never depends on the sort.
func (a candidate) compare(b candidate) int {
	if a.strength != b.strength {
		return cmp.Compare(b.strength, a.strength)
	}
	if c := strings.Compare(a.clue.Token, b.clue.Token); c != 0 {
		return c
	}
	return cmp.Compare(a.index, b.index)
}

// selectTop reorders c so that its first k elements are the k first in
// candidate.compare order (in no particular order among themselves):
// quickselect with a median-of-three pivot. Token texts, which order equal
// strengths, come from the sender, and a crafted order can drive
// quickselect quadratic; after 2·log2(n)+4 rounds it sorts what is left
// instead, so the cost stays O(n log n) whatever the input.
func selectTop(c []candidate, k int) {
	selectTopRounds(c, k, 2*bits.Len(uint(len(c)))+4)
}

// selectTopRounds is selectTop with the number of partitioning rounds
// before it falls back to sorting.
func selectTopRounds(c []candidate, k, rounds int) {
	lo, hi := 0, len(c)-1
	for lo < hi {
		if rounds--; rounds < 0 {
			slices.SortFunc(c[lo:hi+1], candidate.compare)
			return
		}
		mid := lo + (hi-lo)/2
		// median of three to c[hi] as the pivot
		if c[mid].compare(c[lo]) < 0 {
			c[mid], c[lo] = c[lo], c[mid]
		}
		if c[hi].compare(c[lo]) < 0 {
			c[hi], c[lo] = c[lo], c[hi]
		}
		if c[mid].compare(c[hi]) < 0 {
			c[mid], c[hi] = c[hi], c[mid]
		}
		pivot := c[hi]
		store := lo
		for i := lo; i < hi; i++ {
			if c[i].compare(pivot) < 0 {
				c[i], c[store] = c[store], c[i]
				store++
			}
		}
		c[store], c[hi] = c[hi], c[store]
		switch {
		case store == k || store == k-1:
			return
		case store < k:
			lo = store + 1
		default:
			hi = store - 1
		}
	}
}
