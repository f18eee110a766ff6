package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/scoring/envlists/pattern"
)

// Envelope is the [envelope] section: SME's envelope rule set (the qpsmtpd
// plugins that judge a message before its content is sent). Each subtable
// is one check; deploy/mailwarden.toml names the SME setting of every key.
type Envelope struct {
	// ExemptRecipients (postmaster@, abuse@) still receive mail from clients
	// or senders on the DNS lists and with a bad HELO (RFC 5321 4.5.1: the
	// postmaster must be reachable), as qpsmtpd's dnsbl plugin allows.
	ExemptRecipients []string `toml:"exempt_recipients"`

	DNSBL DNSList `toml:"dnsbl"` // SME: DNSBL status, RBLList
	RHSBL DNSList `toml:"rhsbl"` // SME: RHSBL status, SBLList
	URIBL DNSList `toml:"uribl"` // SME: URIBL status, UBLList

	HELO               HELOPolicy   `toml:"helo"`
	Lists              EnvLists     `toml:"lists"`
	ResolvableFromHost FromHost     `toml:"resolvable_fromhost"`
	Internal           InternalRcpt `toml:"internal"`
}

// DNSList is one of [envelope.dnsbl], [envelope.rhsbl], [envelope.uribl].
type DNSList struct {
	Enabled bool     `toml:"enabled"`
	Zones   []string `toml:"zones"`
	// Mode: "reject" (refuse at RCPT naming the list) or "score".
	Mode string `toml:"mode"`
	// Budget is the DNS time budget of the check per stage: a list that has
	// not answered by then is skipped with a *_TIMEOUT symbol.
	Budget Duration `toml:"budget"`
	// MaxDomains bounds the URL domains looked up per message (URIBL only).
	MaxDomains int `toml:"max_domains"`
	// Zone holds per-list settings: [envelope.dnsbl.zone."zen.spamhaus.org"].
	Zone map[string]ZoneOptions `toml:"zone"`
}

// ZoneOptions are the per-list settings of a DNS list.
type ZoneOptions struct {
	Mode string `toml:"mode"` // overrides the section's mode
	// Weight multiplies the listed symbol's weight for this list (1 when unset).
	Weight *float64 `toml:"weight"`
	// Codes maps return addresses to their meaning ("127.0.0.2" = "SBL");
	// codes not named here count as "listed".
	Codes map[string]string `toml:"codes"`
	// Ignore lists return codes that do not count (e.g. a PBL code).
	Ignore []string `toml:"ignore"`
}

// HELOPolicy is [envelope.helo].
type HELOPolicy struct {
	// Policy: "off", "lenient", "rfc" or "strict" (see deploy/mailwarden.toml).
	Policy string `toml:"policy"`
	Action string `toml:"action"` // "reject" or "score"
	// OurNames: host names only we may use (server.hostname is always one).
	OurNames []string `toml:"our_names"`
	// OurAddresses: our IP addresses (a client using one in HELO forges it).
	OurAddresses []string `toml:"our_addresses"`
}

// EnvLists is [envelope.lists]: SME's qpsmtpd list files, with their names.
type EnvLists struct {
	BadMailFrom      []string   `toml:"badmailfrom"`
	BadRcptTo        []string   `toml:"badrcptto"`
	BadMailFromTo    [][]string `toml:"badmailfromto"` // [["sender pattern", "recipient pattern"], ...]
	WhitelistHosts   []string   `toml:"whitelisthosts"`
	WhitelistHelo    []string   `toml:"whitelisthelo"`
	WhitelistSenders []string   `toml:"whitelistsenders"`
}

// FromHost is [envelope.resolvable_fromhost].
type FromHost struct {
	Enabled bool `toml:"enabled"`
}

// InternalRcpt is [envelope.internal]: SME "Visible internal" recipients.
type InternalRcpt struct {
	Recipients []string `toml:"recipients"`
}

// Envelope defaults, as SME ships them (DNS lists off until the admin turns
// "DNSBL status" on; resolvable_fromhost on).
const (
	// DefaultDNSBudget: a list lookup is one round trip (~50 ms); 5 s leaves
	// room for one retry and is far inside Postfix's 30 s command timeout.
	DefaultDNSBudget = 5 * time.Second
	// MaxDNSBudget keeps the DNS work of a stage inside Postfix's 30 s
	// smtpd_policy_service_timeout / milter_command_timeout.
	MaxDNSBudget = 20 * time.Second
	// DefaultURIBLMaxDomains: a spam message links a handful of domains;
	// more than 20 lookups per message is a DNS amplification risk.
	DefaultURIBLMaxDomains = 20
	// MaxURIBLMaxDomains bounds the setting itself.
	MaxURIBLMaxDomains = 200
)

func defaultEnvelope() Envelope {
	return Envelope{
		ExemptRecipients:   []string{"postmaster@", "abuse@"},
		DNSBL:              DNSList{Zones: []string{"zen.spamhaus.org"}, Mode: "reject", Budget: Duration{DefaultDNSBudget}},
		RHSBL:              DNSList{Zones: []string{"dbl.spamhaus.org"}, Mode: "reject", Budget: Duration{DefaultDNSBudget}},
		URIBL:              DNSList{Zones: []string{"multi.uribl.com", "dbl.spamhaus.org"}, Mode: "score", Budget: Duration{DefaultDNSBudget}, MaxDomains: DefaultURIBLMaxDomains},
		HELO:               HELOPolicy{Policy: "lenient", Action: "reject"},
		ResolvableFromHost: FromHost{Enabled: true},
	}
}

var heloPolicies = map[string]bool{"off": true, "lenient": true, "rfc": true, "strict": true}

func (c *Config) validateEnvelope() Problems {
	var ps Problems
	add := func(key, format string, args ...any) { ps = append(ps, c.problem(key, format, args...)) }
	e := c.Envelope
	addrList := func(key string, l []string) {
		if _, errs := pattern.ParseList(l); len(errs) > 0 {
			for _, err := range errs {
				add(key, "%v", err)
			}
		}
	}
	addrList("envelope.exempt_recipients", e.ExemptRecipients)
	for name, l := range map[string]DNSList{"dnsbl": e.DNSBL, "rhsbl": e.RHSBL, "uribl": e.URIBL} {
		key := "envelope." + name
		if l.Mode != "reject" && l.Mode != "score" {
			add(key+".mode", "invalid mode %q (reject or score)", l.Mode)
		}
		if l.Budget.Duration <= 0 || l.Budget.Duration > MaxDNSBudget {
			add(key+".budget", "must be between 0 and %s (Postfix gives a command 30s)", MaxDNSBudget)
		} else if ct := c.Engine.CheckTimeout.Duration; ct > 0 && l.Budget.Duration >= ct && c.lines[key+".budget"] > 0 {
			// The engine would abandon the whole check (CHECK_TIMEOUT)
			// before the slow list could be skipped on its own (*_TIMEOUT).
			// A default budget is capped at wiring time instead.
			add(key+".budget", "budget %s must be shorter than engine.check_timeout %s", l.Budget.Duration, ct)
		}
		if l.Enabled && len(l.Zones) == 0 {
			add(key+".zones", "enabled with no zones")
		}
		for _, z := range l.Zones {
			if err := checkZone(z); err != nil {
				add(key+".zones", "%v", err)
			}
		}
		if name == "uribl" && (l.MaxDomains < 1 || l.MaxDomains > MaxURIBLMaxDomains) {
			add(key+".max_domains", "must be between 1 and %d", MaxURIBLMaxDomains)
		} else if name != "uribl" && l.MaxDomains != 0 {
			add(key+".max_domains", "only [envelope.uribl] has max_domains")
		}
		for zone, zo := range l.Zone {
			zkey := key + ".zone." + zone
			if !containsFold(l.Zones, zone) {
				add(zkey, "settings for zone %q, which is not in %s.zones", zone, key)
			}
			if zo.Mode != "" && zo.Mode != "reject" && zo.Mode != "score" {
				add(zkey+".mode", "invalid mode %q (reject or score)", zo.Mode)
			}
			if zo.Weight != nil && (*zo.Weight < -100 || *zo.Weight > 100) {
				add(zkey+".weight", "must be between -100 and 100")
			}
			for code := range zo.Codes {
				if _, err := netip.ParseAddr(code); err != nil {
					add(zkey+".codes", "return code %q is not an IP address", code)
				}
			}
			for _, code := range zo.Ignore {
				if _, err := netip.ParseAddr(code); err != nil {
					add(zkey+".ignore", "return code %q is not an IP address", code)
				}
			}
		}
	}
	h := e.HELO
	if !heloPolicies[h.Policy] {
		add("envelope.helo.policy", "invalid policy %q (off, lenient, rfc or strict)", h.Policy)
	}
	if h.Action != "reject" && h.Action != "score" {
		add("envelope.helo.action", "invalid action %q (reject or score)", h.Action)
	}
	if _, errs := pattern.ParseHostList(h.OurNames); len(errs) > 0 {
		for _, err := range errs {
			add("envelope.helo.our_names", "%v", err)
		}
	}
	for _, a := range h.OurAddresses {
		if _, err := netip.ParseAddr(strings.TrimSpace(a)); err != nil {
			add("envelope.helo.our_addresses", "invalid address %q", a)
		}
	}
	l := e.Lists
	addrList("envelope.lists.badmailfrom", l.BadMailFrom)
	addrList("envelope.lists.badrcptto", l.BadRcptTo)
	addrList("envelope.lists.whitelistsenders", l.WhitelistSenders)
	for i, pair := range l.BadMailFromTo {
		if len(pair) != 2 {
			add("envelope.lists.badmailfromto", "entry %d: want a [sender, recipient] pair, got %d items", i+1, len(pair))
			continue
		}
		if _, err := pattern.ParsePair(pair[0], pair[1]); err != nil {
			add("envelope.lists.badmailfromto", "entry %d: %v", i+1, err)
		}
	}
	if _, errs := pattern.ParseHostList(l.WhitelistHelo); len(errs) > 0 {
		for _, err := range errs {
			add("envelope.lists.whitelisthelo", "%v", err)
		}
	}
	if _, err := HostPrefixes(l.WhitelistHosts); err != nil {
		add("envelope.lists.whitelisthosts", "%v", err)
	}
	addrList("envelope.internal.recipients", e.Internal.Recipients)
	return ps
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// checkZone validates a DNS list zone name.
func checkZone(z string) error {
	if z == "" || len(z) > 200 || strings.ContainsAny(z, " \t@/:") || !strings.Contains(strings.Trim(z, "."), ".") {
		return fmt.Errorf("invalid zone %q (write a DNS name such as zen.spamhaus.org)", z)
	}
	return nil
}

// HostPrefixes parses SME whitelisthosts entries: addresses, CIDR networks,
// and qpsmtpd's partial IPv4 addresses ending in a dot ("192.168.1." is
// 192.168.1.0/24, "10." is 10.0.0.0/8).
func HostPrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		t := strings.TrimSpace(s)
		if strings.HasSuffix(t, ".") && !strings.Contains(t, "/") {
			octets := strings.Split(strings.TrimSuffix(t, "."), ".")
			if len(octets) >= 1 && len(octets) <= 3 {
				full := append(octets, make([]string, 4-len(octets))...)
				for i := len(octets); i < 4; i++ {
					full[i] = "0"
				}
				if p, err := netip.ParsePrefix(strings.Join(full, ".") + "/" + fmt.Sprint(8*len(octets))); err == nil {
					out = append(out, p)
					continue
				}
			}
			return nil, fmt.Errorf("invalid partial address %q (write e.g. \"192.168.1.\" or 192.168.1.0/24)", s)
		}
		p, err := ParsePrefix(t)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
