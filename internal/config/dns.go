package config

import (
	"net"
	"net/netip"
	"time"
)

// DNS is the [dns] section: the resolver every check shares.
type DNS struct {
	// Servers are upstream recursive resolvers ("192.0.2.53" or
	// "192.0.2.53:53"); empty: the nameservers of /etc/resolv.conf.
	Servers []string `toml:"servers"`
	// Timeout is the timeout of one query attempt.
	Timeout Duration `toml:"timeout"`
	// Attempts per server before a lookup fails as temporary.
	Attempts int `toml:"attempts"`
	// CacheSize bounds the answer cache (entries); 0 disables caching.
	CacheSize int `toml:"cache_size"`
	// StageBudget is the DNS work budget of a check per SMTP stage, well
	// inside Postfix's 30 s milter command timeout.
	StageBudget Duration `toml:"stage_budget"`
}

// Limits of the [dns] values, with their reasons.
const (
	// maxDNSTimeout: an attempt longer than this would eat most of a stage.
	maxDNSTimeout = 10 * time.Second
	// maxStageBudget: Postfix's milter_command_timeout is 30 s; leave room
	// for the other checks and the reply.
	maxStageBudget = 20 * time.Second
	// maxDNSAttempts: more retries only delay the verdict.
	maxDNSAttempts = 5
)

func defaultDNS() DNS {
	return DNS{Timeout: Duration{2 * time.Second}, Attempts: 2, CacheSize: 10000, StageBudget: Duration{8 * time.Second}}
}

func (c *Config) validateDNS() Problems {
	var ps Problems
	d := c.DNS
	for _, s := range d.Servers {
		if _, err := netip.ParseAddr(s); err == nil {
			continue
		}
		if _, err := netip.ParseAddrPort(s); err == nil {
			continue
		}
		if h, p, err := net.SplitHostPort(s); err == nil && h != "" && p != "" {
			continue
		}
		ps = append(ps, c.problem("dns.servers", "invalid server %q (write an address or address:port, e.g. \"127.0.0.1:53\")", s))
	}
	if d.Timeout.Duration <= 0 || d.Timeout.Duration > maxDNSTimeout {
		ps = append(ps, c.problem("dns.timeout", "must be between 0 and %s", maxDNSTimeout))
	}
	if d.Attempts < 1 || d.Attempts > maxDNSAttempts {
		ps = append(ps, c.problem("dns.attempts", "must be between 1 and %d", maxDNSAttempts))
	}
	if d.CacheSize < 0 {
		ps = append(ps, c.problem("dns.cache_size", "must not be negative (0 disables the cache)"))
	}
	if d.StageBudget.Duration <= 0 || d.StageBudget.Duration > maxStageBudget {
		ps = append(ps, c.problem("dns.stage_budget", "must be between 0 and %s (Postfix's milter command timeout is 30s)", maxStageBudget))
	} else if d.StageBudget.Duration < d.Timeout.Duration {
		ps = append(ps, c.problem("dns.stage_budget", "budget %s is shorter than one query timeout %s", d.StageBudget.Duration, d.Timeout.Duration))
	}
	return ps
}
