package app

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/dmarcreport"
	"github.com/mailwarden/mailwarden/internal/mailstats"
)

// statsObserver returns the process's mail statistics recorder when the
// config counts statistics, or nil. The recorder itself lives as long as the
// daemon (Deps.Stats), so a reload neither loses nor doubles counts.
func statsObserver(cfg *config.Config, deps Deps) *mailstats.Recorder {
	if !cfg.Stats.Enabled || deps.Stats == nil {
		return nil
	}
	return deps.Stats
}

// StatsDay loads one day of statistics, with the users' junk-folder counts.
func StatsDay(ctx context.Context, cfg *config.Config, deps Deps, day time.Time) (*mailstats.Day, error) {
	d, err := mailstats.Load(ctx, deps.Store, day)
	if err != nil {
		return nil, err
	}
	d.Junk = mailstats.JunkCounts(cfg.Bayes.Learn.Maildirs, cfg.Bayes.Learn.JunkFolder)
	return d, nil
}

// startStatsReports mails yesterday's statistics to [stats] report_to every
// day at report_hour.
func startStatsReports(ctx context.Context, cfg *config.Config, deps Deps, log hclog.Logger) {
	if !cfg.Stats.Enabled || cfg.Stats.ReportTo == "" || deps.Store == nil {
		return
	}
	log = log.Named("mailstats")
	from := cfg.Stats.ReportFrom
	if from == "" {
		from = "mailwarden@" + cfg.Server.Hostname
	}
	go func() {
		for {
			next := nextAt(time.Now(), cfg.Stats.ReportHour)
			log.Info("next daily statistics report", "at", next.Format(time.RFC3339), "to", cfg.Stats.ReportTo)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(next)):
			}
			day := next.AddDate(0, 0, -1)
			if err := SendStatsReport(ctx, cfg, deps, day, from); err != nil {
				log.Error("daily statistics report not sent", "day", day.Format("2006-01-02"), "error", err)
			} else {
				log.Info("daily statistics report sent", "day", day.Format("2006-01-02"), "to", cfg.Stats.ReportTo)
			}
		}
	}()
}

// SendStatsReport mails one day's report through the local MTA.
func SendStatsReport(ctx context.Context, cfg *config.Config, deps Deps, day time.Time, from string) error {
	d, err := StatsDay(ctx, cfg, deps, day)
	if err != nil {
		return err
	}
	msg, err := d.Mail(cfg.Server.Hostname, from, cfg.Stats.ReportTo, time.Now())
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, dmarcreport.SMTPTimeout)
	defer cancel()
	return dmarcreport.Send(sctx, cfg.Stats.SMTP, from, []string{cfg.Stats.ReportTo}, msg)
}

// nextAt returns the next time at hour:05 local time after now.
func nextAt(now time.Time, hour int) time.Time {
	t := time.Date(now.Year(), now.Month(), now.Day(), hour, 5, 0, 0, now.Location())
	if !t.After(now) {
		t = t.AddDate(0, 0, 1)
	}
	return t
}
