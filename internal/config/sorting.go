package config

import "strings"

// Sorting is the [sorting] section: the junk-folder header the delivery
// agent's Sieve/maildrop/procmail recipe acts on (SME: SortSpam).
type Sorting struct {
	Enabled bool `toml:"enabled"`
	// Header and Value added to tagged mail: "X-Mailwarden-Sort: Junk".
	Header string `toml:"header"`
	Value  string `toml:"value"`
	// OptOut: recipients (or patterns, "*@example.com") that do not want
	// their junk sorted (SME: a user's SortSpam disabled). A message only
	// for opted-out recipients gets no sort header.
	OptOut []string `toml:"opt_out"`
}

func defaultSorting() Sorting {
	return Sorting{Enabled: true, Header: "X-Mailwarden-Sort", Value: "Junk"}
}

func (c *Config) validateSorting() Problems {
	var ps Problems
	s := c.Sorting
	if !validFieldName(s.Header) {
		ps = append(ps, c.problem("sorting.header", "invalid header field name %q", s.Header))
	}
	if s.Value == "" || strings.ContainsAny(s.Value, "\r\n") {
		ps = append(ps, c.problem("sorting.value", "must be one line of text"))
	}
	return ps
}

func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 32 || s[i] >= 127 || s[i] == ':' {
			return false
		}
	}
	return true
}
