package config

// LoadCheck is the [load] section (SME: MaxLoad; qpsmtpd's loadcheck plugin).
// See scoring/loadcheck.
type LoadCheck struct {
	Enabled bool `toml:"enabled"`
	// MaxLoad (SME MaxLoad): remote mail is deferred while the 1-minute load
	// average exceeds it.
	MaxLoad float64 `toml:"max_load"`
}

// DefaultLoad is the [load] section's defaults: SME's MaxLoad, but off
// unless the file turns it on (deploy/mailwarden.toml does, as SME): on a
// busy build or test machine a load above 7 is normal and must not defer
// the mail of a config that never asked for the check.
func DefaultLoad() LoadCheck { return LoadCheck{Enabled: false, MaxLoad: 7} }

func (c *Config) validateLoad() Problems {
	if c.Load.MaxLoad <= 0 || c.Load.MaxLoad > 10000 {
		return Problems{c.problem("load.max_load", "must be above 0 (and sane: at most 10000)")}
	}
	return nil
}
