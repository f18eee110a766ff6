package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/net/publicsuffix"

	"github.com/mailwarden/mailwarden/internal/resolver"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/envlists/pattern"
)

// Symbols.
const (
	SymRBLListed     = "RBL_LISTED"
	SymRBLTimeout    = "RBL_TIMEOUT"
	SymRBLError      = "RBL_ERROR"
	SymRHSBLListed   = "RHSBL_LISTED"
	SymRHSBLTimeout  = "RHSBL_TIMEOUT"
	SymRHSBLError    = "RHSBL_ERROR"
	SymURIBLListed   = "URIBL_LISTED"
	SymURIBLTimeout  = "URIBL_TIMEOUT"
	SymURIBLError    = "URIBL_ERROR"
	DefaultListedW   = 3.0
	DefaultBudget    = 5 * time.Second
	DefaultMaxDomain = 20
)

// errNoResolver: the check was built without a resolver (config check).
var errNoResolver = errors.New("no DNS resolver configured")

// Config of one of the three checks.
type Config struct {
	Zones    []Zone
	Budget   time.Duration // 0: DefaultBudget
	Exempt   pattern.List  // recipients that still get mail (DNSBL/RHSBL)
	Resolver *resolver.Resolver
	Logger   hclog.Logger
	// MaxDomains bounds URIBL lookups per message (0: DefaultMaxDomain).
	MaxDomains int
	// Disabled (SME status "disabled"): the check is planned for no profile
	// (its symbols stay declared, so [scores] may name them).
	Disabled bool
}

func (c *Config) defaults() {
	if c.Budget <= 0 {
		c.Budget = DefaultBudget
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.MaxDomains <= 0 {
		c.MaxDomains = DefaultMaxDomain
	}
}

// kind carries what differs between the three checks.
type kind struct {
	name                    string
	listed, timeout, failed string
	what                    string // for descriptions and replies
}

var (
	rbl   = kind{"dnsbl", SymRBLListed, SymRBLTimeout, SymRBLError, "client IP"}
	rhsbl = kind{"rhsbl", SymRHSBLListed, SymRHSBLTimeout, SymRHSBLError, "sender domain"}
	uribl = kind{"uribl", SymURIBLListed, SymURIBLTimeout, SymURIBLError, "URL domain"}
)

func (k kind) symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{
		{Name: k.listed, Weight: DefaultListedW, Description: strings.ToUpper(k.what[:1]) + k.what[1:] + " is on a DNS list"},
		{Name: k.timeout, Weight: 0, Description: "A " + k.name + " list did not answer within the DNS budget"},
		{Name: k.failed, Weight: 0, Description: "A " + k.name + " list lookup failed"},
	}
}

// base is what the three checks share.
type base struct {
	k   kind
	cfg Config
}

func (b *base) Name() string                 { return b.k.name }
func (b *base) Symbols() []scoring.SymbolDef { return b.k.symbols() }
func (b *base) Blocking() bool               { return true }
func (b *base) DefaultProfiles() []scoring.Profile {
	if b.cfg.Disabled {
		return nil
	}
	return []scoring.Profile{scoring.ProfileRemote}
}

// Zones returns the configured lists (for the status command).
func (b *base) Zones() []Zone { return b.cfg.Zones }

// report turns hits into symbols and, for lists in reject mode, a refusal.
func (b *base) report(r *scoring.Result, hits []Hit) {
	var listed, timeouts, failed []string
	factor := 0.0
	var reject *Hit
	for i := range hits {
		h := &hits[i]
		switch h.Status {
		case Listed:
			listed = append(listed, h.Zone.Name+":"+h.Subject+":"+strings.Join(h.Meanings, "+"))
			factor += h.Zone.Weight
			if h.Zone.Reject && reject == nil {
				reject = h
			}
		case Timeout:
			timeouts = appendOnce(timeouts, h.Zone.Name)
		case Failed:
			failed = appendOnce(failed, h.Zone.Name)
		}
	}
	if len(listed) > 0 {
		r.AddScaled(b.k.listed, factor, listed...)
	}
	if len(timeouts) > 0 {
		r.Add(b.k.timeout, timeouts...)
	}
	if len(failed) > 0 {
		r.Add(b.k.failed, failed...)
	}
	if reject != nil {
		r.Force(scoring.Reject, b.reply(reject), fmt.Sprintf("%s %s listed by %s (%s)", b.k.what, reject.Subject, reject.Zone.Name, strings.Join(reject.Meanings, ",")))
	}
}

func (b *base) reply(h *Hit) scoring.Reply {
	why := h.Detail
	if why == "" {
		why = fmt.Sprintf("%s %s is listed (%s)", b.k.what, h.Subject, strings.Join(h.Meanings, ", "))
	}
	code := 554 // as Postfix's reject_rbl_client
	if b.k.name != "dnsbl" {
		code = 550
	}
	return scoring.Reply{Code: code, Enhanced: "5.7.1", Text: "Blocked by " + h.Zone.Name + ": " + why}
}

func appendOnce(l []string, s string) []string {
	for _, v := range l {
		if v == s {
			return l
		}
	}
	return append(l, s)
}

// exempt reports whether the recipient being judged still gets mail.
func (b *base) exempt(tx *scoring.Transaction) bool {
	_, ok := b.cfg.Exempt.Match(tx.Rcpt)
	return ok && tx.Rcpt != ""
}

// DNSBL checks the client IP (SME RBLList).
type DNSBL struct{ base }

// RHSBL checks the envelope sender's domain (SME SBLList).
type RHSBL struct{ base }

var (
	_ scoring.Check    = (*DNSBL)(nil)
	_ scoring.Blocking = (*DNSBL)(nil)
	_ scoring.Profiled = (*DNSBL)(nil)
	_ scoring.Check    = (*RHSBL)(nil)
	_ scoring.Check    = (*URIBL)(nil)
)

// NewDNSBL returns the DNSBL check.
func NewDNSBL(cfg Config) *DNSBL {
	cfg.defaults()
	cfg.Logger = cfg.Logger.Named("dnsbl")
	return &DNSBL{base{rbl, cfg}}
}

// NewRHSBL returns the RHSBL check.
func NewRHSBL(cfg Config) *RHSBL {
	cfg.defaults()
	cfg.Logger = cfg.Logger.Named("rhsbl")
	return &RHSBL{base{rhsbl, cfg}}
}

func (*DNSBL) Stage() scoring.Stage { return scoring.StageRcpt }
func (*RHSBL) Stage() scoring.Stage { return scoring.StageRcpt }

// Run implements scoring.Check.
func (c *DNSBL) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	ip := tx.Client.Addr
	if !ip.IsValid() || c.exempt(tx) {
		return nil
	}
	if c.cfg.Resolver == nil {
		return errNoResolver
	}
	// Once per message, however many recipients (Postfix asks per recipient).
	hits := tx.Memo("dnsbl.client", func() any {
		return Lookup(ctx, c.cfg.Resolver, c.cfg.Logger, c.cfg.Budget, []Query{IPQuery(ip)}, c.cfg.Zones)
	}).([]Hit)
	c.report(r, hits)
	return nil
}

// Run implements scoring.Check.
func (c *RHSBL) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if c.exempt(tx) {
		return nil
	}
	qs := DomainQueries(tx.SenderDomain())
	if len(qs) == 0 {
		return nil
	}
	if c.cfg.Resolver == nil {
		return errNoResolver
	}
	hits := tx.Memo("rhsbl.sender", func() any {
		return Lookup(ctx, c.cfg.Resolver, c.cfg.Logger, c.cfg.Budget, qs, c.cfg.Zones)
	}).([]Hit)
	c.report(r, hits)
	return nil
}

// DomainQueries returns the queries for a domain: the domain itself and,
// when different, its registered domain (DBL lists both forms). Null
// senders, address literals and names that are not host names give none.
func DomainQueries(d string) []Query {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	if !IsHostname(d) {
		return nil
	}
	qs := []Query{{Subject: d, Labels: d}}
	if reg, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil && reg != d {
		qs = append(qs, Query{Subject: reg, Labels: reg})
	}
	return qs
}

// IsHostname reports whether s is a plausible DNS host name with at least
// two labels (RFC 1123 2.1 letters, digits, hyphens; underscores tolerated).
func IsHostname(s string) bool {
	if len(s) == 0 || len(s) > maxName || !strings.Contains(s, ".") {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	// An all-numeric name is an address, not a host name.
	if _, err := netip.ParseAddr(s); err == nil {
		return false
	}
	return true
}

// sortedZoneNames is for logs and status output.
func sortedZoneNames(zs []Zone) []string {
	out := make([]string, len(zs))
	for i, z := range zs {
		out[i] = z.Name
	}
	sort.Strings(out)
	return out
}
