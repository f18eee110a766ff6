package app

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/dmarcreport"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/authresults"
	"github.com/mailwarden/mailwarden/scoring/dkimverify"
	"github.com/mailwarden/mailwarden/scoring/dmarc"
)

// authChecks builds the end-of-message sender authentication checks of the
// [dmarc] section: DKIM verification, then DMARC (which also needs "spf").
func authChecks(cfg *config.Config, deps Deps, log hclog.Logger, prob func(string, error)) []scoring.Check {
	if !cfg.DMARC.Enabled {
		return nil
	}
	suffixes, err := suffixList(cfg)
	if err != nil {
		prob("dmarc.psl_file", err)
	}
	var txt interface {
		dkimverify.TXTResolver
		dmarc.TXTResolver
	}
	if deps.Resolver != nil {
		txt = deps.Resolver
	}
	var rec dmarc.Recorder
	if cfg.DMARC.Reporting && deps.Store != nil {
		// Off the reply path (Async); written at shutdown and when an
		// old engine is closed after a reload.
		rec = &dmarcreport.Recorder{Store: deps.Store, Interval: cfg.DMARC.ReportInterval.Duration, TTL: cfg.DMARC.ReportRetention.Duration, Async: true}
	}
	prof := profiles(cfg.DMARC.Profiles)
	return []scoring.Check{
		dkimverify.New(dkimverify.Config{Resolver: txt, Logger: log.Named("dkim"), Profiles: prof}),
		dmarc.New(dmarc.Config{
			Resolver: txt, Suffixes: suffixes, Reject: cfg.DMARC.Reject, QuarantineAction: cfg.DMARC.QuarantineAction,
			Recorder: rec, Logger: log.Named("dmarc"), Profiles: prof,
		}),
	}
}

// authResultsModifier writes Authentication-Results; it runs first among
// the modifiers (RFC 8601 5: forged copies go before anyone reads them).
func authResultsModifier(cfg *config.Config) scoring.Modifier {
	return authresults.New(authresults.Config{AuthservID: cfg.EffectiveAuthservID()})
}

func suffixList(cfg *config.Config) (dmarc.SuffixList, error) {
	if cfg.DMARC.PSLFile == "" {
		return dmarc.DefaultSuffixes, nil
	}
	psl, err := dmarc.LoadPSL(cfg.DMARC.PSLFile)
	if err != nil {
		return dmarc.DefaultSuffixes, err
	}
	return psl, nil
}

// DMARCReportJob returns the aggregate report job of a config ([dmarc]
// report_*), for the daemon's daily timer and `mailwarden dmarc report`.
func DMARCReportJob(cfg *config.Config, deps Deps) (*dmarcreport.Job, error) {
	suffixes, err := suffixList(cfg)
	if err != nil {
		return nil, err
	}
	org, email := cfg.EffectiveReportIdentity()
	receiver := cfg.Server.Hostname
	if receiver == "" {
		receiver = org
	}
	j := &dmarcreport.Job{
		Store: deps.Store, Suffixes: suffixes, Interval: cfg.DMARC.ReportInterval.Duration,
		Meta:     dmarcreport.Meta{OrgName: org, Email: email, Receiver: receiver},
		SMTPAddr: cfg.DMARC.ReportSMTP, Logger: deps.Logger,
	}
	if deps.Resolver != nil {
		j.Resolver = deps.Resolver
	}
	if j.Logger == nil {
		j.Logger = hclog.NewNullLogger()
	}
	return j, nil
}

// startDMARCReports runs the daily report job until ctx ends, when
// [dmarc] reporting is on and a store is open.
func startDMARCReports(ctx context.Context, cfg *config.Config, deps Deps, log hclog.Logger) {
	if !cfg.DMARC.Enabled || !cfg.DMARC.Reporting || deps.Store == nil {
		return
	}
	j, err := DMARCReportJob(cfg, deps)
	if err != nil {
		log.Error("dmarc reports disabled", "error", err)
		return
	}
	j.Logger = log.Named("dmarc_report")
	log.Info("dmarc aggregate reports on", "interval", cfg.DMARC.ReportInterval.Duration.String(),
		"next", dmarcreport.Bucket(time.Now(), j.Interval).Add(j.Interval).Format(time.RFC3339))
	go j.Loop(ctx, dmarcreport.CatchUpDelay)
}
