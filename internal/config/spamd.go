package config

// Spamd is the [spamd] section: an optional SpamAssassin spamd whose score
// and rule names join ours (spamc protocol).
type Spamd struct {
	Enabled bool `toml:"enabled"`
	// Address: "inet:127.0.0.1:783", "127.0.0.1:783" or "unix:/run/spamd.sock".
	Address string `toml:"address"`
	// Timeout for the whole exchange; on timeout or error the message goes
	// on without spamd's opinion (fail-open, symbol SPAMD_FAIL).
	Timeout Duration `toml:"timeout"`
	// MaxSize: larger messages are not sent (spamc's default is 500 kB).
	MaxSize Size `toml:"max_size"`
	// User is spamc's -u (spamd per-user preferences); "" for none.
	User string `toml:"user"`
	// Weight multiplies spamd's score in the SPAMD symbol.
	Weight float64 `toml:"weight"`
	// Profiles the check runs for.
	Profiles []string `toml:"profiles"`
}

func defaultSpamd() Spamd {
	return Spamd{Address: "inet:127.0.0.1:783", Timeout: Duration{10e9}, MaxSize: 500000, Weight: 1, Profiles: []string{"remote"}}
}

func (c *Config) validateSpamd() Problems {
	var ps Problems
	s := c.Spamd
	if s.Enabled {
		if _, _, err := ParseListen(s.Address); err != nil {
			ps = append(ps, c.problem("spamd.address", "%v", err))
		}
	}
	if s.Timeout.Duration <= 0 || s.Timeout.Duration > 25e9 {
		ps = append(ps, c.problem("spamd.timeout", "must be between 0 and 25s (Postfix's milter timeouts)"))
	}
	if s.MaxSize <= 0 {
		ps = append(ps, c.problem("spamd.max_size", "must be positive"))
	}
	if s.Weight < 0 || s.Weight > 10 {
		ps = append(ps, c.problem("spamd.weight", "must be between 0 and 10"))
	}
	for _, p := range s.Profiles {
		if !profileNames[p] {
			ps = append(ps, c.problem("spamd.profiles", "unknown profile %q (local, authenticated, remote)", p))
		}
	}
	return ps
}
