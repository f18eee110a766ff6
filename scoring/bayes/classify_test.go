package bayes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-4 }

func TestChi2Q(t *testing.T) {
	tests := []struct {
		name string
		x2   float64
		v    int
		want float64
	}{
		{"zero is certain", 0, 2, 1},
		{"v=2 is e^-m", 2, 2, math.Exp(-1)},
		{"v=4 is e^-m(1+m)", 4, 4, math.Exp(-2) * 3},
		{"v=6 is e^-m(1+m+m²/2)", 6, 6, math.Exp(-3) * (1 + 3 + 4.5)},
		{"huge statistic underflows to 0", 5000, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chi2Q(tt.x2, tt.v); !near(got, tt.want) {
				t.Errorf("chi2Q(%v, %d) = %v, want %v", tt.x2, tt.v, got, tt.want)
			}
		})
	}
}

func TestTokenProb(t *testing.T) {
	p := DefaultParams
	tests := []struct {
		name          string
		c             Counts
		nspam, nham   uint64
		want          float64
		wantAboveHalf bool
	}{
		// n=1, p(w)=1: (0.45·0.5 + 1) / 1.45
		{"one spam only", Counts{Spam: 1}, 1, 1, 1.225 / 1.45, true},
		// p(w) = 0.5/(0.5+1) = 1/3; n = 4: (0.225 + 4/3) / 4.45
		{"ratios, not raw counts", Counts{Spam: 2, Ham: 2}, 4, 2, (0.225 + 4.0/3) / 4.45, false},
		{"never seen is x", Counts{}, 10, 10, 0.5, false},
		{"no ham learned yet", Counts{Spam: 3}, 3, 0, (0.225 + 3) / 3.45, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.TokenProb(tt.c, tt.nspam, tt.nham)
			if !near(got, tt.want) {
				t.Errorf("TokenProb = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCombine(t *testing.T) {
	tests := []struct {
		name  string
		probs []float64
		want  float64
		cmp   string // "eq", "gt", "lt"
	}{
		{"no evidence", nil, 0.5, "eq"},
		// With one clue Fisher's method gives the clue back:
		// chi2Q(-2 ln(1-f), 2) = 1-f.
		{"one clue is itself", []float64{0.99}, 0.99, "eq"},
		{"one hammy clue", []float64{0.1}, 0.1, "eq"},
		{"symmetric evidence cancels", []float64{0.2, 0.8}, 0.5, "eq"},
		{"two strong spam clues beat one", []float64{0.99, 0.99}, 0.99, "gt"},
		{"mostly hammy", []float64{0.01, 0.02, 0.9}, 0.5, "lt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Combine(tt.probs)
			switch tt.cmp {
			case "eq":
				if !near(got, tt.want) {
					t.Errorf("Combine(%v) = %v, want %v", tt.probs, got, tt.want)
				}
			case "gt":
				if got <= tt.want {
					t.Errorf("Combine(%v) = %v, want > %v", tt.probs, got, tt.want)
				}
			case "lt":
				if got >= tt.want {
					t.Errorf("Combine(%v) = %v, want < %v", tt.probs, got, tt.want)
				}
			}
		})
	}
}

func TestClassifySelectsStrongTokens(t *testing.T) {
	p := Params{S: 0.45, X: 0.5, MinStrength: 0.1, MaxTokens: 2}
	toks := []string{"weak", "spammy", "hammy", "spammier"}
	counts := []Counts{
		{Spam: 5, Ham: 5},  // 0.5: below MinStrength, ignored
		{Spam: 10, Ham: 1}, // strong spam
		{Spam: 0, Ham: 3},  // hammy
		{Spam: 40, Ham: 0}, // strongest
	}
	prob, clues := p.Classify(toks, counts, 50, 50)
	if len(clues) != 2 {
		t.Fatalf("clues = %v, want the 2 strongest", clues)
	}
	// f(spammier) = (0.225+40)/40.45 = 0.994; f(hammy) = 0.225/3.45 = 0.065;
	// f(spammy) = (0.225 + 11·10/11)/11.45 = 0.893 is third.
	if clues[0].Token != "spammier" || clues[1].Token != "hammy" {
		t.Errorf("clues = %v, want spammier then hammy", clues)
	}
	for _, c := range clues {
		if c.Token == "weak" {
			t.Errorf("a token within MinStrength of 0.5 was used")
		}
	}
	if want := Combine([]float64{40.225 / 40.45, 0.225 / 3.45}); !near(prob, want) {
		t.Errorf("prob = %v, want %v", prob, want)
	}
}

func TestSymbolFor(t *testing.T) {
	tests := []struct {
		p    float64
		want string
	}{
		{0, Sym00}, {0.0099, Sym00}, {0.01, Sym05}, {0.049, Sym05}, {0.05, Sym20},
		{0.3, Sym40}, {0.5, Sym50}, {0.7, Sym60}, {0.9, Sym80}, {0.96, Sym95},
		{0.99, Sym99}, {1, Sym99},
	}
	for _, tt := range tests {
		if got := SymbolFor(tt.p); got != tt.want {
			t.Errorf("SymbolFor(%v) = %s, want %s", tt.p, got, tt.want)
		}
	}
}

// TestClassifyPicksTheStrongest checks the selection of clues against a
// plain full sort, on random counts with many ties in strength.
func TestClassifyPicksTheStrongest(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for round := 0; round < 200; round++ {
		n := r.IntN(700)
		toks := make([]string, n)
		counts := make([]Counts, n)
		for i := range counts {
			toks[i] = fmt.Sprintf("t%03d", r.IntN(400)) // duplicates on purpose
			counts[i] = Counts{Spam: uint32(r.IntN(6)), Ham: uint32(r.IntN(6))}
		}
		p := DefaultParams
		p.MaxTokens = 1 + r.IntN(200)
		_, got := p.Classify(toks, counts, 100, 100)

		var want []candidate
		for i, c := range counts {
			f := p.TokenProb(c, 100, 100)
			if d := math.Abs(f - 0.5); d >= p.MinStrength {
				want = append(want, candidate{strength: d, index: i, clue: Clue{Token: toks[i], Prob: f}})
			}
		}
		slices.SortFunc(want, candidate.compare)
		if len(want) > p.MaxTokens {
			want = want[:p.MaxTokens]
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: %d clues, want %d", round, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i].clue {
				t.Fatalf("round %d: clue %d = %+v, want %+v", round, i, got[i], want[i].clue)
			}
		}
	}
}

// BenchmarkClassify is the combining step alone for messages of 300, 1500
// and 6000 (MaxTokens) distinct tokens.
func BenchmarkClassify(b *testing.B) {
	for _, n := range []int{300, 1500, MaxTokens} {
		r := rand.New(rand.NewPCG(1, 2))
		toks := make([]string, n)
		cs := make([]Counts, n)
		for i := range cs {
			toks[i] = fmt.Sprintf("tok%d", i)
			cs[i] = Counts{Spam: uint32(r.IntN(50)), Ham: uint32(r.IntN(50))}
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				DefaultParams.Classify(toks, cs, 1000, 2000)
			}
		})
	}
}

// TestSelectTopFallback: however few partitioning rounds selectTop gets
// before it falls back to sorting (the bound that keeps a crafted token
// order from making it quadratic), the first k are the k strongest.
func TestSelectTopFallback(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for round := 0; round < 300; round++ {
		n := 1 + r.IntN(500)
		k := 1 + r.IntN(n)
		c := make([]candidate, n)
		for i := range c {
			c[i] = candidate{strength: float64(r.IntN(4)) / 10, index: i} // many ties
		}
		r.Shuffle(n, func(i, j int) { c[i], c[j] = c[j], c[i] })
		want := slices.Clone(c)
		slices.SortFunc(want, candidate.compare)
		selectTopRounds(c, k, r.IntN(4))
		got := slices.Clone(c[:k])
		slices.SortFunc(got, candidate.compare)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("round %d (n=%d k=%d): clue %d = %+v, want %+v", round, n, k, i, got[i], want[i])
			}
		}
	}
}
