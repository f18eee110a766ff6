package config

import "time"

// Greylist is the [greylist] section (off by default, as in SME). See
// scoring/greylist.
type Greylist struct {
	Enabled bool `toml:"enabled"`
	// Delay: a new triplet (client /24 or /64, sender, recipient) is
	// deferred until this long after it was first seen.
	Delay Duration `toml:"delay"`
	// RetryWindow: a triplet not retried within this long after first seen
	// is forgotten.
	RetryWindow Duration `toml:"retry_window"`
	// Expiry: a passed triplet is remembered this long after it was last
	// seen.
	Expiry Duration `toml:"expiry"`
	// AutoWhitelist: a client network that passed this many triplets skips
	// greylisting (0 disables).
	AutoWhitelist int `toml:"auto_whitelist"`
}

// DefaultGreylist is the [greylist] section's defaults.
func DefaultGreylist() Greylist {
	return Greylist{
		Enabled: false, Delay: Duration{5 * time.Minute}, RetryWindow: Duration{24 * time.Hour},
		Expiry: Duration{35 * 24 * time.Hour}, AutoWhitelist: 5,
	}
}

func (c *Config) validateGreylist() Problems {
	var ps Problems
	g := c.Greylist
	if g.Delay.Duration <= 0 || g.Delay.Duration > 24*time.Hour {
		ps = append(ps, c.problem("greylist.delay", "must be between 0 and 24h"))
	}
	if g.RetryWindow.Duration <= g.Delay.Duration {
		ps = append(ps, c.problem("greylist.retry_window", "must be longer than greylist.delay"))
	}
	if g.Expiry.Duration < g.RetryWindow.Duration {
		ps = append(ps, c.problem("greylist.expiry", "must not be shorter than greylist.retry_window"))
	}
	if g.AutoWhitelist < 0 {
		ps = append(ps, c.problem("greylist.auto_whitelist", "must not be negative (0 disables)"))
	}
	return ps
}
