package spf

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/authresult"
	"github.com/mailwarden/mailwarden/internal/resolver"
)

// Limits of an evaluation (RFC 7208 4.6.4), with their reasons.
const (
	// MaxLookups: at most 10 terms that cause DNS queries (include, a, mx,
	// ptr, exists, redirect) per check_host(), counting recursion.
	MaxLookups = 10
	// MaxVoidLookups: at most 2 of those may answer NXDOMAIN or no records.
	MaxVoidLookups = 2
	// MaxMXNames: an mx mechanism may look up the addresses of at most 10
	// MX names, otherwise permerror.
	MaxMXNames = 10
	// MaxPTRNames: a ptr mechanism or %{p} validates at most 10 names; the
	// rest are ignored.
	MaxPTRNames = 10
	// maxDomainLength is the longest domain name (RFC 7208 7.3: a longer
	// expansion loses labels from the left).
	maxDomainLength = 253
)

// Result aliases the shared SPF result type.
type Result = authresult.SPFResult

// Request is what check_host() needs (RFC 7208 4.1).
type Request struct {
	IP netip.Addr
	// Sender is the MAIL FROM address; "" means <> (then the HELO identity
	// "postmaster@HELO" is checked, RFC 7208 2.4).
	Sender string
	// HELO is the client's HELO/EHLO name (%{h}).
	HELO string
	// Receiver is our host name (%{r} in explanations).
	Receiver string
}

// Outcome is the result of one evaluation.
type Outcome struct {
	Result Result
	// Domain is the domain whose policy was evaluated.
	Domain string
	// Identity is the identity checked ("postmaster@HELO" when MAIL FROM
	// is empty).
	Identity string
	// Explanation is the expanded exp= text on fail, "" when none.
	Explanation string
	// Reason says which term decided, or what error happened.
	Reason string
	// Lookups and Voids are the DNS-querying terms and void lookups used.
	Lookups, Voids int
}

// Evaluator evaluates SPF policies with the project resolver.
type Evaluator struct {
	Resolver *resolver.Resolver
	// Now is the clock for %{t} (nil: time.Now).
	Now func() time.Time
}

// CheckHost evaluates the MAIL FROM identity (or the HELO identity when the
// sender is empty).
func (e *Evaluator) CheckHost(ctx context.Context, req Request) Outcome {
	sender := req.Sender
	if sender == "" {
		sender = "postmaster@" + req.HELO
	}
	local, domain := "", sender
	if i := strings.LastIndexByte(sender, '@'); i >= 0 {
		local, domain = sender[:i], sender[i+1:]
	}
	// RFC 7208 4.3: a sender without local-part is postmaster@domain.
	if local == "" {
		local = "postmaster"
	}
	return e.run(ctx, req, local+"@"+domain, local, domain)
}

// CheckHELO evaluates the HELO identity (RFC 7208 2.3).
func (e *Evaluator) CheckHELO(ctx context.Context, req Request) Outcome {
	return e.run(ctx, req, "postmaster@"+req.HELO, "postmaster", req.HELO)
}

func (e *Evaluator) run(ctx context.Context, req Request, sender, local, domain string) Outcome {
	st := &state{
		ev: e, ip: req.IP.Unmap(), sender: sender, local: local,
		senderDomain: domain, helo: req.HELO, receiver: req.Receiver,
	}
	domain = strings.TrimSuffix(domain, ".")
	res, exp, reason := st.checkHost(ctx, domain, true)
	return Outcome{Result: res, Domain: strings.ToLower(domain), Identity: sender, Explanation: exp, Reason: reason, Lookups: st.lookups, Voids: st.voids}
}

// state is one check_host() evaluation with its counters.
type state struct {
	ev                                *Evaluator
	ip                                netip.Addr
	sender, local, senderDomain, helo string
	receiver                          string
	lookups, voids                    int
	validated                         map[string]string // %{p} per domain
}

// evalError ends the evaluation with temperror or permerror.
type evalError struct {
	res Result
	msg string
}

func (e *evalError) Error() string { return string(e.res) + ": " + e.msg }

func permErr(format string, args ...any) *evalError {
	return &evalError{res: authresult.SPFPermError, msg: fmt.Sprintf(format, args...)}
}

func tempErr(format string, args ...any) *evalError {
	return &evalError{res: authresult.SPFTempError, msg: fmt.Sprintf(format, args...)}
}

// validDomain applies RFC 7208 4.3: a domain that is malformed or not
// multi-label gives "none".
func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > maxDomainLength {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; c <= ' ' || c > '~' || c == '[' || c == ']' {
				return false
			}
		}
	}
	return !allDigits(labels[len(labels)-1])
}

// checkHost is RFC 7208 4: fetch, parse and evaluate the policy of domain.
// top says whether exp= may be used (not inside include, RFC 7208 6.2).
func (st *state) checkHost(ctx context.Context, domain string, top bool) (Result, string, string) {
	if !validDomain(domain) {
		return authresult.SPFNone, "", "malformed domain " + strconvQuote(domain)
	}
	txts, err := st.ev.Resolver.LookupTXT(ctx, domain)
	if err != nil {
		if resolver.IsNotFound(err) {
			return authresult.SPFNone, "", "no SPF record"
		}
		return authresult.SPFTempError, "", "DNS: " + err.Error()
	}
	var recs []string
	for _, t := range txts {
		if IsSPFRecord(t) {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		return authresult.SPFNone, "", "no SPF record"
	case 1:
	default:
		// RFC 7208 4.5: more than one record is a permerror.
		return authresult.SPFPermError, "", "more than one SPF record"
	}
	rec, err := Parse(recs[0])
	if err != nil {
		return authresult.SPFPermError, "", err.Error()
	}
	for _, m := range rec.Mechanisms {
		ok, ee := st.match(ctx, m, domain)
		if ee != nil {
			return ee.res, "", ee.msg
		}
		if !ok {
			continue
		}
		res := qualResult(m.Qual)
		reason := "matched " + m.String()
		exp := ""
		if res == authresult.SPFFail && top && rec.Exp != "" {
			exp = st.explanation(ctx, rec.Exp, domain)
		}
		return res, exp, reason
	}
	if rec.Redirect != "" {
		// RFC 7208 6.1: redirect applies when no mechanism matched.
		if err := st.count(); err != nil {
			return err.res, "", err.msg
		}
		target, err := st.expandDomain(ctx, rec.Redirect, domain)
		if err != nil {
			return err.res, "", err.msg
		}
		res, exp, reason := st.checkHost(ctx, target, top)
		if res == authresult.SPFNone {
			return authresult.SPFPermError, "", "redirect to " + target + ": " + reason
		}
		return res, exp, reason
	}
	// RFC 7208 4.7: no match, no redirect: neutral.
	return authresult.SPFNeutral, "", "no mechanism matched"
}

func strconvQuote(s string) string { return strconv.Quote(s) }

func qualResult(q Qualifier) Result {
	switch q {
	case QFail:
		return authresult.SPFFail
	case QSoftFail:
		return authresult.SPFSoftFail
	case QNeutral:
		return authresult.SPFNeutral
	}
	return authresult.SPFPass
}

// count charges one DNS-querying term (RFC 7208 4.6.4).
func (st *state) count() *evalError {
	st.lookups++
	if st.lookups > MaxLookups {
		return permErr("more than %d DNS-querying terms", MaxLookups)
	}
	return nil
}

// void charges one void lookup (RFC 7208 4.6.4).
func (st *state) void() *evalError {
	st.voids++
	if st.voids > MaxVoidLookups {
		return permErr("more than %d void lookups", MaxVoidLookups)
	}
	return nil
}

// expandDomain expands a domain-spec (or returns domain when spec is "")
// and shortens it to 253 characters (RFC 7208 7.3).
func (st *state) expandDomain(ctx context.Context, spec, domain string) (string, *evalError) {
	if spec == "" {
		return domain, nil
	}
	toks, err := parseMacroString(spec, false)
	if err != nil {
		return "", permErr("%v", err)
	}
	out := strings.TrimSuffix(expand(ctx, toks, st, domain), ".")
	for len(out) > maxDomainLength {
		i := strings.IndexByte(out, '.')
		if i < 0 {
			break
		}
		out = out[i+1:]
	}
	return out, nil
}

// addrs looks up the addresses of name in the client's family.
func (st *state) addrs(ctx context.Context, name string) ([]netip.Addr, error) {
	if st.ip.Is4() {
		return st.ev.Resolver.LookupA(ctx, name)
	}
	return st.ev.Resolver.LookupAAAA(ctx, name)
}

// contains reports whether the client is in addr/cidr.
func (st *state) contains(addr netip.Addr, m Mechanism) bool {
	addr = addr.Unmap()
	if addr.Is4() != st.ip.Is4() {
		return false
	}
	bits := m.CIDR4
	if !addr.Is4() {
		bits = m.CIDR6
	}
	if bits < 0 {
		return addr == st.ip
	}
	p, err := addr.Prefix(bits)
	return err == nil && p.Contains(st.ip)
}

// lookupErr classifies a lookup error: void (not found) or temperror.
func (st *state) lookupErr(err error, what string) *evalError {
	if resolver.IsNotFound(err) {
		return st.void()
	}
	return tempErr("DNS %s: %v", what, err)
}

func (st *state) match(ctx context.Context, m Mechanism, domain string) (bool, *evalError) {
	switch m.Kind {
	case "all":
		return true, nil
	case "ip4", "ip6":
		return m.Net.Addr().Is4() == st.ip.Is4() && m.Net.Contains(st.ip), nil
	}
	if err := st.count(); err != nil {
		return false, err
	}
	target, ee := st.expandDomain(ctx, m.Domain, domain)
	if ee != nil {
		return false, ee
	}
	switch m.Kind {
	case "include":
		res, _, reason := st.checkHost(ctx, target, false)
		switch res {
		case authresult.SPFPass:
			return true, nil
		case authresult.SPFFail, authresult.SPFSoftFail, authresult.SPFNeutral:
			return false, nil
		case authresult.SPFTempError:
			return false, tempErr("include:%s: %s", target, reason)
		default:
			// RFC 7208 5.2: permerror, and none, give permerror.
			return false, permErr("include:%s: %s: %s", target, res, reason)
		}
	case "a":
		as, err := st.addrs(ctx, target)
		if err != nil {
			if ee := st.lookupErr(err, "a:"+target); ee != nil {
				return false, ee
			}
			return false, nil
		}
		for _, a := range as {
			if st.contains(a, m) {
				return true, nil
			}
		}
		return false, nil
	case "mx":
		mxs, err := st.ev.Resolver.LookupMX(ctx, target)
		if err != nil {
			if ee := st.lookupErr(err, "mx:"+target); ee != nil {
				return false, ee
			}
			return false, nil
		}
		if len(mxs) > MaxMXNames {
			return false, permErr("mx:%s has more than %d MX records", target, MaxMXNames)
		}
		for _, mx := range mxs {
			host := strings.TrimSuffix(mx.Host, ".")
			if host == "" {
				continue // RFC 7505 null MX
			}
			as, err := st.addrs(ctx, host)
			if err != nil {
				if resolver.IsNotFound(err) {
					continue
				}
				return false, tempErr("DNS mx host %s: %v", host, err)
			}
			for _, a := range as {
				if st.contains(a, m) {
					return true, nil
				}
			}
		}
		return false, nil
	case "ptr":
		names, err := st.ev.Resolver.LookupPTR(ctx, st.ip)
		if err != nil {
			// RFC 7208 5.5: a DNS error on the PTR lookup: no match.
			if resolver.IsNotFound(err) {
				if ee := st.void(); ee != nil {
					return false, ee
				}
			}
			return false, nil
		}
		for _, n := range st.validNames(ctx, names) {
			if nameWithin(n, target) {
				return true, nil
			}
		}
		return false, nil
	case "exists":
		// RFC 7208 5.7: always an A query, whatever the client's family.
		as, err := st.ev.Resolver.LookupA(ctx, target)
		if err != nil {
			if ee := st.lookupErr(err, "exists:"+target); ee != nil {
				return false, ee
			}
			return false, nil
		}
		return len(as) > 0, nil
	}
	return false, permErr("unknown mechanism %q", m.Kind)
}

// validNames returns the PTR names (at most MaxPTRNames of them) whose
// addresses include the client (RFC 7208 5.5).
func (st *state) validNames(ctx context.Context, names []string) []string {
	var out []string
	for i, n := range names {
		if i >= MaxPTRNames {
			break
		}
		n = strings.TrimSuffix(strings.ToLower(n), ".")
		as, err := st.addrs(ctx, n)
		if err != nil {
			continue
		}
		for _, a := range as {
			if a.Unmap() == st.ip {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

// nameWithin reports whether name is domain or a subdomain of it.
func nameWithin(name, domain string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	return name == domain || strings.HasSuffix(name, "."+domain)
}

// explanation computes the exp= text (RFC 7208 6.2); any error gives "".
func (st *state) explanation(ctx context.Context, spec, domain string) string {
	target, ee := st.expandDomain(ctx, spec, domain)
	if ee != nil || !validDomain(target) {
		return ""
	}
	txts, err := st.ev.Resolver.LookupTXT(ctx, target)
	if err != nil || len(txts) != 1 {
		return ""
	}
	toks, perr := parseMacroString(txts[0], true)
	if perr != nil {
		return ""
	}
	return expand(ctx, toks, st, domain)
}

// macroValue implements macroEnv (RFC 7208 7.2).
func (st *state) macroValue(ctx context.Context, letter byte, domain string) string {
	switch letter {
	case 's':
		return st.sender
	case 'l':
		return st.local
	case 'o':
		return st.senderDomain
	case 'd':
		return domain
	case 'i':
		if st.ip.Is4() {
			return st.ip.String()
		}
		// RFC 7208 7.3: dot-separated nibbles. The case of the hex digits
		// is not specified (DNS compares names case-insensitively); the
		// OpenSPF suite (v-macro-ip6) expects upper case, as pyspf writes.
		const hex = "0123456789ABCDEF"
		b := st.ip.As16()
		var sb strings.Builder
		for i, x := range b {
			if i > 0 {
				sb.WriteByte('.')
			}
			sb.WriteByte(hex[x>>4])
			sb.WriteByte('.')
			sb.WriteByte(hex[x&0xf])
		}
		return sb.String()
	case 'p':
		return st.pMacro(ctx, domain)
	case 'v':
		if st.ip.Is4() {
			return "in-addr"
		}
		return "ip6"
	case 'h':
		return st.helo
	case 'c':
		return st.ip.String()
	case 'r':
		if st.receiver != "" {
			return st.receiver
		}
		return "unknown"
	case 't':
		now := time.Now
		if st.ev.Now != nil {
			now = st.ev.Now
		}
		return strconv.FormatInt(now().Unix(), 10)
	}
	return ""
}

// pMacro is %{p}: a validated name of the client, preferring domain or a
// subdomain of it; "unknown" when there is none (RFC 7208 7.3).
func (st *state) pMacro(ctx context.Context, domain string) string {
	if v, ok := st.validated[domain]; ok {
		return v
	}
	v := "unknown"
	if names, err := st.ev.Resolver.LookupPTR(ctx, st.ip); err == nil {
		valid := st.validNames(ctx, names)
		for _, n := range valid {
			if nameWithin(n, domain) {
				v = n
				break
			}
		}
		if v == "unknown" && len(valid) > 0 {
			v = valid[0]
		}
	}
	if st.validated == nil {
		st.validated = make(map[string]string)
	}
	st.validated[domain] = v
	return v
}

// String writes a mechanism back in record syntax.
func (m Mechanism) String() string {
	var b strings.Builder
	if m.Qual != QPass {
		b.WriteByte(byte(m.Qual))
	}
	b.WriteString(m.Kind)
	switch m.Kind {
	case "ip4", "ip6":
		b.WriteString(":" + m.Net.String())
	default:
		if m.Domain != "" {
			b.WriteString(":" + m.Domain)
		}
		if m.CIDR4 >= 0 {
			b.WriteString("/" + strconv.Itoa(m.CIDR4))
		}
		if m.CIDR6 >= 0 {
			b.WriteString("//" + strconv.Itoa(m.CIDR6))
		}
	}
	return b.String()
}
