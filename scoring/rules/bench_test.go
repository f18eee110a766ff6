package rules

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/benchutil"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

// corpusDir is the SpamAssassin public corpus fetched by
// ../shared/testdata/corpus/fetch-sa-corpus.sh (SA_CORPUS, default
// /tmp/sa-corpus). Benchmarks and the corpus report skip without it.
func corpusDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("SA_CORPUS")
	if dir == "" {
		dir = "/tmp/sa-corpus"
	}
	if _, err := os.Stat(filepath.Join(dir, "spam")); err != nil {
		tb.Skipf("SpamAssassin corpus not in %s (run ../shared/testdata/corpus/fetch-sa-corpus.sh %s, or set SA_CORPUS)", dir, dir)
	}
	return dir
}

type corpusMsg struct {
	m    *message.Message
	spam bool
}

func loadCorpus(tb testing.TB, dir string, folders map[string]bool) []corpusMsg {
	tb.Helper()
	var out []corpusMsg
	var names []string
	for f := range folders {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		files, _ := filepath.Glob(filepath.Join(dir, f, "*"))
		for _, p := range files {
			fh, err := os.Open(p)
			if err != nil {
				tb.Fatal(err)
			}
			m, err := message.Parse(fh, 64<<20, "")
			fh.Close()
			if err != nil {
				continue
			}
			out = append(out, corpusMsg{m: m, spam: folders[f]})
		}
	}
	return out
}

var corpusFolders = map[string]bool{"easy_ham": false, "easy_ham_2": false, "hard_ham": false, "spam": true, "spam_2": true}

// scorerEngine is the content scorer alone: the default rule set in the
// rules check (as the daemon wires it, with the SME scan size limit).
func scorerEngine(tb testing.TB) *scoring.Engine {
	tb.Helper()
	c := New(Config{Set: loadContrib(tb), ScanSizeLimit: 500000})
	e, err := scoring.New(scoring.Options{Levels: scoring.Levels{TagLevel: 4, RejectLevel: 12, RejectEnabled: true}}, []scoring.Check{c}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func scoreOne(e *scoring.Engine, m *message.Message) *scoring.Verdict {
	tx := &scoring.Transaction{Message: m, MailFrom: "sender@example.com", Rcpts: []string{"user@example.org"}, Start: time.Unix(1041379200, 0), Front: scoring.FrontCheck}
	e.RunStage(context.Background(), scoring.StageHeaders, tx)
	e.RunStage(context.Background(), scoring.StageEOM, tx)
	return e.Verdict(tx)
}

// BenchmarkScorerCorpus scores every corpus message once per iteration
// batch; it reports messages per second and allocations per message.
func BenchmarkScorerCorpus(b *testing.B) {
	msgs := loadCorpus(b, corpusDir(b), corpusFolders)
	for _, mode := range []struct {
		name string
		off  bool
	}{{"prefilter", false}, {"no-prefilter", true}} {
		b.Run(mode.name, func(b *testing.B) {
			noPrefilter = mode.off
			defer func() { noPrefilter = false }()
			e := scorerEngine(b)
			b.ReportAllocs()
			cpu0 := benchutil.CPUTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				scoreOne(e, msgs[i%len(msgs)].m)
			}
			b.StopTimer()
			// On a shared machine wall time mostly measures the others;
			// process CPU time per message is the figure to compare.
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64((benchutil.CPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
		})
	}
}
