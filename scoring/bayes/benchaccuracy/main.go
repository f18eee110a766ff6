// Command benchaccuracy measures mailwarden's Bayes on the SpamAssassin
// public corpus (see ../shared/testdata/corpus): a fixed, seeded split with
// no message and no near-duplicate on both sides, mailwarden's Bayes trained
// on one side and judging the other, alone and with the default rules, and
// SpamAssassin (its Bayes trained by sa-learn on the same messages, network
// tests off) scoring the same split in the same run. It prints a Markdown
// report: FP and FN rates at the default levels, (1-AUC)%, spam caught at
// 0.1 % ham false positives, learning rate, classification time and store
// size. Run it through `make bench-accuracy` (scripts/bench-accuracy.sh).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/benchutil"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/mime"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/scoring/bayes"
)

func main() {
	corpus := flag.String("corpus", "", "corpus folder made by fetch-sa-corpus.sh (with index.tsv)")
	work := flag.String("work", "", "work folder (store, SpamAssassin files); default a temp dir")
	seed := flag.Uint64("seed", 20021204, "split seed")
	testFrac := flag.Float64("test", 0.4, "share of duplicate clusters held out for testing")
	bigrams := flag.Bool("bigrams", false, "tokenize sparse bigrams (the [bayes] bigrams key; default off as in the config)")
	sa := flag.Bool("sa", true, "also train and run SpamAssassin (spamd/spamc, sa-learn)")
	tune := flag.Bool("tune", false, "train in memory and print accuracy for a grid of classifier constants, then exit")
	grid := flag.Bool("grid", true, "with -tune: a grid of constants; false: the defaults only (seconds; the quick loop for tokenizer changes)")
	params := flag.String("params", "", "with -tune -grid=false: classifier constants S,X,min_strength,max_tokens instead of the defaults (SpamAssassin's are 0.03,0.538,0.346,150)")
	explain := flag.String("explain", "", "with -tune: print the strongest clues of the test messages whose path contains this, then exit")
	rulesDir := flag.String("rules", "contrib/rules", "the default rules for the full score (Bayes + default rules)")
	flag.Parse()
	if *corpus == "" {
		fmt.Fprintln(os.Stderr, "usage: benchaccuracy -corpus DIR [-work DIR] [-sa=false]")
		os.Exit(2)
	}
	if *work == "" {
		d, err := os.MkdirTemp("", "bench-accuracy-")
		if err != nil {
			fatal(err)
		}
		*work = d
	}
	if err := os.MkdirAll(*work, 0o755); err != nil {
		fatal(err)
	}
	if *params != "" && (!*tune || *grid) {
		fatal(fmt.Errorf("-params needs -tune -grid=false"))
	}
	r := &run{work: *work, tok: bayes.Tokenizer{Bigrams: *bigrams}, out: os.Stdout, rulesDir: *rulesDir, tuneOnly: *tune, grid: *grid, params: *params, explain: *explain}
	if err := r.main(*corpus, *seed, *testFrac, *sa); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchaccuracy:", err)
	os.Exit(1)
}

type run struct {
	work     string
	tok      bayes.Tokenizer
	out      io.Writer
	rulesDir string
	tuneOnly bool
	grid     bool
	params   string
	explain  string

	train, test []*sample
	systems     []system
	notes       []string
}

// system is one scorer's results on the test side.
type system struct {
	Name      string
	Scores    []scored
	Threshold float64 // the default level
	Level     string  // how the level is named
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func (r *run) main(corpus string, seed uint64, testFrac float64, withSA bool) error {
	logf("loading %s", corpus)
	samples, err := loadCorpus(corpus)
	if err != nil {
		return err
	}
	dc, dm := split(samples, seed, testFrac)
	for _, s := range samples {
		if s.Test {
			r.test = append(r.test, s)
		} else {
			r.train = append(r.train, s)
		}
	}
	count := func(list []*sample) (spam, ham int) {
		for _, s := range list {
			if s.Spam {
				spam++
			} else {
				ham++
			}
		}
		return
	}
	trs, trh := count(r.train)
	tes, teh := count(r.test)
	r.notes = append(r.notes, fmt.Sprintf("corpus: %d messages; %d near-duplicate clusters holding %d messages kept whole on one side; seed %d",
		len(samples), dc, dm, seed))
	r.notes = append(r.notes, fmt.Sprintf("train: %d spam + %d ham; test: %d spam + %d ham", trs, trh, tes, teh))
	logf("split: train %d spam %d ham, test %d spam %d ham (%d dup clusters, %d msgs)", trs, trh, tes, teh, dc, dm)

	if r.tuneOnly {
		r.tune()
		return nil
	}
	if err := r.mailwarden(); err != nil {
		return err
	}
	if withSA {
		if err := r.spamassassin(); err != nil {
			r.notes = append(r.notes, "SpamAssassin run failed: "+err.Error())
			logf("spamassassin: %v", err)
		}
	}
	r.report()
	return nil
}

func (r *run) mailwarden() error {
	ctx := context.Background()
	dir := filepath.Join(r.work, "mailwarden")
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, "state.db")
	st, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		return err
	}
	defer st.Close()
	db := bayes.NewDB(st)
	l := &bayes.Learner{DB: db, Tokenizer: r.tok}

	// Learning rate: parse, tokenize and learn (fsync'd commits, 50
	// messages per transaction as `mailwarden learn` does).
	const batch = 50
	start, cpu0 := time.Now(), benchutil.CPUTime()
	var items []bayes.Item
	flush := func() error {
		if len(items) == 0 {
			return nil
		}
		_, err := l.Learn(ctx, items)
		items = items[:0]
		return err
	}
	for _, s := range r.train {
		m, err := message.Parse(bytes.NewReader(s.Raw), 1<<30, "")
		if err != nil {
			return err
		}
		class := bayes.Ham
		if s.Spam {
			class = bayes.Spam
		}
		it, err := l.Prepare(m, class)
		if err != nil {
			return err
		}
		items = append(items, it)
		if len(items) >= batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	el, cpuLearn := time.Since(start), benchutil.CPUTime()-cpu0
	stats, err := db.Stats(ctx)
	if err != nil {
		return err
	}
	st.Close()
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	rate := float64(len(r.train)) / el.Seconds()
	per10k := float64(fi.Size()) / float64(len(r.train)) * 10000
	r.notes = append(r.notes,
		fmt.Sprintf("mailwarden learning: %d messages in %.2fs = %.0f msgs/s wall clock (embedded store, fsync'd, batches of %d; parse+tokenize+learn); CPU %.2f ms per message = %.0f msgs/s per CPU second; load average during the run %s",
			len(r.train), el.Seconds(), rate, batch, cpuLearn.Seconds()*1000/float64(len(r.train)), float64(len(r.train))/cpuLearn.Seconds(), benchutil.LoadAvg()),
		fmt.Sprintf("mailwarden store: %d tokens, file %.1f MB = %.1f MB per 10k messages learned", stats.NTokens, float64(fi.Size())/1e6, per10k/1e6))
	logf("learned %d in %s (%.0f/s); %d tokens", len(r.train), el, rate, stats.NTokens)

	st2, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		return err
	}
	defer st2.Close()
	chk := bayes.New(bayes.Config{MinSpam: bayes.DefaultMin, MinHam: bayes.DefaultMin, Tokenizer: r.tok}, bayes.NewDB(st2), nil)
	var sys system
	sys.Name = "mailwarden Bayes alone (probability)"
	sys.Threshold, sys.Level = 0.9, "p ≥ 0.9"
	// Per message: the MIME walk (in the daemon shared with the other
	// checks, mime.Get), then what Bayes itself adds: tokenizing, the store
	// lookup and the combining.
	var decode, tokenize, classify, adds []float64
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	var bsym system
	bsym.Name = "mailwarden Bayes alone (BAYES_xx symbol score)"
	cpuC0 := benchutil.CPUTime()
	for _, s := range r.test {
		t0 := time.Now()
		parsed := mime.ParseMessage(s.Msg)
		t1 := time.Now()
		toks := r.tok.Tokens(bayes.FromParsed(s.Msg.Header.Fields, parsed))
		hashes := bayes.Hashes(toks)
		t2 := time.Now()
		j, err := chk.Classify(ctx, toks, hashes)
		if err != nil {
			return err
		}
		t3 := time.Now()
		decode, tokenize = append(decode, ms(t1.Sub(t0))), append(tokenize, ms(t2.Sub(t1)))
		classify, adds = append(classify, ms(t3.Sub(t2))), append(adds, ms(t3.Sub(t1)))
		sys.Scores = append(sys.Scores, scored{Spam: s.Spam, Group: s.Group, Score: j.Prob})
		w := symbolScore(j.Prob)
		bsym.Scores = append(bsym.Scores, scored{Spam: s.Spam, Group: s.Group, Score: w})
	}
	cpuClass := benchutil.CPUTime() - cpuC0
	r.notes = append(r.notes, fmt.Sprintf("mailwarden classification per message: what Bayes adds in the daemon (tokenizing + store lookup + combining) median %.3f ms, p99 %.3f ms, max %.2f ms; of which lookup + combining median %.3f ms, p99 %.3f ms; the MIME walk before it, shared with the other checks: median %.2f ms, p99 %.2f ms; CPU for all of it %.2f ms per message; load average %s",
		percentile(adds, 0.5), percentile(adds, 0.99), percentile(adds, 1), percentile(classify, 0.5), percentile(classify, 0.99),
		percentile(decode, 0.5), percentile(decode, 0.99), cpuClass.Seconds()*1000/float64(len(r.test)), benchutil.LoadAvg()))
	r.systems = append(r.systems, sys)
	bsym.Threshold, bsym.Level = 3.0, "BAYES_95 or above (≥ 3.0)"
	r.systems = append(r.systems, bsym)
	if err := r.fullScore(path); err != nil {
		r.notes = append(r.notes, "mailwarden full score not measured: "+err.Error())
		logf("full score: %v", err)
	}
	return nil
}

func symbolScore(p float64) float64 {
	w := 0.0
	name := bayes.SymbolFor(p)
	for _, d := range bayes.Symbols() {
		if d.Name == name || (d.Name == bayes.Sym999 && p >= 0.999) {
			w += d.Weight
		}
	}
	return w
}

// writeScores saves every system's score per test message (scores.tsv in
// the work folder), for later analysis against the same split.
func (r *run) writeScores() {
	var b strings.Builder
	b.WriteString("path\tlabel")
	for _, s := range r.systems {
		b.WriteString("\t" + s.Name)
	}
	b.WriteString("\n")
	for i, t := range r.test {
		label := "ham"
		if t.Spam {
			label = "spam"
		}
		b.WriteString(t.Path + "\t" + label)
		for _, s := range r.systems {
			if i < len(s.Scores) {
				fmt.Fprintf(&b, "\t%g", s.Scores[i].Score)
			}
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(filepath.Join(r.work, "scores.tsv"), []byte(b.String()), 0o644); err != nil {
		logf("scores.tsv: %v", err)
	}
}

func (r *run) report() {
	r.writeScores()
	w := r.out
	fmt.Fprintf(w, "\n### Run of %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	for _, n := range r.notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	fmt.Fprintf(w, "\n| system | (1-AUC)%% | level | FP rate (easy_ham / hard_ham) | FN rate | spam caught at ≤0.1%% FP |\n|---|---|---|---|---|---|\n")
	for _, s := range r.systems {
		a := auc(s.Scores)
		fp, groups, fn := rates(s.Scores, s.Threshold)
		var gs []string
		names := make([]string, 0, len(groups))
		for g := range groups {
			names = append(names, g)
		}
		sort.Strings(names)
		for _, g := range names {
			c := groups[g]
			gs = append(gs, fmt.Sprintf("%s %d/%d", g, c[0], c[1]))
		}
		caught, _ := caughtAtFP(s.Scores, 0.001)
		fmt.Fprintf(w, "| %s | %.3f | %s | %.2f%% (%s) | %.2f%% | %.1f%% |\n",
			s.Name, (1-a)*100, s.Level, fp*100, strings.Join(gs, ", "), fn*100, caught*100)
	}
}
