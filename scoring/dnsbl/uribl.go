package dnsbl

import (
	"context"
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/mailwarden/mailwarden/internal/mime"
	"github.com/mailwarden/mailwarden/scoring"
)

// URIBL checks the registered domains of the URLs in the body (SME UBLList).
type URIBL struct{ base }

// NewURIBL returns the URIBL check.
func NewURIBL(cfg Config) *URIBL {
	cfg.defaults()
	cfg.Logger = cfg.Logger.Named("uribl")
	return &URIBL{base{uribl, cfg}}
}

func (*URIBL) Stage() scoring.Stage { return scoring.StageEOM }

// Run implements scoring.Check.
func (c *URIBL) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if tx.Message == nil {
		return nil
	}
	if c.cfg.Resolver == nil {
		return errNoResolver
	}
	p := mime.Get(tx)
	if p == nil {
		return nil
	}
	doms := URLDomains(p.Hosts(), c.cfg.MaxDomains)
	if len(doms) == 0 {
		return nil
	}
	qs := make([]Query, len(doms))
	for i, d := range doms {
		qs[i] = Query{Subject: d, Labels: d}
	}
	c.report(r, Lookup(ctx, c.cfg.Resolver, c.cfg.Logger, c.cfg.Budget, qs, c.cfg.Zones))
	return nil
}

// URLDomains reduces link hosts to distinct registered domains (the form
// URI lists publish, via the public suffix list), skipping IP literals and
// names that are not host names, at most max of them in order of first
// appearance.
func URLDomains(hosts []string, max int) []string {
	seen := map[string]bool{}
	var out []string
	for _, h := range hosts {
		if len(out) >= max {
			break
		}
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil || !IsHostname(h) {
			continue
		}
		reg, err := publicsuffix.EffectiveTLDPlusOne(h)
		if err != nil {
			continue
		}
		if !seen[reg] {
			seen[reg] = true
			out = append(out, reg)
		}
	}
	return out
}
