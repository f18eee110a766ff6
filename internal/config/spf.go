package config

// SPF is the [spf] section (SME: the qpsmtpd sender_permitted_from plugin,
// SPFRejectPolicy).
type SPF struct {
	Enabled bool `toml:"enabled"`
	// HELOCheck also checks the HELO identity (RFC 7208 2.3) and adds
	// SPF_HELO_* symbols.
	HELOCheck bool `toml:"helo_check"`
	// RejectPolicy is SME's SPFRejectPolicy: 0 never reject, 1 reject on
	// fail, 2 also softfail, 3 also neutral, 4 also on errors or no SPF
	// record. As in SME it applies only when the sender's domain publishes
	// no DMARC policy: the DMARC check enforces it.
	RejectPolicy int `toml:"reject_policy"`
	// Profiles the check runs for.
	Profiles []string `toml:"profiles"`
}

func defaultSPF() SPF {
	return SPF{Enabled: true, HELOCheck: true, RejectPolicy: 0, Profiles: []string{"remote"}}
}

func (c *Config) validateSPF() Problems {
	var ps Problems
	if c.SPF.RejectPolicy < 0 || c.SPF.RejectPolicy > 4 {
		ps = append(ps, c.problem("spf.reject_policy", "must be 0 to 4 (SME SPFRejectPolicy: 0 never, 1 fail, 2 +softfail, 3 +neutral, 4 +errors and none)"))
	}
	for _, p := range c.SPF.Profiles {
		if !profileNames[p] {
			ps = append(ps, c.problem("spf.profiles", "unknown profile %q (local, authenticated, remote)", p))
		}
	}
	return ps
}
