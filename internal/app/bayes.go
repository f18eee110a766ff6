package app

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/learn"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/bayes"
)

// withBayes appends the Bayes check ([bayes]) to the checks, reading the
// state store; without a store (`config check`, `mailwarden check`) Bayes is
// left out. Call it last: autolearn sorts the symbols of every other check
// into header and body points.
func withBayes(cfg *config.Config, deps Deps, log hclog.Logger, checks []scoring.Check) []scoring.Check {
	if !cfg.Bayes.Enabled || deps.Store == nil {
		return checks
	}
	db := bayes.NewDB(deps.Store)
	// Token counts read in the last seconds are reused (common words recur
	// in every message); what this DB autolearns is dropped from it at once,
	// what the watcher or `mailwarden learn` learns shows within the TTL.
	db.EnableCache(bayesCacheTTL, bayesCacheTokens)
	bc := bayes.New(BayesConfig(cfg), db, log.Named("bayes"))
	checks = append(checks, bc)
	bc.SetChecks(checks)
	return checks
}

// The classifier's token cache: about 10 MB at most.
const (
	bayesCacheTTL    = 10 * time.Second
	bayesCacheTokens = 200000
)

// BayesConfig maps the [bayes] section to the check's configuration.
func BayesConfig(cfg *config.Config) bayes.Config {
	b := cfg.Bayes
	al := bayes.DefaultAutoLearn
	al.Enabled = b.AutoLearn
	al.ThresholdSpam = b.AutoLearnThresholdSpam
	al.ThresholdNonspam = b.AutoLearnThresholdNonspam
	return bayes.Config{
		MinSpam:   uint64(b.MinSpam),
		MinHam:    uint64(b.MinHam),
		Tokenizer: bayes.Tokenizer{Bigrams: b.Bigrams, SubjectTag: cfg.Spam.SubjectPrefix},
		Params:    bayes.DefaultParams,
		AutoLearn: al,
		MaxSize:   int64(cfg.Limits.ScanSizeLimit),
		// Off the reply path: batched in the background.
		AsyncAutoLearn: true,
	}
}

// LearnConfig maps [bayes.learn] to the maildir watcher's configuration.
func LearnConfig(cfg *config.Config) learn.Config {
	l := cfg.Bayes.Learn
	return learn.Config{
		Maildirs:      l.Maildirs,
		SpamFolder:    l.SpamFolder,
		HamFolder:     l.HamFolder,
		JunkFolder:    l.JunkFolder,
		RetentionDays: l.MessageRetentionTime,
		ReportTo:      l.ReportTo,
		Sendmail:      l.Sendmail,
		Hostname:      cfg.Server.Hostname,
		ExpireAfter:   time.Duration(cfg.Bayes.ExpireDays) * 24 * time.Hour,
	}
}

// NewWatcher returns the LearnAsSpam/LearnAsHam watcher on the daemon's
// store, or nil when [bayes.learn] is off or there is no store.
func NewWatcher(cfg *config.Config, deps Deps) *learn.Watcher {
	if !cfg.Bayes.Enabled || !cfg.Bayes.Learn.Enabled || deps.Store == nil {
		return nil
	}
	log := deps.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	l := &bayes.Learner{DB: bayes.NewDB(deps.Store), Tokenizer: bayes.Tokenizer{Bigrams: cfg.Bayes.Bigrams, SubjectTag: cfg.Spam.SubjectPrefix}}
	lc := LearnConfig(cfg)
	if deps.Metrics != nil {
		// Each message's outcome: mailwarden_learn_messages_total{class,result}.
		lc.OnLearned = deps.Metrics.Learned
	}
	return learn.New(lc, l, log.Named("learn"))
}

// startWatcher runs the LearnAsSpam/LearnAsHam watcher until ctx ends
// (the daemon's shutdown); wg lets the shutdown wait for it before the store
// is closed.
func startWatcher(ctx context.Context, cfg *config.Config, deps Deps, wg *sync.WaitGroup) {
	w := NewWatcher(cfg, deps)
	if w == nil {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.Run(ctx, cfg.Bayes.Learn.Interval.Duration)
	}()
}
