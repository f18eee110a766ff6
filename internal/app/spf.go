package app

import (
	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/spf"
)

// spfChecks builds the MAIL-stage SPF check of the [spf] section. Its
// result feeds DMARC (which enforces [spf] reject_policy, SME
// SPFRejectPolicy, when the sender publishes no DMARC policy) and the
// Authentication-Results header; with [dmarc] off the SPF check enforces
// reject_policy itself.
func spfChecks(cfg *config.Config, deps Deps, log hclog.Logger) []scoring.Check {
	if !cfg.SPF.Enabled {
		return nil
	}
	return []scoring.Check{spf.New(spf.Config{
		Resolver:     deps.Resolver,
		HELOCheck:    cfg.SPF.HELOCheck,
		RejectPolicy: cfg.SPF.RejectPolicy,
		// Without the DMARC check nobody else would apply reject_policy.
		RejectWithoutDMARC: !cfg.DMARC.Enabled,
		Profiles:           profiles(cfg.SPF.Profiles),
		Receiver:           cfg.Server.Hostname,
		Budget:             cfg.DNS.StageBudget.Duration,
		Logger:             log.Named("spf"),
	})}
}
