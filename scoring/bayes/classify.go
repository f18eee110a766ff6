package bayes

import (
	"math"
	"sort"
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
	clues := make([]Clue, 0, len(counts))
	for i, c := range counts {
		f := p.TokenProb(c, nspam, nham)
		if math.Abs(f-0.5) < p.MinStrength {
			continue
		}
		cl := Clue{Prob: f}
		if toks != nil {
			cl.Token = toks[i]
		}
		clues = append(clues, cl)
	}
	sort.Slice(clues, func(i, j int) bool {
		di, dj := math.Abs(clues[i].Prob-0.5), math.Abs(clues[j].Prob-0.5)
		if di != dj {
			return di > dj
		}
		return clues[i].Token < clues[j].Token
	})
	if p.MaxTokens > 0 && len(clues) > p.MaxTokens {
		clues = clues[:p.MaxTokens]
	}
	probs := make([]float64, len(clues))
	for i, c := range clues {
		probs[i] = c.Prob
	}
	return Combine(probs), clues
}
