package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/app"
	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/scoring/dnsbl"
)

// cmdDNSBL implements `mailwarden dnsbl [-c FILE] [IP|DOMAIN ...]`: SME's
// "DNSBL status" / "RHSBL status" / "URIBL status" and list names as the
// config has them and, for each argument, what the lists say about it now
// (an IP address against the DNSBL zones, a domain against the RHSBL and
// URIBL zones), through the configured resolver ([dns] servers). Exit
// status 1 when an argument is listed, 0 when none is.
func cmdDNSBL(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dnsbl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", defaultConfig, "policy file")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	env := cfg.Envelope
	sections := []struct {
		title, sme string
		l          config.DNSList
	}{
		{"DNSBL", "RBLList", env.DNSBL},
		{"RHSBL", "SBLList", env.RHSBL},
		{"URIBL", "UBLList", env.URIBL},
	}
	for _, s := range sections {
		status := "disabled"
		if s.l.Enabled {
			status = "enabled"
		}
		fmt.Fprintf(stdout, "%s status: %s (mode %s, budget %s)\n  %s: %s\n", s.title, status, s.l.Mode, s.l.Budget.Duration, s.sme, strings.Join(s.l.Zones, ","))
	}
	if len(pos) == 0 {
		return 0
	}
	res, err := app.NewResolver(cfg, hclog.NewNullLogger())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	listed := false
	for _, arg := range pos {
		var qs []dnsbl.Query
		var lists []config.DNSList
		if ip, err := netip.ParseAddr(arg); err == nil {
			qs, lists = []dnsbl.Query{dnsbl.IPQuery(ip)}, []config.DNSList{env.DNSBL}
		} else if q := dnsbl.DomainQueries(arg); len(q) > 0 {
			qs, lists = q, []config.DNSList{env.RHSBL, env.URIBL}
		} else {
			fmt.Fprintf(stderr, "%s: neither an IP address nor a domain name\n", arg)
			return 2
		}
		for _, l := range lists {
			zones, errs := app.DNSListZones(l)
			for _, e := range errs {
				fmt.Fprintln(stderr, e)
			}
			for i := range zones {
				zones[i].Reject = true // fetch the lists' TXT explanations too
			}
			for _, h := range dnsbl.Lookup(context.Background(), res, hclog.NewNullLogger(), l.Budget.Duration, qs, zones) {
				line := fmt.Sprintf("%s %s: %s", h.Subject, h.Zone.Name, h.Status)
				if len(h.Meanings) > 0 {
					line += " (" + strings.Join(h.Meanings, ", ") + ")"
				}
				if h.Detail != "" {
					line += " " + h.Detail
				}
				fmt.Fprintln(stdout, line)
				listed = listed || h.Status == dnsbl.Listed
			}
		}
	}
	if listed {
		return 1
	}
	return 0
}
