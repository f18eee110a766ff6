package config

import "time"

// Karma is the [karma] section (SME: qpsmtpd's karma plugin, KarmaNegative
// and KarmaStrikes). See scoring/karma.
type Karma struct {
	Enabled bool `toml:"enabled"`
	// Negative (SME KarmaNegative): a client whose naughty messages
	// outnumber its nice ones by this many is refused for Penalty.
	Negative int `toml:"negative"`
	// Strikes (SME KarmaStrikes): a message with this many strikes (symbols
	// weighing 1 or more) counts as naughty even if delivered.
	Strikes int `toml:"strikes"`
	// Penalty is how long a naughty client is refused (qpsmtpd: penalty_days 1).
	Penalty Duration `toml:"penalty"`
	// Expiry forgets a client's history this long after its last message.
	Expiry Duration `toml:"expiry"`
}

// DefaultKarma is the [karma] section's defaults: SME's values, but off
// unless the file turns it on (deploy/mailwarden.toml does, as SME): a
// config written for a test or a lab, where one address sends everything,
// must not put that address in the penalty box behind its author's back.
func DefaultKarma() Karma {
	return Karma{Enabled: false, Negative: 2, Strikes: 3, Penalty: Duration{24 * time.Hour}, Expiry: Duration{60 * 24 * time.Hour}}
}

func (c *Config) validateKarma() Problems {
	var ps Problems
	k := c.Karma
	if k.Negative < 1 || k.Negative > 1000 {
		ps = append(ps, c.problem("karma.negative", "must be between 1 and 1000"))
	}
	if k.Strikes < 1 || k.Strikes > 100 {
		ps = append(ps, c.problem("karma.strikes", "must be between 1 and 100"))
	}
	if k.Penalty.Duration < time.Minute {
		ps = append(ps, c.problem("karma.penalty", "must be at least 1m"))
	}
	if k.Expiry.Duration < k.Penalty.Duration {
		ps = append(ps, c.problem("karma.expiry", "must not be shorter than karma.penalty"))
	}
	return ps
}
