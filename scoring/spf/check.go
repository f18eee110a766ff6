package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/authresult"
	"github.com/mailwarden/mailwarden/internal/resolver"
	"github.com/mailwarden/mailwarden/scoring"
)

// Symbols.
const (
	SymPass      = "SPF_PASS"
	SymFail      = "SPF_FAIL"
	SymSoftFail  = "SPF_SOFTFAIL"
	SymNeutral   = "SPF_NEUTRAL"
	SymNone      = "SPF_NONE"
	SymTempError = "SPF_TEMPERROR"
	SymPermError = "SPF_PERMERROR"

	SymHELOPass      = "SPF_HELO_PASS"
	SymHELOFail      = "SPF_HELO_FAIL"
	SymHELOSoftFail  = "SPF_HELO_SOFTFAIL"
	SymHELONeutral   = "SPF_HELO_NEUTRAL"
	SymHELONone      = "SPF_HELO_NONE"
	SymHELOTempError = "SPF_HELO_TEMPERROR"
	SymHELOPermError = "SPF_HELO_PERMERROR"

	// SymRejectPolicy: SME's SPFRejectPolicy refused the sender, applied
	// here because no DMARC check runs (Config.RejectWithoutDMARC).
	SymRejectPolicy = "SPF_REJECT_POLICY"
)

// DefaultBudget is the DNS time budget of one SPF check when the config
// gives none: 10 lookups of a slow domain must still leave Postfix's 30 s
// milter command timeout far away.
const DefaultBudget = 8 * time.Second

var resultSymbols = map[Result][2]string{
	authresult.SPFPass:      {SymPass, SymHELOPass},
	authresult.SPFFail:      {SymFail, SymHELOFail},
	authresult.SPFSoftFail:  {SymSoftFail, SymHELOSoftFail},
	authresult.SPFNeutral:   {SymNeutral, SymHELONeutral},
	authresult.SPFNone:      {SymNone, SymHELONone},
	authresult.SPFTempError: {SymTempError, SymHELOTempError},
	authresult.SPFPermError: {SymPermError, SymHELOPermError},
}

// Config configures the check.
type Config struct {
	Resolver *resolver.Resolver
	// HELOCheck also evaluates the HELO identity ([spf] helo_check).
	HELOCheck bool
	// RejectPolicy is SME's SPFRejectPolicy (0-4), see WouldReject.
	RejectPolicy int
	// RejectWithoutDMARC: no DMARC check runs ([dmarc] enabled = false),
	// so this check refuses by RejectPolicy itself, as SME does for a
	// sender without a DMARC policy. Otherwise the DMARC check decides,
	// once it knows whether the sender publishes a policy.
	RejectWithoutDMARC bool
	// Profiles the check runs for (default: remote).
	Profiles []scoring.Profile
	// Receiver is our host name, %{r} in explanations.
	Receiver string
	// Budget bounds the DNS work of one check ([dns] stage_budget).
	Budget time.Duration
	Logger hclog.Logger
	// Now is the clock for %{t} (nil: time.Now).
	Now func() time.Time
}

// Check is the SPF check.
type Check struct {
	cfg Config
	ev  *Evaluator
}

var (
	_ scoring.Check    = (*Check)(nil)
	_ scoring.Profiled = (*Check)(nil)
	_ scoring.Blocking = (*Check)(nil)
)

// New returns the check.
func New(cfg Config) *Check {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if len(cfg.Profiles) == 0 {
		cfg.Profiles = []scoring.Profile{scoring.ProfileRemote}
	}
	if cfg.Budget <= 0 {
		cfg.Budget = DefaultBudget
	}
	return &Check{cfg: cfg, ev: &Evaluator{Resolver: cfg.Resolver, Now: cfg.Now}}
}

// Name implements scoring.Check.
func (c *Check) Name() string { return "spf" }

// Stage implements scoring.Check.
func (c *Check) Stage() scoring.Stage { return scoring.StageMail }

// Blocking implements scoring.Blocking.
func (c *Check) Blocking() bool { return true }

// DefaultProfiles implements scoring.Profiled.
func (c *Check) DefaultProfiles() []scoring.Profile { return c.cfg.Profiles }

// Symbols implements scoring.Check.
func (c *Check) Symbols() []scoring.SymbolDef { return Symbols() }

// Symbols lists the symbols with their default weights (SpamAssassin's).
func Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{
		{Name: SymPass, Weight: -0.001, Description: "SPF: sender is authorized to use the MAIL FROM domain"},
		{Name: SymFail, Weight: 0.919, Description: "SPF: sender is not authorized to use the MAIL FROM domain"},
		{Name: SymSoftFail, Weight: 0.665, Description: "SPF: sender is probably not authorized (softfail)"},
		{Name: SymNeutral, Weight: 0.652, Description: "SPF: the MAIL FROM domain asserts nothing about the sender (neutral)"},
		{Name: SymNone, Weight: 0.001, Description: "SPF: the MAIL FROM domain publishes no SPF record"},
		{Name: SymTempError, Weight: 0, Description: "SPF: temporary DNS error evaluating the MAIL FROM policy"},
		{Name: SymPermError, Weight: 0.01, Description: "SPF: the MAIL FROM policy is broken (permerror)"},
		{Name: SymHELOPass, Weight: -0.001, Description: "SPF: HELO name authorizes the client"},
		{Name: SymHELOFail, Weight: 0.919, Description: "SPF: HELO name does not authorize the client"},
		{Name: SymHELOSoftFail, Weight: 0.665, Description: "SPF: HELO name probably does not authorize the client"},
		{Name: SymHELONeutral, Weight: 0.652, Description: "SPF: HELO name asserts nothing (neutral)"},
		{Name: SymHELONone, Weight: 0.001, Description: "SPF: HELO name publishes no SPF record"},
		{Name: SymHELOTempError, Weight: 0, Description: "SPF: temporary DNS error evaluating the HELO policy"},
		{Name: SymHELOPermError, Weight: 0.01, Description: "SPF: the HELO policy is broken (permerror)"},
		{Name: SymRejectPolicy, Weight: 0, Description: "SPF: refused by SME's SPFRejectPolicy ([spf] reject_policy; DMARC off)"},
	}
}

// WouldReject applies SME's SPFRejectPolicy to a result: 0 never, 1 on
// fail, 2 also softfail, 3 also neutral, 4 also on errors and no record.
func WouldReject(policy int, r Result) bool {
	switch r {
	case authresult.SPFFail:
		return policy >= 1
	case authresult.SPFSoftFail:
		return policy >= 2
	case authresult.SPFNeutral:
		return policy >= 3
	case authresult.SPFTempError, authresult.SPFPermError, authresult.SPFNone:
		return policy >= 4
	}
	return false
}

// Run implements scoring.Check.
func (c *Check) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	ip := tx.Client.Addr
	if !ip.IsValid() {
		return nil // no client address (local submission): nothing to check
	}
	if c.cfg.Resolver == nil {
		return errors.New("spf: no DNS resolver")
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Budget)
	defer cancel()
	req := Request{IP: ip, Sender: tx.MailFrom, HELO: tx.Client.HELO, Receiver: c.cfg.Receiver}

	var helo *authresult.SPF
	if c.cfg.HELOCheck && tx.Client.HELO != "" {
		out := c.ev.CheckHELO(ctx, req)
		helo = c.record(out, authresult.SPFScopeHELO, ip)
		tx.SetValue(authresult.KeySPFHELO, helo)
		r.Add(resultSymbols[out.Result][1], out.Domain)
		c.log(tx, "helo", out)
	}

	var res *authresult.SPF
	if tx.MailFrom == "" {
		// RFC 7208 2.4: with a null reverse-path the MAIL FROM identity is
		// postmaster@HELO; the HELO result is the answer.
		if helo != nil {
			cp := *helo
			res = &cp
		} else {
			out := c.ev.CheckHELO(ctx, req)
			res = c.record(out, authresult.SPFScopeHELO, ip)
			c.log(tx, "helo", out)
		}
	} else {
		out := c.ev.CheckHost(ctx, req)
		res = c.record(out, authresult.SPFScopeMailFrom, ip)
		c.log(tx, "mailfrom", out)
	}
	res.WouldReject = WouldReject(c.cfg.RejectPolicy, res.Result)
	tx.SetValue(authresult.KeySPF, res)
	r.Add(resultSymbols[res.Result][0], res.Domain)
	if res.WouldReject && c.cfg.RejectWithoutDMARC {
		r.Add(SymRejectPolicy, string(res.Result))
		r.Force(scoring.Reject, scoring.Reply{Code: 550, Enhanced: "5.7.1", Text: "Sender not authorized by SPF for " + res.Domain},
			fmt.Sprintf("SPF reject policy %d: spf=%s for %s", c.cfg.RejectPolicy, res.Result, res.Domain))
	}
	return nil
}

func (c *Check) record(out Outcome, scope string, ip netip.Addr) *authresult.SPF {
	a := &authresult.SPF{
		Result: out.Result, Domain: out.Domain, Scope: scope, Identity: out.Identity,
		Explanation: out.Explanation, Reason: out.Reason, ClientIP: ip.Unmap(),
	}
	if scope == authresult.SPFScopeHELO {
		a.Identity = out.Domain
	}
	return a
}

func (c *Check) log(tx *scoring.Transaction, scope string, out Outcome) {
	c.cfg.Logger.Debug("spf", "id", tx.ID, "scope", scope, "identity", out.Identity, "ip", tx.Client.Addr.String(),
		"result", string(out.Result), "reason", out.Reason, "lookups", out.Lookups, "voids", out.Voids)
}
