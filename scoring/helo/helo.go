// Package helo implements SME's HELO policy (qpsmtpd's helo plugin) as an
// engine check, usable from the milter and the Postfix policy server. The
// policy ([envelope.helo] policy) is one of:
//
//	off      no HELO check.
//	lenient  refuse known-bad and forged names only:
//	         - one of our own host names (server.hostname, our_names):
//	           HELO_OUR_NAME;
//	         - one of our own addresses (our_addresses, the addresses of this
//	           host's interfaces, the MTA's listening address), bracketed or
//	           bare, unless it is also the client's address: HELO_OUR_IP;
//	         - "localhost", "localhost.localdomain" or a name under
//	           ".localhost" (RFC 6761 6.3) from a client that is not on
//	           loopback: HELO_LOCALHOST;
//	         - an address literal, or a bare IP address, that is not the
//	           client's address: HELO_LITERAL_MISMATCH.
//	rfc      lenient, plus RFC 5321 4.1.1.1 syntax: the argument must be a
//	         fully qualified domain name (4.1.2 Domain: two or more labels of
//	         letters, digits and inner hyphens, at most 63 octets each, a
//	         top-level label that is not all digits; a trailing dot is
//	         tolerated) or an address literal of 4.1.3 ("[192.0.2.1]",
//	         "[IPv6:2001:db8::1]"). Symbols: HELO_MISSING (no HELO at all),
//	         HELO_BARE_IP (an address without brackets), HELO_NOT_FQDN (one
//	         label), HELO_SYNTAX (anything else malformed).
//	strict   rfc, plus a domain name must resolve (A or AAAA;
//	         HELO_NXDOMAIN) and one of its addresses must be the client's
//	         (HELO_NO_MATCH). A DNS failure (SERVFAIL, timeout) is never held
//	         against the client: HELO_DNS_FAIL, weight 0.
//
// Action ([envelope.helo] action): "reject" refuses at RCPT with 550 5.7.1
// naming the reason (exempt recipients such as postmaster@ still get mail),
// "score" only adds the symbols. The check runs at RCPT, like the DNS lists,
// for the remote profile only; a HELO in whitelisthelo (scoring/envlists)
// whitelists the message before this check runs.
//
// Symbols and default weights: HELO_OUR_NAME 3, HELO_OUR_IP 3,
// HELO_LOCALHOST 3, HELO_LITERAL_MISMATCH 2, HELO_MISSING 1, HELO_BARE_IP 2,
// HELO_NOT_FQDN 2, HELO_SYNTAX 2, HELO_NXDOMAIN 2, HELO_NO_MATCH 1,
// HELO_DNS_FAIL 0.
//
// Config: [envelope.helo] policy, action, our_names, our_addresses;
// [envelope] exempt_recipients; [envelope.lists] whitelisthelo.
package helo

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/resolver"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/envlists/pattern"
)

// Policy is how strict the check is.
type Policy int

const (
	Off Policy = iota
	Lenient
	RFC
	Strict
)

var policyNames = map[string]Policy{"off": Off, "lenient": Lenient, "rfc": RFC, "strict": Strict}

// ParsePolicy parses a policy name.
func ParsePolicy(s string) (Policy, error) {
	p, ok := policyNames[strings.ToLower(s)]
	if !ok {
		return Off, fmt.Errorf("unknown HELO policy %q (off, lenient, rfc, strict)", s)
	}
	return p, nil
}

// Symbols.
const (
	SymOurName         = "HELO_OUR_NAME"
	SymOurIP           = "HELO_OUR_IP"
	SymLocalhost       = "HELO_LOCALHOST"
	SymLiteralMismatch = "HELO_LITERAL_MISMATCH"
	SymMissing         = "HELO_MISSING"
	SymBareIP          = "HELO_BARE_IP"
	SymNotFQDN         = "HELO_NOT_FQDN"
	SymSyntax          = "HELO_SYNTAX"
	SymNXDomain        = "HELO_NXDOMAIN"
	SymNoMatch         = "HELO_NO_MATCH"
	SymDNSFail         = "HELO_DNS_FAIL"
)

// MaxHELO bounds the HELO argument we look at: RFC 5321 4.5.3.1.2 limits a
// domain to 255 octets; an address literal is shorter.
const MaxHELO = 255

// DefaultBudget is the DNS budget of the strict policy's lookup.
const DefaultBudget = 5 * time.Second

// Config of the check.
type Config struct {
	Policy   Policy
	Reject   bool
	OurNames pattern.List // host patterns; include server.hostname
	OurAddrs []netip.Addr
	// DetectAddrs adds the addresses of this host's interfaces to OurAddrs.
	DetectAddrs bool
	Exempt      pattern.List
	Resolver    *resolver.Resolver // strict policy only
	Budget      time.Duration
	Logger      hclog.Logger
}

// Check is the HELO policy check.
type Check struct {
	cfg  Config
	ours map[netip.Addr]bool
}

var (
	_ scoring.Check    = (*Check)(nil)
	_ scoring.Profiled = (*Check)(nil)
	_ scoring.Blocking = (*Check)(nil)
)

// New returns the check.
func New(cfg Config) *Check {
	if cfg.Budget <= 0 {
		cfg.Budget = DefaultBudget
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	c := &Check{cfg: cfg, ours: map[netip.Addr]bool{}}
	for _, a := range cfg.OurAddrs {
		c.ours[a.Unmap()] = true
	}
	if cfg.DetectAddrs {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			// Under a sandbox without AF_NETLINK, for one: HELOs forged
			// with our own IP would go unnoticed, so say it.
			cfg.Logger.Warn("cannot list this host's addresses; set [envelope.helo] our_addresses", "error", err)
		}
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				c.ours[p.Addr().Unmap()] = true
			}
		}
	}
	return c
}

func (c *Check) Name() string         { return "helo" }
func (c *Check) Stage() scoring.Stage { return scoring.StageRcpt }
func (c *Check) DefaultProfiles() []scoring.Profile {
	if c.cfg.Policy == Off {
		return nil // symbols stay declared for [scores]
	}
	return []scoring.Profile{scoring.ProfileRemote}
}
func (c *Check) Blocking() bool { return c.cfg.Policy == Strict }

func (c *Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{
		{Name: SymOurName, Weight: 3, Description: "HELO uses one of our own host names"},
		{Name: SymOurIP, Weight: 3, Description: "HELO uses one of our own addresses"},
		{Name: SymLocalhost, Weight: 3, Description: "HELO claims to be localhost"},
		{Name: SymLiteralMismatch, Weight: 2, Description: "HELO address is not the client's address"},
		{Name: SymMissing, Weight: 1, Description: "Client sent no HELO/EHLO"},
		{Name: SymBareIP, Weight: 2, Description: "HELO is an IP address without brackets"},
		{Name: SymNotFQDN, Weight: 2, Description: "HELO is not a fully qualified domain name"},
		{Name: SymSyntax, Weight: 2, Description: "HELO is not a domain or address literal (RFC 5321 4.1.1.1)"},
		{Name: SymNXDomain, Weight: 2, Description: "HELO name does not resolve"},
		{Name: SymNoMatch, Weight: 1, Description: "HELO name does not resolve to the client's address"},
		{Name: SymDNSFail, Weight: 0, Description: "HELO name lookup failed (temporary)"},
	}
}

// Finding is one thing wrong with a HELO.
type Finding struct {
	Symbol string
	Reason string // for the reply and the log
	Hard   bool   // refused in reject mode (HELO_DNS_FAIL is not)
}

// Run implements scoring.Check.
func (c *Check) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if c.cfg.Policy == Off {
		return nil
	}
	if _, ok := c.cfg.Exempt.Match(tx.Rcpt); ok && tx.Rcpt != "" {
		return nil
	}
	fs := tx.Memo("helo.findings", func() any { return c.Evaluate(ctx, tx.Client.HELO, tx.Client.Addr, tx.Client.DaemonAddr) }).([]Finding)
	var hard *Finding
	for i, f := range fs {
		r.Add(f.Symbol, f.Reason)
		if f.Hard && hard == nil {
			hard = &fs[i]
		}
	}
	if hard != nil && c.cfg.Reject {
		r.Force(scoring.Reject, scoring.Reply{Code: 550, Enhanced: "5.7.1",
			Text: "HELO/EHLO " + printable(tx.Client.HELO) + " refused: " + hard.Reason},
			"helo policy: "+hard.Symbol+" "+hard.Reason)
	}
	return nil
}

// Evaluate applies the policy to a HELO argument from a client.
func (c *Check) Evaluate(ctx context.Context, helo string, client netip.Addr, daemonAddr string) []Finding {
	client = client.Unmap()
	helo = strings.TrimSpace(helo)
	var fs []Finding
	add := func(sym, reason string, hard bool) { fs = append(fs, Finding{sym, reason, hard}) }
	if helo == "" {
		if c.cfg.Policy >= RFC {
			add(SymMissing, "no HELO/EHLO given", true)
		}
		return fs
	}
	if len(helo) > MaxHELO {
		add(SymSyntax, "name too long", c.cfg.Policy >= RFC)
		return fs
	}
	name := strings.ToLower(strings.TrimSuffix(helo, "."))
	lit, isLit, litOK := parseLiteral(name)
	bare, bareErr := netip.ParseAddr(name)
	isBare := bareErr == nil

	// lenient: forged or known-bad names.
	ours := c.ours
	if a, err := netip.ParseAddr(hostOf(daemonAddr)); err == nil {
		ours = copyWith(ours, a.Unmap())
	}
	switch {
	case isLit && lit.IsValid() || isBare:
		a := lit
		if isBare {
			a = bare.Unmap()
		}
		switch {
		case a == client:
		case ours[a]:
			add(SymOurIP, "that is our address, not yours", true)
		default:
			add(SymLiteralMismatch, "address "+a.String()+" is not yours ("+client.String()+")", true)
		}
	case isLocalhost(name):
		if !client.IsLoopback() {
			add(SymLocalhost, "you are not localhost", true)
		}
	default:
		if p, ok := c.cfg.OurNames.Match(name); ok {
			add(SymOurName, "that is our name ("+p.String()+"), not yours", true)
		}
	}
	if c.cfg.Policy < RFC {
		return fs
	}
	// rfc: RFC 5321 4.1.1.1 syntax.
	switch {
	case isBare:
		add(SymBareIP, "an address must be written in brackets (RFC 5321 4.1.3)", true)
		return fs
	case isLit && !litOK:
		add(SymSyntax, "malformed address literal (RFC 5321 4.1.3)", true)
		return fs
	case isLit:
		return fs // a valid literal of the client's address (checked above)
	case isLocalhost(name) && client.IsLoopback():
		return fs
	}
	switch domainSyntax(name) {
	case "":
	case "single label":
		add(SymNotFQDN, "not a fully qualified domain name (RFC 5321 4.1.1.1)", true)
		return fs
	default:
		add(SymSyntax, "not a valid domain name (RFC 5321 4.1.2)", true)
		return fs
	}
	if c.cfg.Policy < Strict || c.cfg.Resolver == nil {
		return fs
	}
	// strict: the name must resolve to the client.
	lctx, cancel := context.WithTimeout(ctx, c.cfg.Budget)
	defer cancel()
	start := time.Now()
	addrs, err := c.cfg.Resolver.LookupIP(lctx, name)
	c.cfg.Logger.Debug("helo lookup", "name", name, "addrs", len(addrs), "error", err, "ms", time.Since(start).Milliseconds())
	switch {
	case resolver.IsNotFound(err):
		add(SymNXDomain, "name does not resolve", true)
	case err != nil:
		add(SymDNSFail, "lookup failed", false)
	default:
		for _, a := range addrs {
			if a.Unmap() == client {
				return fs
			}
		}
		add(SymNoMatch, "name does not resolve to your address "+client.String(), true)
	}
	return fs
}

func copyWith(m map[netip.Addr]bool, a netip.Addr) map[netip.Addr]bool {
	if m[a] {
		return m
	}
	out := make(map[netip.Addr]bool, len(m)+1)
	for k := range m {
		out[k] = true
	}
	out[a] = true
	return out
}

// hostOf strips a port from "192.0.2.1:25" / "[::1]:25", leaves an address.
func hostOf(s string) string {
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return strings.Trim(s, "[]")
}

func isLocalhost(name string) bool {
	return name == "localhost" || name == "localhost.localdomain" || strings.HasSuffix(name, ".localhost")
}

// parseLiteral parses an RFC 5321 4.1.3 address literal. isLit: the
// argument is bracketed; ok: it holds a valid IPv4 literal or a tagged IPv6
// literal. An untagged IPv6 address in brackets is returned with ok=false
// but its address set, so that lenient can still compare it.
func parseLiteral(s string) (a netip.Addr, isLit, ok bool) {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return netip.Addr{}, false, false
	}
	in := s[1 : len(s)-1]
	if v6, found := strings.CutPrefix(strings.ToLower(in), "ipv6:"); found {
		a, err := netip.ParseAddr(v6)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Addr{}, true, false
		}
		return a.Unmap(), true, true
	}
	a, err := netip.ParseAddr(in)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, true, false
	}
	if a.Is4() {
		return a, true, true
	}
	return a.Unmap(), true, false
}

// domainSyntax checks RFC 5321 4.1.2 Domain syntax and says what is wrong
// ("" when nothing): sub-domain = Let-dig [Ldh-str], dot separated.
func domainSyntax(name string) string {
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "bad label"
		}
		for i := 0; i < len(l); i++ {
			ch := l[i]
			letdig := ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9'
			if !letdig && !(ch == '-' && i > 0 && i < len(l)-1) {
				return "bad character"
			}
		}
	}
	if len(labels) < 2 {
		return "single label"
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return "numeric top-level label"
	}
	return ""
}

// printable makes a client-chosen name safe for a reply line.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	b := []byte(s)
	for i, ch := range b {
		if ch < 0x21 || ch > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}
