package config

import (
	"path/filepath"
	"strings"
)

// DKIM is the [dkim] section: outbound DKIM signing (SME: qpsmtpd's
// DKIMSigning with keys in /home/e-smith/dkimkeys) and the records that
// `mailwarden dns` prints.
type DKIM struct {
	// Signing turns outbound signing on (SME: DKIMSigning, default enabled).
	Signing bool `toml:"signing"`
	// KeysDir holds a directory per domain (selector + private) and
	// "default", the fallback key (SME: /home/e-smith/dkimkeys).
	KeysDir string `toml:"keys_dir"`
	// Domains we sign for. Empty: every domain with its own key directory or
	// a [dkim.domain.NAME] key. The default key signs only these.
	Domains []string `toml:"domains"`
	// Headers are the signed header fields (those present); Oversign fields
	// are listed once more, so that a copy added later breaks the signature.
	Headers  []string `toml:"headers"`
	Oversign []string `toml:"oversign"`
	// UnlistedUsers: what an authenticated user without a [dkim.senders]
	// entry may get signed: "login_domain" (the domain of a user@domain
	// login), "any" (every domain we sign for) or "none".
	UnlistedUsers string `toml:"unlisted_users"`
	// Senders maps a SASL login to the domains or addresses it may send as.
	Senders map[string][]string `toml:"senders"`
	// Domain holds per-domain overrides: [dkim.domain."example.com"].
	Domain map[string]DKIMDomain `toml:"domain"`

	// Records printed by `mailwarden dns`.
	SPF         string `toml:"spf"`          // "v=spf1 mx a -all"
	DMARCPolicy string `toml:"dmarc_policy"` // none, quarantine, reject
	DMARCRua    string `toml:"dmarc_rua"`    // aggregate report address ("" = none)
}

// DKIMDomain is a per-domain override.
type DKIMDomain struct {
	// Signing false disables signing for this domain (SME: the domain's
	// DKIMSigning property).
	Signing *bool `toml:"signing"`
	// Selector and KeyFile replace the layout's key; Ed25519Selector and
	// Ed25519KeyFile add (or replace) an Ed25519 key.
	Selector        string `toml:"selector"`
	KeyFile         string `toml:"key_file"`
	Ed25519Selector string `toml:"ed25519_selector"`
	Ed25519KeyFile  string `toml:"ed25519_key_file"`
}

// DefaultSignedHeaders is RFC 6376 5.4.1's recommended list, From first.
var DefaultSignedHeaders = []string{
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-Date", "Resent-From", "Resent-To", "Resent-Cc",
	"In-Reply-To", "References", "List-Id", "List-Help", "List-Unsubscribe", "List-Subscribe", "List-Post",
	"List-Owner", "List-Archive", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"Sender",
}

func defaultDKIM() DKIM {
	return DKIM{
		Signing:       true,
		KeysDir:       "/etc/mailwarden/dkimkeys",
		Headers:       append([]string(nil), DefaultSignedHeaders...),
		Oversign:      []string{"From"},
		UnlistedUsers: "login_domain",
		SPF:           "v=spf1 mx a -all",
		DMARCPolicy:   "none",
	}
}

func (c *Config) validateDKIM() Problems {
	var ps Problems
	add := func(key, format string, args ...any) { ps = append(ps, c.problem(key, format, args...)) }
	d := c.DKIM
	if d.KeysDir != "" && !filepath.IsAbs(d.KeysDir) {
		add("dkim.keys_dir", "path %q must be absolute", d.KeysDir)
	}
	for _, dom := range d.Domains {
		if !validDomain(dom) {
			add("dkim.domains", "%q is not a domain name", dom)
		}
	}
	hasFrom := false
	for _, h := range d.Headers {
		if strings.EqualFold(h, "From") {
			hasFrom = true
		}
		if h == "" || strings.ContainsAny(h, ": \t") {
			add("dkim.headers", "%q is not a header field name", h)
		}
	}
	if !hasFrom {
		add("dkim.headers", "must include From (RFC 6376 5.4: the From field must be signed)")
	}
	switch d.UnlistedUsers {
	case "login_domain", "any", "none":
	default:
		add("dkim.unlisted_users", "invalid value %q (login_domain, any or none)", d.UnlistedUsers)
	}
	for user, list := range d.Senders {
		for _, a := range list {
			dom := a
			if i := strings.LastIndexByte(a, '@'); i >= 0 {
				dom = a[i+1:]
			}
			if !validDomain(dom) {
				add("dkim.senders."+user, "%q is neither a domain nor an address", a)
			}
		}
	}
	for name, o := range d.Domain {
		key := "dkim.domain." + name
		if !validDomain(name) {
			add(key, "%q is not a domain name", name)
		}
		if (o.Selector == "") != (o.KeyFile == "") {
			add(key, "selector and key_file go together")
		}
		if (o.Ed25519Selector == "") != (o.Ed25519KeyFile == "") {
			add(key, "ed25519_selector and ed25519_key_file go together")
		}
		for _, f := range []string{o.KeyFile, o.Ed25519KeyFile} {
			if f != "" && !filepath.IsAbs(f) {
				add(key, "key file %q must be an absolute path", f)
			}
		}
	}
	switch d.DMARCPolicy {
	case "none", "quarantine", "reject":
	default:
		add("dkim.dmarc_policy", "invalid policy %q (none, quarantine or reject)", d.DMARCPolicy)
	}
	if d.DMARCRua != "" && !strings.Contains(d.DMARCRua, "@") {
		add("dkim.dmarc_rua", "%q is not an address (write dmarc@example.com)", d.DMARCRua)
	}
	if d.SPF != "" && !strings.HasPrefix(d.SPF, "v=spf1") {
		add("dkim.spf", "SPF record %q must start with v=spf1", d.SPF)
	}
	return ps
}

// validDomain is a light syntax check: dot-separated LDH labels.
func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, ch := range l {
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return false
			}
		}
	}
	return true
}
