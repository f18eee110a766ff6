package config

import "time"

// Policy is the [policy] section: the Postfix policy-delegation server
// (its listener is [server] policy_listen).
type Policy struct {
	// TempfailAction is the reply to a tempfail verdict: "defer_if_permit"
	// (DEFER_IF_PERMIT: defer only if no later restriction rejects) or
	// "defer" (DEFER at once).
	TempfailAction string `toml:"tempfail_action"`
	// IdleTimeout closes a policy connection with no request for this long;
	// Postfix itself closes idle ones after smtpd_policy_service_max_idle
	// (300s).
	IdleTimeout Duration `toml:"idle_timeout"`
	// CacheSize bounds the per-instance results kept (one per message in
	// flight; Postfix sends one request per recipient with the same
	// instance).
	CacheSize int `toml:"cache_size"`
}

// DefaultPolicy is the [policy] section's defaults.
func DefaultPolicy() Policy {
	return Policy{TempfailAction: "defer_if_permit", IdleTimeout: Duration{10 * time.Minute}, CacheSize: 10000}
}

func (c *Config) validatePolicy() Problems {
	var ps Problems
	p := c.Policy
	if p.TempfailAction != "defer_if_permit" && p.TempfailAction != "defer" {
		ps = append(ps, c.problem("policy.tempfail_action", "invalid action %q (defer_if_permit or defer)", p.TempfailAction))
	}
	if p.IdleTimeout.Duration < time.Second {
		ps = append(ps, c.problem("policy.idle_timeout", "must be at least 1s"))
	}
	if p.CacheSize < 1 || p.CacheSize > 1000000 {
		ps = append(ps, c.problem("policy.cache_size", "must be between 1 and 1000000"))
	}
	return ps
}
