package app

import (
	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/greylist"
	"github.com/mailwarden/mailwarden/scoring/karma"
	"github.com/mailwarden/mailwarden/scoring/loadcheck"
	"github.com/mailwarden/mailwarden/scoring/ratelimit"
)

// stateFirstChecks run first at connect: the load check ([load], SME
// MaxLoad) and karma ([karma]), so that a busy server or a host in the
// penalty box costs no DNS work. Checks that need the state store are left
// out when there is none (`mailwarden check`, `config check`).
func stateFirstChecks(cfg *config.Config, deps Deps, log hclog.Logger) []scoring.Check {
	var out []scoring.Check
	if cfg.Load.Enabled {
		out = append(out, loadcheck.New(loadcheck.Config{MaxLoad: cfg.Load.MaxLoad}))
	}
	if cfg.Karma.Enabled && deps.Store != nil {
		out = append(out, karma.New(karma.Config{
			Store: deps.Store, Negative: cfg.Karma.Negative, Strikes: cfg.Karma.Strikes,
			Penalty: cfg.Karma.Penalty.Duration, Expiry: cfg.Karma.Expiry.Duration, Logger: log.Named("karma"),
			// Nice judgements off the reply path (a store commit per
			// delivered message otherwise); naughty ones stay synchronous.
			AsyncNice: true,
		}))
	}
	return out
}

// stateLastChecks run last at RCPT: outbound rate limits ([rate_limit]) and
// greylisting ([greylist]), after the checks that refuse a recipient
// outright.
func stateLastChecks(cfg *config.Config, deps Deps, log hclog.Logger) []scoring.Check {
	if deps.Store == nil {
		return nil
	}
	var out []scoring.Check
	if rl := cfg.RateLimit; rl.Enabled {
		out = append(out, ratelimit.New(ratelimit.Config{
			Store: deps.Store, MessagesPerHour: rl.MessagesPerHour, RecipientsPerHour: rl.RecipientsPerHour,
			Exempt: rl.Exempt, Logger: log.Named("ratelimit"),
		}))
	}
	if g := cfg.Greylist; g.Enabled {
		out = append(out, greylist.New(greylist.Config{
			Store: deps.Store, Delay: g.Delay.Duration, RetryWindow: g.RetryWindow.Duration,
			Expiry: g.Expiry.Duration, AutoWhitelist: g.AutoWhitelist, Logger: log.Named("greylist"),
		}))
	}
	return out
}
