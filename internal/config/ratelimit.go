package config

import "strings"

// RateLimit is the [rate_limit] section: outbound limits per authenticated
// user and per local sender address, the compromised-web-form and
// stolen-password case the SME guide warns about. See scoring/ratelimit.
type RateLimit struct {
	Enabled bool `toml:"enabled"`
	// MessagesPerHour and RecipientsPerHour per key; 0 disables that limit.
	MessagesPerHour   int `toml:"messages_per_hour"`
	RecipientsPerHour int `toml:"recipients_per_hour"`
	// Exempt lists SASL user names and sender addresses never limited.
	Exempt []string `toml:"exempt"`
}

// DefaultRateLimit is the [rate_limit] section's defaults: off (SME has no
// such limit), with limits ready for when it is turned on.
func DefaultRateLimit() RateLimit {
	return RateLimit{Enabled: false, MessagesPerHour: 200, RecipientsPerHour: 1000}
}

func (c *Config) validateRateLimit() Problems {
	var ps Problems
	r := c.RateLimit
	if r.MessagesPerHour < 0 {
		ps = append(ps, c.problem("rate_limit.messages_per_hour", "must not be negative (0 disables)"))
	}
	if r.RecipientsPerHour < 0 {
		ps = append(ps, c.problem("rate_limit.recipients_per_hour", "must not be negative (0 disables)"))
	}
	for _, e := range r.Exempt {
		if strings.TrimSpace(e) == "" {
			ps = append(ps, c.problem("rate_limit.exempt", "empty entry"))
		}
	}
	return ps
}
