package app

import (
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/gtube"
	"github.com/mailwarden/mailwarden/scoring/rules"
	"github.com/mailwarden/mailwarden/scoring/sortspam"
	"github.com/mailwarden/mailwarden/scoring/spamd"
	"github.com/mailwarden/mailwarden/scoring/wblist"
)

// spamChecks are the content-scoring checks of issue 6, in order:
// whitelist_from/blacklist_from ([wblist], end of headers), GTUBE, the rule
// files ([rules]) and the optional spamd ([spamd]) at end of message.
func spamChecks(cfg *config.Config, log hclog.Logger, prob func(string, error)) []scoring.Check {
	var out []scoring.Check
	wb, err := wblist.New(wblist.Config{WhitelistFrom: cfg.WBList.WhitelistFrom, BlacklistFrom: cfg.WBList.BlacklistFrom})
	if err != nil {
		prob("wblist.whitelist_from", err)
	} else {
		out = append(out, wb)
	}
	out = append(out, gtube.Check{})
	if cfg.Rules.Enabled {
		var paths []string
		for _, p := range cfg.RulePaths() {
			if !cfg.RulesPathsSet() && config.RulePathMissing(p) {
				log.Warn("default rules directory missing; no rules loaded", "path", p)
				continue
			}
			paths = append(paths, p)
		}
		if len(paths) > 0 {
			set, err := rules.Load(paths...)
			if err != nil {
				prob("rules.paths", fmt.Errorf("rule files:\n%v", err))
			} else {
				for _, w := range set.Warnings {
					log.Debug("rule file", "warning", w)
				}
				log.Info("rules loaded", "rules", len(set.Rules), "warnings", len(set.Warnings))
				out = append(out, rules.New(rules.Config{
					Set: set, ScanSizeLimit: int64(cfg.Limits.ScanSizeLimit),
					Profiles: profiles(cfg.Rules.Profiles), Logger: log.Named("rules"),
				}))
			}
		}
	}
	if c := spamdCheck(cfg, log); c != nil {
		out = append(out, c)
	}
	return out
}

// sortModifier is the junk-sorting header modifier ([sorting], SME SortSpam).
func sortModifier(cfg *config.Config) scoring.Modifier {
	return sortspam.New(sortspam.Config{
		Enabled: cfg.Sorting.Enabled, Header: cfg.Sorting.Header, Value: cfg.Sorting.Value,
		OptOut: append([]string(nil), cfg.Sorting.OptOut...),
	})
}

// spamdCheck is the optional spamd backend ([spamd]); nil when disabled.
func spamdCheck(cfg *config.Config, log hclog.Logger) scoring.Check {
	s := cfg.Spamd
	if !s.Enabled {
		return nil
	}
	network, addr, err := config.ParseListen(s.Address)
	if err != nil {
		return nil // validate() already reported it
	}
	return spamd.New(spamd.Config{
		Network: network, Address: addr, Timeout: s.Timeout.Duration, MaxSize: int64(s.MaxSize),
		User: s.User, Weight: s.Weight, Profiles: profiles(s.Profiles), Logger: log.Named("spamd"),
	})
}
