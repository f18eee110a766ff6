package app

import (
	"net/netip"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/dnsbl"
	"github.com/mailwarden/mailwarden/scoring/envlists"
	"github.com/mailwarden/mailwarden/scoring/envlists/pattern"
	"github.com/mailwarden/mailwarden/scoring/fromhost"
	"github.com/mailwarden/mailwarden/scoring/helo"
	"github.com/mailwarden/mailwarden/scoring/internalrcpt"
)

// envelopeChecks builds the SME envelope checks of [envelope], in the order
// they belong at the front of the check list: the whitelists (connect, helo,
// mail), then the RCPT-stage refusals, then URIBL (end of message). The
// checks needing DNS are built even without a resolver (config check), so
// that [scores] and [profiles] naming their symbols and names validate; they
// report an error if ever run without one.
func envelopeChecks(cfg *config.Config, deps Deps, log hclog.Logger, prob func(string, error)) []scoring.Check {
	env := cfg.Envelope
	list := func(key string, entries []string) pattern.List {
		l, errs := pattern.ParseList(entries)
		for _, err := range errs {
			prob(key, err)
		}
		return l
	}
	hosts := func(key string, entries []string) pattern.List {
		l, errs := pattern.ParseHostList(entries)
		for _, err := range errs {
			prob(key, err)
		}
		return l
	}
	exempt := list("envelope.exempt_recipients", env.ExemptRecipients)
	budget := func(b config.Duration) time.Duration {
		d := b.Duration
		if sb := cfg.DNS.StageBudget.Duration; sb > 0 && sb < d {
			d = sb // [dns] stage_budget caps every check's DNS work
		}
		// Leave the engine's check timeout room to collect the answer, so a
		// slow list is skipped on its own (*_TIMEOUT), not the whole check.
		if ct := cfg.Engine.CheckTimeout.Duration * 4 / 5; ct > 0 && ct < d {
			d = ct
		}
		return d
	}

	lc := envlists.Config{
		WhitelistHelo:    hosts("envelope.lists.whitelisthelo", env.Lists.WhitelistHelo),
		WhitelistSenders: list("envelope.lists.whitelistsenders", env.Lists.WhitelistSenders),
		BadMailFrom:      list("envelope.lists.badmailfrom", env.Lists.BadMailFrom),
		BadRcptTo:        list("envelope.lists.badrcptto", env.Lists.BadRcptTo),
	}
	nets, err := config.HostPrefixes(env.Lists.WhitelistHosts)
	if err != nil {
		prob("envelope.lists.whitelisthosts", err)
	}
	lc.WhitelistHosts = nets
	for _, p := range env.Lists.BadMailFromTo {
		if len(p) != 2 {
			continue // reported by config validation
		}
		pair, err := pattern.ParsePair(p[0], p[1])
		if err != nil {
			prob("envelope.lists.badmailfromto", err)
			continue
		}
		lc.BadMailFromTo = append(lc.BadMailFromTo, pair)
	}
	lists := envlists.Checks(lc)
	var checks []scoring.Check
	var refusals []scoring.Check
	for _, c := range lists {
		if c.Stage() < scoring.StageRcpt {
			checks = append(checks, c) // whitelists first
		} else {
			refusals = append(refusals, c)
		}
	}

	zones := func(key string, l config.DNSList) []dnsbl.Zone {
		zs, errs := DNSListZones(l)
		for _, err := range errs {
			prob(key+".zone", err)
		}
		return zs
	}
	// Checks turned off in the config are still listed, planned for no
	// profile: [scores] may name their symbols either way.
	checks = append(checks,
		dnsbl.NewDNSBL(dnsbl.Config{Zones: zones("envelope.dnsbl", env.DNSBL), Budget: budget(env.DNSBL.Budget),
			Exempt: exempt, Resolver: deps.Resolver, Logger: log, Disabled: !env.DNSBL.Enabled}),
		dnsbl.NewRHSBL(dnsbl.Config{Zones: zones("envelope.rhsbl", env.RHSBL), Budget: budget(env.RHSBL.Budget),
			Exempt: exempt, Resolver: deps.Resolver, Logger: log, Disabled: !env.RHSBL.Enabled}))
	if p, err := helo.ParsePolicy(env.HELO.Policy); err != nil {
		prob("envelope.helo.policy", err)
	} else {
		names := append([]string(nil), env.HELO.OurNames...)
		if h := strings.TrimSpace(cfg.Server.Hostname); h != "" && h != "localhost" {
			names = append(names, h)
		}
		var addrs []netip.Addr
		for _, a := range env.HELO.OurAddresses {
			if ip, err := netip.ParseAddr(strings.TrimSpace(a)); err == nil {
				addrs = append(addrs, ip)
			}
		}
		checks = append(checks, helo.New(helo.Config{Policy: p, Reject: env.HELO.Action == "reject",
			OurNames: hosts("envelope.helo.our_names", names), OurAddrs: addrs, DetectAddrs: true,
			Exempt: exempt, Resolver: deps.Resolver, Budget: budget(cfg.DNS.StageBudget), Logger: log.Named("helo")}))
	}
	checks = append(checks, fromhost.New(fromhost.Config{Resolver: deps.Resolver, Budget: budget(cfg.DNS.StageBudget),
		Logger: log.Named("fromhost"), Disabled: !env.ResolvableFromHost.Enabled}))
	checks = append(checks, refusals...)
	if len(env.Internal.Recipients) > 0 {
		checks = append(checks, internalrcpt.New(list("envelope.internal.recipients", env.Internal.Recipients)))
	}
	checks = append(checks, dnsbl.NewURIBL(dnsbl.Config{Zones: zones("envelope.uribl", env.URIBL), Budget: budget(env.URIBL.Budget),
		Resolver: deps.Resolver, Logger: log, MaxDomains: env.URIBL.MaxDomains, Disabled: !env.URIBL.Enabled}))
	return checks
}

// DNSListZones turns an [envelope.dnsbl]-style section into the lists to
// query, with their per-zone settings over the built-in return codes.
func DNSListZones(l config.DNSList) ([]dnsbl.Zone, []error) {
	var out []dnsbl.Zone
	var errs []error
	for _, name := range l.Zones {
		zo := l.Zone[name]
		for k, v := range l.Zone { // zone table keys are matched without regard to case
			if strings.EqualFold(k, name) {
				zo = v
			}
		}
		mode := l.Mode
		if zo.Mode != "" {
			mode = zo.Mode
		}
		s := dnsbl.ZoneSettings{Reject: mode == "reject", Codes: zo.Codes, Ignore: zo.Ignore}
		if zo.Weight != nil {
			s.Weight = *zo.Weight
		}
		z, err := dnsbl.NewZone(name, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, z)
	}
	return out, errs
}
