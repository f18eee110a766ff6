package config

import "strings"

// Disclaimer is the [disclaimer] section: a text appended to mail going from
// an internal sender to an external recipient (SME: the qpsmtpd disclaimer
// plugin, one text for all domains or one per domain).
type Disclaimer struct {
	Enabled bool `toml:"enabled"`
	// Text is used for every sender domain without its own.
	Text string `toml:"text"`
	// Domains maps a sender domain to its own text.
	Domains map[string]string `toml:"domains"`
	// LocalDomains: recipients in these domains (and in the Domains keys)
	// are internal; mail only to them gets no disclaimer.
	LocalDomains []string `toml:"local_domains"`
}

// MaxDisclaimerBytes bounds a disclaimer text: it is added to every outgoing
// message; a page of legal text is ~4 kB.
const MaxDisclaimerBytes = 16 << 10

func (c *Config) validateDisclaimer() Problems {
	var ps Problems
	add := func(key, format string, args ...any) { ps = append(ps, c.problem(key, format, args...)) }
	d := c.Disclaimer
	if d.Enabled && strings.TrimSpace(d.Text) == "" && len(d.Domains) == 0 {
		add("disclaimer.enabled", "disclaimer enabled but neither text nor [disclaimer.domains] is set")
	}
	if len(d.Text) > MaxDisclaimerBytes {
		add("disclaimer.text", "text of %d bytes is longer than %d", len(d.Text), MaxDisclaimerBytes)
	}
	for dom, text := range d.Domains {
		if !validDomain(dom) {
			add("disclaimer.domains."+dom, "%q is not a domain name", dom)
		}
		if len(text) > MaxDisclaimerBytes {
			add("disclaimer.domains."+dom, "text of %d bytes is longer than %d", len(text), MaxDisclaimerBytes)
		}
	}
	for _, dom := range d.LocalDomains {
		if !validDomain(dom) {
			add("disclaimer.local_domains", "%q is not a domain name", dom)
		}
	}
	return ps
}
