package config

import (
	"path/filepath"
	"strings"
	"time"
)

// Bayes is the [bayes] section (SME: spamassassin UseBayes,
// UseBayesAutoLearn, BayesAutoLearnThresholdSpam,
// BayesAutoLearnThresholdNonspam). See scoring/bayes. The token database
// lives in the [store] backend (embedded file or Redis).
type Bayes struct {
	// Enabled (SME UseBayes) runs the classifier on every message.
	Enabled bool `toml:"enabled"`
	// MinSpam, MinHam: Bayes adds nothing until this many spam and ham were
	// learned (SpamAssassin bayes_min_spam_num / bayes_min_ham_num).
	MinSpam int `toml:"min_spam"`
	MinHam  int `toml:"min_ham"`
	// Bigrams adds sparse word-pair tokens (more tokens, larger store).
	Bigrams bool `toml:"bigrams"`
	// ExpireDays drops tokens not learned from for this many days; 0 keeps
	// them forever.
	ExpireDays int `toml:"expire_days"`
	// AutoLearn (SME UseBayesAutoLearn) learns clear cases by their score.
	AutoLearn bool `toml:"autolearn"`
	// AutoLearnThresholdSpam (SME BayesAutoLearnThresholdSpam, 6.0).
	AutoLearnThresholdSpam float64 `toml:"autolearn_threshold_spam"`
	// AutoLearnThresholdNonspam (SME BayesAutoLearnThresholdNonspam, 0.1).
	AutoLearnThresholdNonspam float64 `toml:"autolearn_threshold_nonspam"`
	// Learn is the LearnAsSpam/LearnAsHam maildir watcher ([bayes.learn]).
	Learn BayesLearn `toml:"learn"`
}

// BayesLearn is the [bayes.learn] table: the maildir watcher.
type BayesLearn struct {
	// Enabled starts the watcher inside the daemon.
	Enabled bool `toml:"enabled"`
	// Maildirs are globs of users' maildirs; the user is the directory
	// above "Maildir" (or "admin" for /home/e-smith/Maildir).
	Maildirs []string `toml:"maildirs"`
	// SpamFolder, HamFolder are the Maildir++ folders to learn from.
	SpamFolder string `toml:"spam_folder"`
	HamFolder  string `toml:"ham_folder"`
	// JunkFolder is where SME files tagged spam (for the report and
	// retention).
	JunkFolder string `toml:"junk_folder"`
	// Interval between passes.
	Interval Duration `toml:"interval"`
	// MessageRetentionTime (SME, days): junk older than this is deleted;
	// 0 (the default) keeps it.
	MessageRetentionTime int `toml:"message_retention_time"`
	// ReportTo mails each pass's per-user report to this address through
	// the local MTA (Sendmail); "" only logs it.
	ReportTo string `toml:"report_to"`
	// Sendmail is the local MTA's sendmail(1).
	Sendmail string `toml:"sendmail"`
}

// DefaultBayes is the [bayes] section's defaults (SME's).
func DefaultBayes() Bayes {
	return Bayes{
		Enabled: true, MinSpam: 200, MinHam: 200, Bigrams: false, ExpireDays: 180,
		AutoLearn: true, AutoLearnThresholdSpam: 6.0, AutoLearnThresholdNonspam: 0.1,
		Learn: BayesLearn{
			Enabled:    true,
			Maildirs:   []string{"/home/e-smith/files/users/*/Maildir", "/home/e-smith/Maildir"},
			SpamFolder: ".LearnAsSpam", HamFolder: ".LearnAsHam", JunkFolder: ".junkmail",
			Interval: Duration{10 * time.Minute},
			Sendmail: "/usr/sbin/sendmail",
		},
	}
}

func (c *Config) validateBayes() Problems {
	var ps Problems
	b := c.Bayes
	add := func(key, format string, args ...any) { ps = append(ps, c.problem(key, format, args...)) }
	if b.MinSpam < 0 || b.MinSpam > 1000000 {
		add("bayes.min_spam", "must be between 0 and 1000000")
	}
	if b.MinHam < 0 || b.MinHam > 1000000 {
		add("bayes.min_ham", "must be between 0 and 1000000")
	}
	if b.ExpireDays < 0 || b.ExpireDays > 36500 {
		add("bayes.expire_days", "must be between 0 (never) and 36500")
	}
	if b.AutoLearnThresholdNonspam >= b.AutoLearnThresholdSpam {
		add("bayes.autolearn_threshold_nonspam", "must be below autolearn_threshold_spam (%.1f)", b.AutoLearnThresholdSpam)
	}
	l := b.Learn
	for _, g := range l.Maildirs {
		if !filepath.IsAbs(g) {
			add("bayes.learn.maildirs", "%q: write an absolute path (a glob such as /home/e-smith/files/users/*/Maildir)", g)
		} else if _, err := filepath.Match(g, "/"); err != nil {
			add("bayes.learn.maildirs", "%q: bad glob: %v", g, err)
		}
	}
	for key, v := range map[string]string{"bayes.learn.spam_folder": l.SpamFolder, "bayes.learn.ham_folder": l.HamFolder, "bayes.learn.junk_folder": l.JunkFolder} {
		if v == "" || strings.ContainsAny(v, "/\x00") || v == "." || v == ".." {
			add(key, "invalid folder name %q (a Maildir++ folder such as \".LearnAsSpam\")", v)
		}
	}
	if l.SpamFolder == l.HamFolder {
		add("bayes.learn.ham_folder", "must differ from spam_folder")
	}
	if l.Interval.Duration < 10*time.Second {
		add("bayes.learn.interval", "must be at least 10s")
	}
	if l.MessageRetentionTime < 0 || l.MessageRetentionTime > 36500 {
		add("bayes.learn.message_retention_time", "must be between 0 (keep junk) and 36500 days")
	}
	if l.ReportTo != "" && !strings.Contains(l.ReportTo, "@") && strings.ContainsAny(l.ReportTo, " \t<>") {
		add("bayes.learn.report_to", "invalid address %q", l.ReportTo)
	}
	if l.ReportTo != "" && !filepath.IsAbs(l.Sendmail) {
		add("bayes.learn.sendmail", "must be an absolute path to sendmail(1)")
	}
	return ps
}
