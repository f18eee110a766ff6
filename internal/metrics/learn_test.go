package metrics_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/metrics"
	"github.com/mailwarden/mailwarden/internal/testenv"
	"github.com/mailwarden/mailwarden/learn"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/virus"
)

// TestLearned: each Learned call is one sample of
// mailwarden_learn_messages_total{class,result}.
func TestLearned(t *testing.T) {
	m := metrics.New()
	m.Learned("spam", learn.ResultLearned)
	m.Learned("spam", learn.ResultLearned)
	m.Learned("ham", learn.ResultLearned)
	m.Learned("ham", learn.ResultFailed)
	(*metrics.Metrics)(nil).Learned("spam", learn.ResultLearned) // no metrics: a no-op

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	text := scrape(t, srv.URL)
	for series, want := range map[string]float64{
		`mailwarden_learn_messages_total{class="spam",result="learned"}`: 2,
		`mailwarden_learn_messages_total{class="ham",result="learned"}`:  1,
		`mailwarden_learn_messages_total{class="ham",result="failed"}`:   1,
	} {
		if got := value(t, text, series); got != want {
			t.Errorf("%s = %v, want %v\n%s", series, got, want, text)
		}
	}
}

// TestLearnWatcherMetricsAfterPass: the daemon gives its watcher the
// metrics, so a pass over a LearnAsSpam and a LearnAsHam message shows in
// the scrape.
func TestLearnWatcherMetricsAfterPass(t *testing.T) {
	root := t.TempDir()
	md := filepath.Join(root, "users", "alice", "Maildir")
	for _, f := range []struct{ dir, name, body string }{
		{filepath.Join(md, ".LearnAsSpam", "new"), "1.s.host",
			"From: Deals <deals@cheap-pills.example>\nSubject: Cheap pills\nMessage-ID: <s1@cheap-pills.example>\n\nBuy cheap pills now, huge discount.\n"},
		{filepath.Join(md, ".LearnAsHam", "cur"), "2.h.host:2,S",
			"From: Alice <alice@colleague.example>\nSubject: Meeting notes\nMessage-ID: <h1@colleague.example>\n\nHere are the notes from the project review.\n"},
	} {
		if err := os.MkdirAll(f.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(f.dir, f.name), []byte(f.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := testenv.StartDaemon(t, fmt.Sprintf(`
[server]
milter_listen = "{{MILTER}}"
metrics_listen = "{{METRICS}}"
state_dir = "{{STATE}}"
[bayes]
autolearn = false
[bayes.learn]
maildirs = [%q]
interval = "10s"
`, filepath.Join(root, "users", "*", "Maildir")))
	url := "http://" + d.MetricsAddr + "/metrics"
	spam := `mailwarden_learn_messages_total{class="spam",result="learned"}`
	ham := `mailwarden_learn_messages_total{class="ham",result="learned"}`
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The watcher's first pass runs at start.
		text := scrape(t, url)
		if value(t, text, spam) == 1 && value(t, text, ham) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no learn counts after 30s; want %s 1 and %s 1 in:\n%s", spam, ham, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClamdErrors: a verdict carrying CLAM_FAIL (clamd could not scan) is
// one mailwarden_clamd_errors_total; other verdicts are not.
func TestClamdErrors(t *testing.T) {
	m := metrics.New()
	ctx := context.Background()
	tx := &scoring.Transaction{Profile: scoring.ProfileRemote}
	m.Observe(ctx, tx, &scoring.Verdict{Action: scoring.Tempfail, Symbols: []scoring.Symbol{{Name: virus.SymFail, Score: 1}}})
	m.Observe(ctx, tx, &scoring.Verdict{Action: scoring.Accept})
	m.Observe(ctx, tx, &scoring.Verdict{Action: scoring.Reject, Symbols: []scoring.Symbol{{Name: virus.SymVirus}}})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	if got := value(t, scrape(t, srv.URL), "mailwarden_clamd_errors_total"); got != 1 {
		t.Fatalf("mailwarden_clamd_errors_total = %v, want 1", got)
	}
}
