// Package resolver is mailwarden's stub DNS resolver, built on
// github.com/miekg/dns and shared by every check that looks something up
// (SPF, DKIM, DMARC, DNS lists, HELO and reverse-name checks).
//
// It sends each query to the configured upstream recursive servers ([dns]
// servers; default: the nameservers of /etc/resolv.conf) over UDP with an
// EDNS0 buffer of 1232 bytes, retries on timeout, and repeats a truncated
// answer over TCP (RFC 7766). Answers are cached for their TTL (capped at
// MaxTTL) in a cache bounded by [dns] cache_size entries and evicted least
// recently used; NXDOMAIN and NODATA answers are cached as RFC 2308 says
// (the SOA's minimum, capped at MaxNegativeTTL). Identical queries in flight
// at the same time are sent once (single-flight). Every lookup honours the
// caller's context deadline.
//
// Errors are *net.DNSError, as the standard library's resolver returns them,
// so go-msgauth and the checks classify them the same way: NXDOMAIN and
// NODATA come back with IsNotFound set; SERVFAIL, REFUSED, timeouts and
// network errors with IsTemporary (and IsTimeout for timeouts) set.
//
// One DEBUG line is logged per lookup: name, type, rcode, cached, duration.
//
// Config keys ([dns] section): servers, timeout, cache_size, stage_budget
// (the last is used by the checks, not by this package).
package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/miekg/dns"
)

// Limits, each with its reason.
const (
	// DefaultTimeout is the per-attempt timeout: a healthy recursive server
	// answers within a few hundred milliseconds; two attempts must fit well
	// inside a check's budget.
	DefaultTimeout = 2 * time.Second
	// DefaultAttempts is how many times a query is tried per server before
	// it is given up as a temporary failure.
	DefaultAttempts = 2
	// DefaultCacheSize bounds the cache (entries). An entry is a few hundred
	// bytes: 10000 entries is a few MB.
	DefaultCacheSize = 10000
	// MaxTTL caps positive caching: a day, as most recursive servers do, so
	// a changed record is seen at the latest the next day.
	MaxTTL = 24 * time.Hour
	// MaxNegativeTTL caps negative caching (RFC 2308 suggests 1-3 hours; a
	// newly published SPF/DMARC record should be seen within 15 minutes).
	MaxNegativeTTL = 15 * time.Minute
	// MaxCNAMEChain bounds CNAME chasing (loops and long chains).
	MaxCNAMEChain = 8
	// UDPBufferSize is the EDNS0 buffer size advertised (DNS flag day 2020:
	// avoids IP fragmentation).
	UDPBufferSize = 1232
)

// Config configures a Resolver.
type Config struct {
	// Servers are upstream recursive resolvers as "host:port" (a bare host
	// gets port 53). Empty: the nameservers of /etc/resolv.conf.
	Servers []string
	// Timeout is the timeout of one attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// Attempts per server; 0 means DefaultAttempts.
	Attempts int
	// CacheSize bounds the cache in entries; 0 means DefaultCacheSize, a
	// negative value disables caching.
	CacheSize int
	// Now is the clock used for cache expiry (nil: time.Now); tests set it.
	Now func() time.Time
	// ResolvConf is the file read when Servers is empty ("" means
	// /etc/resolv.conf).
	ResolvConf string
}

// Resolver is a caching stub resolver. It is safe for concurrent use.
type Resolver struct {
	servers  []string
	timeout  time.Duration
	attempts int
	log      hclog.Logger
	cache    *cache
	flight   flightGroup
	now      func() time.Time

	// counters for Stats (metrics)
	nQueries, nHits, nErrors atomic.Uint64
}

// Stats are the resolver's counters since start.
type Stats struct{ Queries, CacheHits, Errors uint64 }

// Stats returns the counters: lookups asked, lookups answered from the
// cache, lookups that failed (timeouts, SERVFAIL, network errors; not
// NXDOMAIN or NODATA, which are answers).
func (r *Resolver) Stats() Stats {
	return Stats{Queries: r.nQueries.Load(), CacheHits: r.nHits.Load(), Errors: r.nErrors.Load()}
}

// New builds a resolver. It reads /etc/resolv.conf when no server is given
// but does not touch the network.
func New(cfg Config, log hclog.Logger) (*Resolver, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	r := &Resolver{
		timeout:  cfg.Timeout,
		attempts: cfg.Attempts,
		log:      log,
		now:      time.Now,
	}
	if cfg.Now != nil {
		r.now = cfg.Now
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	if r.attempts <= 0 {
		r.attempts = DefaultAttempts
	}
	servers := cfg.Servers
	if len(servers) == 0 {
		path := cfg.ResolvConf
		if path == "" {
			path = "/etc/resolv.conf"
		}
		cc, err := dns.ClientConfigFromFile(path)
		if err != nil {
			return nil, fmt.Errorf("resolver: no servers configured and %s unreadable: %w", path, err)
		}
		for _, s := range cc.Servers {
			servers = append(servers, net.JoinHostPort(s, cc.Port))
		}
		if len(servers) == 0 {
			return nil, fmt.Errorf("resolver: no servers configured and none in %s", path)
		}
	}
	for _, s := range servers {
		hp, err := normalizeServer(s)
		if err != nil {
			return nil, err
		}
		r.servers = append(r.servers, hp)
	}
	size := cfg.CacheSize
	if size == 0 {
		size = DefaultCacheSize
	}
	if size > 0 {
		r.cache = newCache(size)
	}
	return r, nil
}

// normalizeServer turns "host" or "host:port" into "host:port".
func normalizeServer(s string) (string, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.String(), nil
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || port == "" {
		return "", fmt.Errorf("resolver: invalid server %q (want host:port)", s)
	}
	return s, nil
}

// Servers returns the upstream servers in use.
func (r *Resolver) Servers() []string { return append([]string(nil), r.servers...) }

// Timeout returns the per-attempt timeout.
func (r *Resolver) Timeout() time.Duration { return r.timeout }

// Answer is the outcome of one query.
type Answer struct {
	Rcode int // dns.RcodeSuccess, dns.RcodeNameError, ...
	// Records are the answer's records of the asked type at the end of
	// any CNAME chain. They may be shared with the cache: do not modify.
	Records []dns.RR
	Cached  bool
}

// Query looks up name/qtype and returns the records of that type (after
// following CNAMEs). NXDOMAIN and NODATA give a *net.DNSError with
// IsNotFound; failures a *net.DNSError with IsTemporary. The Answer is
// returned with the error for NXDOMAIN/NODATA so callers can tell them apart
// (Rcode).
func (r *Resolver) Query(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	start := time.Now()
	fqdn := canonical(name)
	ans, err := r.resolve(ctx, fqdn, qtype, 0)
	r.nQueries.Add(1)
	if ans != nil && ans.Cached {
		r.nHits.Add(1)
	}
	if err != nil && (ans == nil || (ans.Rcode != dns.RcodeNameError && ans.Rcode != dns.RcodeSuccess)) {
		r.nErrors.Add(1)
	}
	if r.log.IsDebug() {
		rcode, cached := "ERROR", false
		if ans != nil {
			rcode, cached = dns.RcodeToString[ans.Rcode], ans.Cached
			if ans.Rcode == dns.RcodeSuccess && len(ans.Records) == 0 {
				rcode = "NODATA"
			}
		}
		args := []any{"name", fqdn, "type", dns.TypeToString[qtype], "rcode", rcode, "cached", cached, "ms", float64(time.Since(start).Microseconds()) / 1000}
		if err != nil && ans == nil {
			args = append(args, "error", err.Error())
		}
		r.log.Debug("dns lookup", args...)
	}
	return ans, err
}

func (r *Resolver) resolve(ctx context.Context, fqdn string, qtype uint16, depth int) (*Answer, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxError(fqdn, err)
	}
	key := cacheKey{name: fqdn, qtype: qtype}
	if e, ok := r.cache.get(key, r.now()); ok {
		return r.finish(ctx, fqdn, qtype, e.rcode, e.rrs, true, depth)
	}
	if !validName(fqdn) {
		// RFC 1035 2.3.4: a label longer than 63 octets or a name longer
		// than 255 cannot exist.
		return &Answer{Rcode: dns.RcodeNameError}, notFound(fqdn, "")
	}
	v, err := r.flight.do(ctx, key, func() (any, error) {
		// The query runs detached from the first caller's context so that
		// other callers waiting on it are not cancelled with it; it is
		// bounded by the attempts' timeouts.
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout*time.Duration(r.attempts*len(r.servers)+1))
		defer cancel()
		return r.exchange(qctx, fqdn, qtype)
	})
	if err != nil {
		return nil, err
	}
	m := v.(*dns.Msg)
	rrs := m.Answer
	switch m.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
		ttl := answerTTL(m, fqdn, qtype)
		if ttl > 0 {
			r.cache.put(key, entry{rcode: m.Rcode, rrs: rrs, expires: r.now().Add(ttl)})
		}
	}
	return r.finish(ctx, fqdn, qtype, m.Rcode, rrs, false, depth)
}

// finish turns a response into an Answer, following CNAMEs.
func (r *Resolver) finish(ctx context.Context, fqdn string, qtype uint16, rcode int, rrs []dns.RR, cached bool, depth int) (*Answer, error) {
	switch rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return nil, &net.DNSError{Err: "server misbehaving: " + dns.RcodeToString[rcode], Name: trimDot(fqdn), Server: r.servers[0], IsTemporary: true}
	}
	target, recs := chase(fqdn, qtype, rrs)
	if len(recs) == 0 && target != fqdn && rcode == dns.RcodeSuccess {
		// The chain ends at a name the server did not resolve for us.
		if depth >= MaxCNAMEChain {
			return nil, &net.DNSError{Err: "CNAME chain too long", Name: trimDot(fqdn), IsTemporary: false}
		}
		a, err := r.resolve(ctx, target, qtype, depth+1)
		if a != nil {
			a.Cached = a.Cached && cached
		}
		return a, err
	}
	a := &Answer{Rcode: rcode, Records: recs, Cached: cached}
	if rcode == dns.RcodeNameError {
		return a, notFound(fqdn, "")
	}
	if len(recs) == 0 {
		return a, notFound(fqdn, "")
	}
	return a, nil
}

// chase follows the CNAME chain from name inside rrs and returns its end and
// the records of qtype found there.
func chase(name string, qtype uint16, rrs []dns.RR) (string, []dns.RR) {
	cur := name
	for i := 0; i <= MaxCNAMEChain; i++ {
		var out []dns.RR
		next := ""
		for _, rr := range rrs {
			h := rr.Header()
			if !strings.EqualFold(h.Name, cur) {
				continue
			}
			if h.Rrtype == qtype {
				out = append(out, rr)
			} else if c, ok := rr.(*dns.CNAME); ok && qtype != dns.TypeCNAME {
				next = strings.ToLower(c.Target)
			}
		}
		if len(out) > 0 || next == "" {
			return cur, out
		}
		cur = next
	}
	return cur, nil
}

// answerTTL is how long a response may be cached: the lowest TTL of the
// answer records, or for a negative answer the SOA's (RFC 2308 5).
func answerTTL(m *dns.Msg, fqdn string, qtype uint16) time.Duration {
	_, recs := chase(fqdn, qtype, m.Answer)
	if m.Rcode == dns.RcodeSuccess && len(recs) > 0 {
		min := uint32(1<<31 - 1)
		for _, rr := range m.Answer {
			if t := rr.Header().Ttl; t < min {
				min = t
			}
		}
		d := time.Duration(min) * time.Second
		if d > MaxTTL {
			d = MaxTTL
		}
		return d
	}
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			t := soa.Hdr.Ttl
			if soa.Minttl < t {
				t = soa.Minttl
			}
			d := time.Duration(t) * time.Second
			if d > MaxNegativeTTL {
				d = MaxNegativeTTL
			}
			return d
		}
	}
	// RFC 2308 5: without a SOA, a negative answer is not cached.
	return 0
}

// exchange asks the servers in turn, each up to r.attempts times, and falls
// back to TCP when a UDP answer is truncated.
func (r *Resolver) exchange(ctx context.Context, fqdn string, qtype uint16) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(fqdn, qtype)
	q.RecursionDesired = true
	q.SetEdns0(UDPBufferSize, false)
	var last error
	lastServer := ""
	for _, srv := range r.servers {
		for attempt := 0; attempt < r.attempts; attempt++ {
			if err := ctx.Err(); err != nil {
				return nil, ctxError(fqdn, err)
			}
			m, err := r.exchangeOne(ctx, q, srv, "udp")
			if err == nil && m.Truncated {
				m, err = r.exchangeOne(ctx, q, srv, "tcp")
			}
			lastServer = srv
			if err != nil {
				last = err
				continue
			}
			if m.Id != q.Id {
				last = errors.New("id mismatch")
				continue
			}
			switch m.Rcode {
			case dns.RcodeSuccess, dns.RcodeNameError:
				return m, nil
			}
			// SERVFAIL, REFUSED, ...: try the next server.
			last = fmt.Errorf("server misbehaving: %s", dns.RcodeToString[m.Rcode])
			break
		}
	}
	de := &net.DNSError{Err: "lookup failed", Name: trimDot(fqdn), Server: lastServer, IsTemporary: true}
	if last != nil {
		de.Err = last.Error()
		var ne net.Error
		if errors.As(last, &ne) && ne.Timeout() || errors.Is(last, context.DeadlineExceeded) {
			de.Err = "i/o timeout"
			de.IsTimeout = true
		}
	}
	return nil, de
}

func (r *Resolver) exchangeOne(ctx context.Context, q *dns.Msg, srv, network string) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: r.timeout, UDPSize: UDPBufferSize}
	actx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	m, _, err := c.ExchangeContext(actx, q, srv)
	return m, err
}

func validName(fqdn string) bool {
	if len(fqdn) > 255 {
		return false
	}
	_, ok := dns.IsDomainName(fqdn)
	if !ok {
		return false
	}
	for _, l := range dns.SplitDomainName(fqdn) {
		if len(l) > 63 || l == "" {
			return false
		}
	}
	return true
}

// canonical lower-cases a name and writes it in the presentation form
// miekg/dns gives names it unpacks (unusual bytes escaped as \DDD), so that
// the question and the answer's owner names compare equal.
func canonical(name string) string {
	name = strings.ToLower(dns.Fqdn(name))
	if plainName(name) {
		return name
	}
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(name, buf, 0, nil, false)
	if err != nil {
		return name
	}
	out, _, err := dns.UnpackDomainName(buf[:n], 0)
	if err != nil {
		return name
	}
	return strings.ToLower(out)
}

// plainName reports whether a name has only bytes that need no escaping.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '*') {
			return false
		}
	}
	return !strings.Contains(s, "..")
}

func trimDot(s string) string { return strings.TrimSuffix(s, ".") }

func notFound(fqdn, server string) *net.DNSError {
	return &net.DNSError{Err: "no such host", Name: trimDot(fqdn), Server: server, IsNotFound: true}
}

func ctxError(fqdn string, err error) *net.DNSError {
	de := &net.DNSError{Err: err.Error(), Name: trimDot(fqdn), IsTemporary: true}
	if errors.Is(err, context.DeadlineExceeded) {
		de.Err = "i/o timeout"
		de.IsTimeout = true
	}
	return de
}

// IsNotFound reports whether err says the name or record does not exist.
func IsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// IsTemporary reports whether err is a temporary failure (SERVFAIL,
// timeout, network).
func IsTemporary(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && (de.IsTemporary || de.IsTimeout)
}

// LookupTXT returns the TXT records of name, each record's strings joined
// without separator (RFC 7208 3.3, as net.LookupTXT does).
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	a, err := r.Query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(a.Records))
	for _, rr := range a.Records {
		// The records may be the cache's: never modify them.
		parts := rr.(*dns.TXT).Txt
		if len(parts) == 1 {
			out = append(out, txtUnescape(parts[0]))
			continue
		}
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(txtUnescape(p))
		}
		out = append(out, b.String())
	}
	return out, nil
}

// txtUnescape undoes miekg/dns's presentation escaping of TXT strings
// (\DDD for unprintable bytes, \" and \\), giving the bytes on the wire.
func txtUnescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if n <= 255 {
				b = append(b, byte(n))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// LookupA returns the IPv4 addresses of name.
func (r *Resolver) LookupA(ctx context.Context, name string) ([]netip.Addr, error) {
	a, err := r.Query(ctx, name, dns.TypeA)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(a.Records))
	for _, rr := range a.Records {
		if ip, ok := netip.AddrFromSlice(rr.(*dns.A).A.To4()); ok {
			out = append(out, ip)
		}
	}
	return out, nil
}

// LookupAAAA returns the IPv6 addresses of name.
func (r *Resolver) LookupAAAA(ctx context.Context, name string) ([]netip.Addr, error) {
	a, err := r.Query(ctx, name, dns.TypeAAAA)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(a.Records))
	for _, rr := range a.Records {
		if ip, ok := netip.AddrFromSlice(rr.(*dns.AAAA).AAAA.To16()); ok {
			out = append(out, ip)
		}
	}
	return out, nil
}

// LookupIP returns the IPv4 and IPv6 addresses of name (A and AAAA asked in
// parallel). It fails with IsNotFound only when neither type exists, and
// with a temporary error when either lookup failed and nothing was found.
func (r *Resolver) LookupIP(ctx context.Context, name string) ([]netip.Addr, error) {
	var (
		wg         sync.WaitGroup
		v4, v6     []netip.Addr
		err4, err6 error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		v6, err6 = r.LookupAAAA(ctx, name)
	}()
	v4, err4 = r.LookupA(ctx, name)
	wg.Wait()
	out := append(v4, v6...)
	if len(out) > 0 {
		return out, nil
	}
	if err4 != nil && !IsNotFound(err4) {
		return nil, err4
	}
	if err6 != nil && !IsNotFound(err6) {
		return nil, err6
	}
	if err4 != nil {
		return nil, err4
	}
	return nil, notFound(dns.Fqdn(name), "")
}

// LookupMX returns the MX records of name sorted by preference.
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	a, err := r.Query(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]*net.MX, 0, len(a.Records))
	for _, rr := range a.Records {
		mx := rr.(*dns.MX)
		out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pref < out[j].Pref })
	return out, nil
}

// LookupPTR returns the names of an address (its PTR records, with the
// trailing dot).
func (r *Resolver) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	arpa, err := dns.ReverseAddr(ip.Unmap().String())
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: ip.String()}
	}
	a, err := r.Query(ctx, arpa, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(a.Records))
	for _, rr := range a.Records {
		out = append(out, rr.(*dns.PTR).Ptr)
	}
	return out, nil
}

// LookupAddr is LookupPTR for a textual address, as net.Resolver.LookupAddr.
func (r *Resolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	return r.LookupPTR(ctx, ip)
}

// TXTLookupFunc adapts LookupTXT to go-msgauth's LookupTXT option
// (dkim.VerifyOptions, dmarc.LookupOptions), bound to ctx.
func (r *Resolver) TXTLookupFunc(ctx context.Context) func(string) ([]string, error) {
	return func(name string) ([]string, error) { return r.LookupTXT(ctx, name) }
}

// Flush empties the cache.
func (r *Resolver) Flush() { r.cache.flush() }

// CacheLen returns the number of cached entries.
func (r *Resolver) CacheLen() int { return r.cache.len() }
