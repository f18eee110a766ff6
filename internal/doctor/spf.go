package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/mailwarden/mailwarden/internal/authresult"
	"github.com/mailwarden/mailwarden/scoring/spf"
)

// maxIncludeDepth bounds the recursion of the lookup count; the evaluator
// stops at 10 terms anyway, so a deeper chain is over the limit already.
const maxIncludeDepth = 12

// fetchSPF returns the SPF records of a domain.
func (o Options) fetchSPF(ctx context.Context, domain string) ([]string, error) {
	c, cancel := o.ctx(ctx)
	defer cancel()
	txts, err := o.Resolver.LookupTXT(c, domain)
	o.Logger.Debug("lookup", "name", domain, "type", "TXT", "error", err)
	if err != nil {
		return nil, err
	}
	var recs []string
	for _, t := range txts {
		if spf.IsSPFRecord(t) {
			recs = append(recs, t)
		}
	}
	return recs, nil
}

// suggestedSPF is the record to publish: the existing one (or the
// template) with ip4:/ip6: terms for the addresses in add.
func (o Options) suggestedSPF(existing string, add []netip.Addr) string {
	base := o.SPFTemplate
	if existing != "" {
		base = existing
	}
	fields := strings.Fields(base)
	var terms []string
	for _, ip := range add {
		t := "ip4:" + ip.String()
		if ip.Is6() && !ip.Is4In6() {
			t = "ip6:" + ip.String()
		}
		if !containsFold(fields, t) && !containsFold(terms, t) {
			terms = append(terms, t)
		}
	}
	if len(terms) == 0 {
		return base
	}
	// After v=spf1, before the rest (an "all" at the end must stay last).
	out := append([]string{fields[0]}, terms...)
	return strings.Join(append(out, fields[1:]...), " ")
}

func (o Options) allIPs() []netip.Addr {
	return append(append([]netip.Addr(nil), o.IPs...), o.Relays...)
}

func containsFold(l []string, s string) bool {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (o Options) checkSPF(ctx context.Context, rep *Report, domain string) {
	recs, err := o.fetchSPF(ctx, domain)
	if err != nil && !isNotFound(err) {
		rep.add(Item{Domain: domain, Check: "spf", Status: Fail, Evidence: "TXT " + domain + ": " + dnsErr(err),
			Fix: "make the domain's name servers answer (the lookup failed, not just empty)"})
		return
	}
	switch {
	case len(recs) == 0:
		rep.add(Item{Domain: domain, Check: "spf", Status: Fail, Evidence: "no SPF record at " + domain,
			Fix: "publish: " + zoneTXT(domain, o.suggestedSPF("", o.allIPs()))})
		return
	case len(recs) > 1:
		rep.add(Item{Domain: domain, Check: "spf", Status: Fail,
			Evidence: fmt.Sprintf("%d SPF records at %s (RFC 7208 4.5: permerror): %q", len(recs), domain, recs),
			Fix:      "keep one: " + zoneTXT(domain, o.suggestedSPF(recs[0], nil))})
		return
	}
	rec, err := spf.Parse(recs[0])
	if err != nil {
		rep.add(Item{Domain: domain, Check: "spf", Status: Fail, Evidence: fmt.Sprintf("%q: %v", recs[0], err),
			Fix: "replace it with: " + zoneTXT(domain, o.suggestedSPF("", o.allIPs()))})
		return
	}
	rep.add(Item{Domain: domain, Check: "spf", Status: Pass, Evidence: recs[0]})

	var ptrs []string
	for _, m := range rec.Mechanisms {
		if m.Kind == "ptr" {
			ptrs = append(ptrs, m.String())
		}
	}
	if len(ptrs) > 0 {
		fixed := removeTerms(recs[0], ptrs)
		rep.add(Item{Domain: domain, Check: "spf-ptr", Status: Warn,
			Evidence: "uses " + strings.Join(ptrs, " ") + " (RFC 7208 5.5: slow, unreliable, ignored by many receivers)",
			Fix:      "replace ptr with the addresses (ip4:/ip6:) it stood for: " + zoneTXT(domain, o.suggestedSPF(fixed, nil))})
	} else {
		rep.add(Item{Domain: domain, Check: "spf-ptr", Status: Pass, Evidence: "no ptr mechanism"})
	}

	o.checkSPFIPs(ctx, rep, domain, recs[0])

	n, chain, err := o.countLookups(ctx, domain, 0)
	switch {
	case err != nil:
		rep.add(Item{Domain: domain, Check: "spf-lookups", Status: Fail, Evidence: err.Error(),
			Fix: "fix the include/redirect target named in the evidence"})
	case n > spf.MaxLookups:
		rep.add(Item{Domain: domain, Check: "spf-lookups", Status: Fail,
			Evidence: fmt.Sprintf("%d DNS-querying terms (%s); RFC 7208 4.6.4 allows %d: receivers answer permerror", n, strings.Join(chain, ", "), spf.MaxLookups),
			Fix:      "flatten includes into ip4:/ip6: terms, or drop a/mx/ptr/exists terms until at most 10 remain"})
	default:
		rep.add(Item{Domain: domain, Check: "spf-lookups", Status: Pass, Evidence: fmt.Sprintf("%d of %d DNS-querying terms", n, spf.MaxLookups)})
	}
}

func isNotFound(err error) bool { return err != nil && resolverNotFound(err) }

func removeTerms(rec string, terms []string) string {
	var out []string
	for _, f := range strings.Fields(rec) {
		if !containsFold(terms, f) && !strings.EqualFold(strings.TrimLeft(f, "+-~?"), "ptr") &&
			!strings.HasPrefix(strings.ToLower(strings.TrimLeft(f, "+-~?")), "ptr:") {
			out = append(out, f)
		}
	}
	return strings.Join(out, " ")
}

func (o Options) checkSPFIPs(ctx context.Context, rep *Report, domain, record string) {
	ips := o.allIPs()
	if len(ips) == 0 {
		rep.add(Item{Domain: domain, Check: "spf-ips", Status: Warn, Evidence: "no server IP known",
			Fix: "give the public IP(s): mailwarden doctor --ip ADDR, or set [envelope.helo] our_addresses"})
		return
	}
	ev := &spf.Evaluator{Resolver: o.Resolver}
	var bad, good []string
	var missing []netip.Addr
	for _, ip := range ips {
		c, cancel := o.ctx(ctx)
		out := ev.CheckHost(c, spf.Request{IP: ip, Sender: "postmaster@" + domain, HELO: o.HELO})
		cancel()
		if out.Result == authresult.SPFPass {
			good = append(good, ip.String())
		} else {
			bad = append(bad, fmt.Sprintf("%s: %s", ip, out.Result))
			missing = append(missing, ip)
		}
	}
	if len(bad) > 0 {
		rep.add(Item{Domain: domain, Check: "spf-ips", Status: Fail,
			Evidence: "not authorised: " + strings.Join(bad, ", "),
			Fix:      "publish: " + zoneTXT(domain, o.suggestedSPF(record, missing))})
		return
	}
	rep.add(Item{Domain: domain, Check: "spf-ips", Status: Pass, Evidence: "pass for " + strings.Join(good, ", ")})
}

// countLookups counts the DNS-querying terms of a domain's SPF record,
// following include: and redirect= (RFC 7208 4.6.4, 5.2, 6.1).
func (o Options) countLookups(ctx context.Context, domain string, depth int) (int, []string, error) {
	if depth > maxIncludeDepth {
		return spf.MaxLookups + 1, []string{"include chain deeper than " + fmt.Sprint(maxIncludeDepth)}, nil
	}
	recs, err := o.fetchSPF(ctx, domain)
	if err != nil || len(recs) != 1 {
		if depth == 0 {
			return 0, nil, nil // reported by the spf item
		}
		if err == nil {
			err = fmt.Errorf("%d SPF records", len(recs))
		}
		return 0, nil, fmt.Errorf("include target %s: %s", domain, dnsErr(err))
	}
	rec, err := spf.Parse(recs[0])
	if err != nil {
		return 0, nil, fmt.Errorf("include target %s: %v", domain, err)
	}
	n := 0
	var chain []string
	for _, m := range rec.Mechanisms {
		switch m.Kind {
		case "a", "mx", "ptr", "exists":
			n++
			chain = append(chain, domain+":"+m.Kind)
		case "include":
			n++
			chain = append(chain, domain+":include:"+m.Domain)
			if !strings.Contains(m.Domain, "%") {
				k, c, err := o.countLookups(ctx, m.Domain, depth+1)
				if err != nil {
					return 0, nil, err
				}
				n += k
				chain = append(chain, c...)
			}
		}
	}
	if rec.Redirect != "" {
		n++
		chain = append(chain, domain+":redirect="+rec.Redirect)
		if !strings.Contains(rec.Redirect, "%") {
			k, c, err := o.countLookups(ctx, rec.Redirect, depth+1)
			if err != nil {
				return 0, nil, err
			}
			n += k
			chain = append(chain, c...)
		}
	}
	return n, chain, nil
}
