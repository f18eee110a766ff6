package config

import "strings"

// BCC is the [bcc] section: a copy of mail to an archive mailbox (SME: the
// qmail Bcc, BccUser and BccMode settings).
type BCC struct {
	// Enabled (SME: Bcc enabled/disabled).
	Enabled bool `toml:"enabled"`
	// Mailbox receives the copies (SME: BccUser), as an address.
	Mailbox string `toml:"mailbox"`
	// Mode "bcc" adds the recipient invisibly; "cc" also adds an
	// X-Copied-To: header naming the archive (SME: BccMode).
	Mode string `toml:"mode"`
	// Scope: "all" mail, or "outgoing" only (local and authenticated senders).
	Scope string `toml:"scope"`
}

func (c *Config) validateBCC() Problems {
	var ps Problems
	add := func(key, format string, args ...any) { ps = append(ps, c.problem(key, format, args...)) }
	b := c.BCC
	if b.Mode != "bcc" && b.Mode != "cc" {
		add("bcc.mode", "invalid mode %q (bcc: invisible; cc: adds X-Copied-To)", b.Mode)
	}
	if b.Scope != "all" && b.Scope != "outgoing" {
		add("bcc.scope", "invalid scope %q (all or outgoing)", b.Scope)
	}
	if b.Enabled {
		at := strings.LastIndexByte(b.Mailbox, '@')
		if at <= 0 || !validDomain(b.Mailbox[at+1:]) || strings.ContainsAny(b.Mailbox, " <>,") {
			add("bcc.mailbox", "%q is not an address (write archive@example.com)", b.Mailbox)
		}
	}
	return ps
}
