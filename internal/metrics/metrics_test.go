package metrics_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/metrics"
	"github.com/mailwarden/mailwarden/internal/testenv"
	"github.com/mailwarden/mailwarden/scoring"
)

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// value returns a sample's value from exposition text (0 when absent).
func value(t *testing.T, text, series string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+-]+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func TestObserveCounts(t *testing.T) {
	m := metrics.New()
	tx := &scoring.Transaction{Profile: scoring.ProfileRemote}
	m.Observe(context.Background(), tx, &scoring.Verdict{Action: scoring.Tag, Score: 5, Symbols: []scoring.Symbol{{Name: "A"}, {Name: "A"}}})
	m.Observe(context.Background(), tx, &scoring.Verdict{Action: scoring.Reject, Forced: &scoring.Forced{Check: "virus"}})
	m.CheckDone("spf", scoring.StageMail, time.Millisecond, "ok")
	var sb strings.Builder
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		sb.WriteString(f.String())
	}
	text := sb.String()
	for _, want := range []string{`name:"mailwarden_messages_total"`, `value:"virus"`, `name:"mailwarden_check_duration_seconds"`} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s", want)
		}
	}
}

// TestMetricsAfterTraffic sends messages through a real daemon with a go
// milter client (as Postfix would) and checks the scraped counters.
func TestMetricsAfterTraffic(t *testing.T) {
	d := testenv.StartDaemon(t, `
[server]
milter_listen = "{{MILTER}}"
metrics_listen = "{{METRICS}}"
state_dir = "{{STATE}}"
# The client is local, so only the checks run for that profile apply
# (inbound DNS checks would need a DNS server here).
[profiles]
local_networks = ["192.0.2.0/24"]
[basic_headers]
action = "reject"
profiles = ["local"]
[spam]
tag_level = 0.5
`)
	url := "http://" + d.MetricsAddr + "/metrics"
	before := scrape(t, url)
	const good, bad = 5, 3
	for i := 0; i < good; i++ {
		testenv.MilterSend(t, d.MilterAddr, "192.0.2.1", [][2]string{{"From", " a@example.com"}, {"Date", " Wed, 25 Nov 2026 10:00:00 +0000"}}, "hi\r\n")
	}
	for i := 0; i < bad; i++ {
		testenv.MilterSend(t, d.MilterAddr, "192.0.2.1", [][2]string{{"From", " a@example.com"}}, "hi\r\n")
	}
	after := scrape(t, url)
	diff := func(series string) float64 { return value(t, after, series) - value(t, before, series) }
	if got := diff(`mailwarden_messages_total{action="accept",profile="local"}`); got != good {
		t.Errorf("accepted: %v, want %d", got, good)
	}
	if got := diff(`mailwarden_messages_total{action="reject",profile="local"}`); got != bad {
		t.Errorf("rejected: %v, want %d", got, bad)
	}
	if got := diff(`mailwarden_refusals_total{check="basic_headers"}`); got != bad {
		t.Errorf("refusals by basic_headers: %v, want %d", got, bad)
	}
	if got := diff(`mailwarden_symbols_total{symbol="MISSING_DATE"}`); got != bad {
		t.Errorf("MISSING_DATE: %v, want %d", got, bad)
	}
	if got := diff(`mailwarden_score_count`); got != good+bad {
		t.Errorf("score observations: %v, want %d", got, good+bad)
	}
	if !strings.Contains(after, `mailwarden_check_duration_seconds_count{check="basic_headers",outcome="ok",stage="headers"}`) {
		t.Error("no check latency for basic_headers")
	}
	for _, name := range []string{"mailwarden_dns_queries_total", "mailwarden_bayes_learned", "process_resident_memory_bytes"} {
		if !strings.Contains(after, name) {
			t.Errorf("no %s", name)
		}
	}
}
