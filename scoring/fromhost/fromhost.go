// Package fromhost implements SME's resolvable_fromhost (qpsmtpd's
// require_resolvable_fromhost plugin) as an engine check usable from the
// milter and the Postfix policy server: the envelope sender's domain must
// exist in the DNS with an MX or an address (A/AAAA) record, or bounces to
// it could not be delivered (RFC 5321 5.1: a domain receives mail through
// its MX, or its address record when it has none).
//
//   - MX or A/AAAA found: nothing to say.
//   - neither (NXDOMAIN, or the domain has no such records): refused with
//     550 5.1.8 "Sender address rejected: Domain not found".
//     Symbol FROMHOST_UNRESOLVABLE (0; the check refuses).
//   - a null MX (RFC 7505 3: a single MX "." of preference 0): the domain
//     says it takes no mail, so it cannot take bounces either: 550 5.1.8
//     (RFC 7505 4.2). Symbol FROMHOST_NULL_MX (0).
//   - a DNS failure (SERVFAIL, timeout): deferred with 451 4.1.8, never
//     refused; the client retries later. Symbol FROMHOST_DNS_FAIL (0).
//
// The null sender <> (bounces, RFC 5321 4.5.5) and address-literal domains
// are exempt. MX and address records are asked in parallel (one round
// trip), once per message. The check runs at RCPT (both front-ends refuse
// there), for the remote profile only.
//
// Config: [envelope.resolvable_fromhost] enabled.
package fromhost

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/resolver"
	"github.com/mailwarden/mailwarden/scoring"
)

// Symbols.
const (
	SymUnresolvable = "FROMHOST_UNRESOLVABLE"
	SymNullMX       = "FROMHOST_NULL_MX"
	SymDNSFail      = "FROMHOST_DNS_FAIL"
)

// DefaultBudget bounds the lookups: inside Postfix's 30 s command timeout
// with room for the other checks of the stage.
const DefaultBudget = 5 * time.Second

// Config of the check.
type Config struct {
	Resolver *resolver.Resolver
	Budget   time.Duration
	Logger   hclog.Logger
	// Disabled: planned for no profile (symbols stay declared for [scores]).
	Disabled bool
}

// Check is the resolvable_fromhost check.
type Check struct{ cfg Config }

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
	return &Check{cfg: cfg}
}

func (c *Check) Name() string         { return "resolvable_fromhost" }
func (c *Check) Stage() scoring.Stage { return scoring.StageRcpt }
func (c *Check) DefaultProfiles() []scoring.Profile {
	if c.cfg.Disabled {
		return nil
	}
	return []scoring.Profile{scoring.ProfileRemote}
}
func (c *Check) Blocking() bool { return true }

func (c *Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{
		{Name: SymUnresolvable, Description: "Sender domain has no MX or address record"},
		{Name: SymNullMX, Description: "Sender domain publishes a null MX (RFC 7505)"},
		{Name: SymDNSFail, Description: "Sender domain lookup failed temporarily"},
	}
}

// Outcome is what the lookup found for a domain.
type Outcome string

const (
	OK           Outcome = "ok"
	Unresolvable Outcome = "unresolvable"
	NullMX       Outcome = "null-mx"
	DNSFail      Outcome = "dns-fail"
)

// Run implements scoring.Check.
func (c *Check) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	d := tx.SenderDomain()
	if tx.MailFrom == "" || d == "" || strings.HasPrefix(d, "[") {
		return nil
	}
	if c.cfg.Resolver == nil {
		return errors.New("no DNS resolver configured")
	}
	out := tx.Memo("fromhost.outcome", func() any { return c.Resolve(ctx, d) }).(Outcome)
	from := "<" + tx.MailFrom + ">"
	switch out {
	case Unresolvable:
		r.Add(SymUnresolvable, d)
		r.Force(scoring.Reject, scoring.Reply{Code: 550, Enhanced: "5.1.8", Text: from + ": Sender address rejected: Domain not found"},
			"sender domain "+d+" has no MX or address record")
	case NullMX:
		r.Add(SymNullMX, d)
		r.Force(scoring.Reject, scoring.Reply{Code: 550, Enhanced: "5.1.8", Text: from + ": Sender address rejected: Domain does not accept mail"},
			"sender domain "+d+" publishes a null MX")
	case DNSFail:
		r.Add(SymDNSFail, d)
		r.Force(scoring.Tempfail, scoring.Reply{Code: 451, Enhanced: "4.1.8", Text: from + ": Sender address rejected: Domain lookup failed, try again later"},
			"sender domain "+d+" lookup failed")
	}
	return nil
}

// Resolve looks up a domain's MX and address records in parallel.
func (c *Check) Resolve(ctx context.Context, d string) Outcome {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Budget)
	defer cancel()
	start := time.Now()
	var (
		wg    sync.WaitGroup
		ipErr error
		nIP   int
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		ips, err := c.cfg.Resolver.LookupIP(ctx, d)
		nIP, ipErr = len(ips), err
	}()
	mxs, mxErr := c.cfg.Resolver.LookupMX(ctx, d)
	wg.Wait()
	out := OK
	switch {
	case mxErr == nil && len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == ""):
		out = NullMX // RFC 7505 3
	case mxErr == nil && len(mxs) > 0:
	case ipErr == nil && nIP > 0:
		// No MX: the address record is the implicit MX (RFC 5321 5.1).
	case (mxErr == nil || resolver.IsNotFound(mxErr)) && resolver.IsNotFound(ipErr):
		out = Unresolvable
	default:
		out = DNSFail
	}
	c.cfg.Logger.Debug("sender domain lookup", "domain", d, "mx", len(mxs), "addrs", nIP, "mx_error", mxErr, "addr_error", ipErr,
		"outcome", out, "ms", time.Since(start).Milliseconds())
	return out
}
