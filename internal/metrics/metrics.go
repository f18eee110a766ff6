// Package metrics exposes mailwarden's Prometheus metrics on a loopback HTTP
// listener ([server] metrics_listen, e.g. "127.0.0.1:9908"; off when empty).
//
// What is counted, and where it comes from:
//
//	mailwarden_messages_total{action,profile}     every final verdict (engine observer)
//	mailwarden_refusals_total{check}              the check that forced a refusal
//	mailwarden_symbols_total{symbol}              every symbol on a verdict (DNS-list hits, VIRUS_*, BAYES_*, ...)
//	mailwarden_score                              histogram of message scores
//	mailwarden_check_duration_seconds{check,stage,outcome}  per-check latency (engine timer)
//	mailwarden_dns_queries_total, mailwarden_dns_cache_hits_total, mailwarden_dns_errors_total
//	mailwarden_store_errors_total{op}             state store failures (wrapped store)
//	mailwarden_bayes_learned{class}               Bayes nspam / nham (read at scrape)
//	mailwarden_learn_messages_total{class,result} maildir watcher outcomes (class spam|ham,
//	                                              result learned|already|failed: learn.Result*)
//
// It is injected: the daemon builds one Metrics and hands it to the engine
// (as Observer and CheckTimer), the store (Wrap) and the learner.
package metrics

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/virus"
)

// Metrics holds the collectors of one process.
type Metrics struct {
	reg       *prometheus.Registry
	messages  *prometheus.CounterVec
	refusals  *prometheus.CounterVec
	symbols   *prometheus.CounterVec
	score     prometheus.Histogram
	checkDur  *prometheus.HistogramVec
	storeErrs *prometheus.CounterVec
	learn     *prometheus.CounterVec
	clamdErrs prometheus.Counter
}

var (
	_ scoring.Observer   = (*Metrics)(nil)
	_ scoring.CheckTimer = (*Metrics)(nil)
)

// New creates the collectors (and Go runtime and process metrics).
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.messages = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailwarden_messages_total",
		Help: "Messages judged, by final action and peer profile."}, []string{"action", "profile"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailwarden_refusals_total",
		Help: "Messages refused (reject or tempfail) by the check that forced it; \"score\" for the reject level."}, []string{"check"})
	m.symbols = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailwarden_symbols_total",
		Help: "Symbols on final verdicts."}, []string{"symbol"})
	m.score = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mailwarden_score",
		Help: "Spam scores of judged messages.", Buckets: []float64{-5, 0, 1, 2, 3, 4, 5, 7, 9, 12, 20, 50}})
	m.checkDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mailwarden_check_duration_seconds",
		Help: "Time each check took.", Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 10}},
		[]string{"check", "stage", "outcome"})
	m.storeErrs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailwarden_store_errors_total",
		Help: "State store operations that failed."}, []string{"op"})
	m.learn = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailwarden_learn_messages_total",
		Help: "Messages handled by the LearnAsSpam/LearnAsHam watcher."}, []string{"class", "result"})
	m.clamdErrs = prometheus.NewCounter(prometheus.CounterOpts{Name: "mailwarden_clamd_errors_total",
		Help: "Messages whose scan failed: clamd unreachable, timing out or answering an error (the [virus] on_failure action applied)."})
	m.reg.MustRegister(m.messages, m.refusals, m.symbols, m.score, m.checkDur, m.storeErrs, m.learn, m.clamdErrs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry gives access to the registry (tests, extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Observe implements scoring.Observer: one call per final verdict.
func (m *Metrics) Observe(_ context.Context, tx *scoring.Transaction, v *scoring.Verdict) {
	profile := string(tx.Profile)
	if profile == "" {
		profile = string(scoring.ProfileRemote)
	}
	m.messages.WithLabelValues(v.Action.String(), profile).Inc()
	if v.Action >= scoring.Tempfail {
		check := "score"
		if v.Forced != nil {
			check = v.Forced.Check
		}
		m.refusals.WithLabelValues(check).Inc()
	}
	seen := map[string]bool{}
	for _, s := range v.Symbols {
		if !seen[s.Name] {
			seen[s.Name] = true
			m.symbols.WithLabelValues(s.Name).Inc()
		}
	}
	if seen[virus.SymFail] {
		m.clamdErrs.Inc()
	}
	m.score.Observe(v.Score)
}

// CheckDone implements scoring.CheckTimer.
func (m *Metrics) CheckDone(check string, st scoring.Stage, d time.Duration, outcome string) {
	m.checkDur.WithLabelValues(check, st.String(), outcome).Observe(d.Seconds())
}

// Learned counts one message handled by the maildir watcher; its signature
// is learn.Config.OnLearned's, which the daemon sets to it.
func (m *Metrics) Learned(class, result string) {
	if m != nil {
		m.learn.WithLabelValues(class, result).Inc()
	}
}

// DNSStats is what the resolver reports.
type DNSStats struct{ Queries, CacheHits, Errors uint64 }

// WatchDNS exports a resolver's counters, read at scrape time.
func (m *Metrics) WatchDNS(stats func() DNSStats) {
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailwarden_dns_queries_total", Help: "DNS lookups asked of the resolver."},
			func() float64 { return float64(stats().Queries) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailwarden_dns_cache_hits_total", Help: "DNS lookups answered from the cache."},
			func() float64 { return float64(stats().CacheHits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailwarden_dns_errors_total", Help: "DNS lookups that failed (timeouts, SERVFAIL)."},
			func() float64 { return float64(stats().Errors) }),
	)
}

// WatchBayes exports the Bayes message counts, read at scrape time (a
// failing read reports -1).
func (m *Metrics) WatchBayes(counts func(ctx context.Context) (nspam, nham uint64, err error)) {
	get := func(spam bool) float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, h, err := counts(ctx)
		if err != nil {
			return -1
		}
		if spam {
			return float64(s)
		}
		return float64(h)
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailwarden_bayes_learned", Help: "Messages learned by Bayes.", ConstLabels: prometheus.Labels{"class": "spam"}},
			func() float64 { return get(true) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailwarden_bayes_learned", Help: "Messages learned by Bayes.", ConstLabels: prometheus.Labels{"class": "ham"}},
			func() float64 { return get(false) }),
	)
}

// StoreError counts a failed store operation.
func (m *Metrics) StoreError(op string) { m.storeErrs.WithLabelValues(op).Inc() }

// Handler serves the exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Serve serves /metrics on ln until it is closed.
func (m *Metrics) Serve(ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return srv.Serve(ln)
}
