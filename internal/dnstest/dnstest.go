// Package dnstest runs a real authoritative DNS server (github.com/miekg/dns)
// on 127.0.0.1, UDP and TCP on the same port, serving records given as
// zone-file lines, for tests of everything that resolves (SPF, DKIM, DMARC,
// DNS lists). No resolver interface is mocked: the code under test talks DNS
// to this server through the project resolver (Server.Resolver).
//
// It answers like an authoritative server: NXDOMAIN when a name has no
// records and no names below it, NODATA (NOERROR, empty answer) when the
// name exists with other types, both with a SOA in the authority section
// (negative TTL settable); CNAMEs are followed inside the served data;
// wildcard owners ("*.example.com.") match names that do not exist (RFC
// 4592, simplified: the closest wildcard wins). Per name it can force an
// rcode (SERVFAIL, REFUSED), delay answers (timeouts), drop queries
// entirely, or truncate UDP answers (TCP fallback). A UDP answer larger than
// the client's EDNS0 buffer (512 without EDNS0) is truncated as a real
// server does.
package dnstest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/miekg/dns"

	"github.com/mailwarden/mailwarden/internal/resolver"
)

// DefaultTTL is what miekg/dns gives zone-file lines without a TTL.
const DefaultTTL = 3600

// maxCNAMEFollow bounds the in-server CNAME chasing (loops in test data).
const maxCNAMEFollow = 8

// Server is an authoritative DNS server on loopback.
type Server struct {
	udp, tcp *dns.Server
	addr     string

	mu       sync.Mutex
	records  map[string][]dns.RR // lower-case FQDN owner → records
	rcodes   map[string]int      // "name/qtype" (qtype 0 = any) → rcode
	delays   map[string]time.Duration
	drops    map[string]bool
	truncs   map[string]bool
	negTTL   uint32
	queries  map[string]int // "name/TYPE" → count
	total    int
	tcpCount int
}

// New starts a server on 127.0.0.1 (UDP and TCP, same port); it stops when
// the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a server outside a test (benchmarks, tools). Close stops it.
func Start() (*Server, error) {
	s := &Server{
		records: make(map[string][]dns.RR),
		rcodes:  make(map[string]int),
		delays:  make(map[string]time.Duration),
		drops:   make(map[string]bool),
		truncs:  make(map[string]bool),
		queries: make(map[string]int),
		negTTL:  300,
	}
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	// Bind UDP on a free port, then TCP on the same port; retry when the
	// TCP port is taken.
	for i := 0; i < 20; i++ {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("no port free for UDP and TCP: %w", err)
	}
	s.addr = pc.LocalAddr().String()
	var wg sync.WaitGroup
	wg.Add(2)
	s.udp = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serveUDP), NotifyStartedFunc: wg.Done}
	s.tcp = &dns.Server{Listener: ln, Handler: dns.HandlerFunc(s.serveTCP), NotifyStartedFunc: wg.Done}
	go s.udp.ActivateAndServe()
	go s.tcp.ActivateAndServe()
	wg.Wait()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() {
	s.udp.Shutdown()
	s.tcp.Shutdown()
}

// Addr returns "127.0.0.1:port" (UDP and TCP).
func (s *Server) Addr() string { return s.addr }

// AddRR adds records written as zone-file lines ("example.com. 300 IN TXT
// \"v=spf1 -all\""); names are absolute whether or not they end in a dot.
func (s *Server) AddRR(t testing.TB, lines ...string) {
	t.Helper()
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("dnstest: bad record %q: %v", l, err)
		}
		if rr == nil {
			continue
		}
		s.Add(rr)
	}
}

// Add adds records built in Go.
func (s *Server) Add(rrs ...dns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		name := canonical(rr.Header().Name)
		rr.Header().Name = name
		s.records[name] = append(s.records[name], rr)
	}
}

// Remove deletes every record of name (of qtype; 0 = all types).
func (s *Server) Remove(name string, qtype uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = canonical(name)
	if qtype == 0 {
		delete(s.records, name)
		return
	}
	var keep []dns.RR
	for _, rr := range s.records[name] {
		if rr.Header().Rrtype != qtype {
			keep = append(keep, rr)
		}
	}
	s.records[name] = keep
}

// Reset removes all records and per-name behaviour and zeroes the counters.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = make(map[string][]dns.RR)
	s.rcodes = make(map[string]int)
	s.delays = make(map[string]time.Duration)
	s.drops = make(map[string]bool)
	s.truncs = make(map[string]bool)
	s.queries = make(map[string]int)
	s.total, s.tcpCount = 0, 0
}

func nameKey(name string, qtype uint16) string {
	return canonical(name) + "/" + fmt.Sprint(qtype)
}

// canonical lower-cases a name and writes it as miekg/dns presents names
// it received (bytes such as spaces escaped as \032), so that names added
// in Go and names asked on the wire compare equal.
func canonical(name string) string {
	name = strings.ToLower(dns.Fqdn(name))
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

// SetRcode makes queries for name (of qtype; 0 = any type) answer rcode
// (dns.RcodeServerFailure, dns.RcodeRefused, ...).
func (s *Server) SetRcode(name string, qtype uint16, rcode int) {
	s.mu.Lock()
	s.rcodes[nameKey(name, qtype)] = rcode
	s.mu.Unlock()
}

// SetDelay delays every answer for name by d (timeouts).
func (s *Server) SetDelay(name string, d time.Duration) {
	s.mu.Lock()
	s.delays[canonical(name)] = d
	s.mu.Unlock()
}

// SetDrop makes the server never answer queries for name.
func (s *Server) SetDrop(name string) {
	s.mu.Lock()
	s.drops[canonical(name)] = true
	s.mu.Unlock()
}

// SetTruncate makes UDP answers for name truncated (TC bit, no records), so
// that the client must ask again over TCP.
func (s *Server) SetTruncate(name string) {
	s.mu.Lock()
	s.truncs[canonical(name)] = true
	s.mu.Unlock()
}

// SetNegativeTTL sets the TTL (and minimum) of the SOA sent with NXDOMAIN
// and NODATA answers.
func (s *Server) SetNegativeTTL(ttl uint32) {
	s.mu.Lock()
	s.negTTL = ttl
	s.mu.Unlock()
}

// Queries returns how many queries for name/qtype the server received
// (UDP and TCP).
func (s *Server) Queries(name string, qtype uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[nameKey(name, qtype)]
}

// TotalQueries returns how many queries the server received.
func (s *Server) TotalQueries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// TCPQueries returns how many queries came over TCP.
func (s *Server) TCPQueries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tcpCount
}

// Resolver returns a project resolver using only this server, with a short
// timeout (500 ms, 1 attempt) so that timeout tests are quick.
func (s *Server) Resolver(t testing.TB) *resolver.Resolver {
	t.Helper()
	return s.ResolverWith(t, resolver.Config{Timeout: 500 * time.Millisecond, Attempts: 1})
}

// ResolverWith returns a project resolver using this server and cfg's other
// settings.
func (s *Server) ResolverWith(t testing.TB, cfg resolver.Config) *resolver.Resolver {
	t.Helper()
	cfg.Servers = []string{s.addr}
	r, err := resolver.New(cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("dnstest: resolver: %v", err)
	}
	return r
}

func (s *Server) serveUDP(w dns.ResponseWriter, q *dns.Msg) { s.serve(w, q, true) }
func (s *Server) serveTCP(w dns.ResponseWriter, q *dns.Msg) { s.serve(w, q, false) }

func (s *Server) serve(w dns.ResponseWriter, q *dns.Msg, udp bool) {
	if len(q.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	qn := q.Question[0]
	name := strings.ToLower(qn.Name)

	s.mu.Lock()
	s.total++
	if !udp {
		s.tcpCount++
	}
	s.queries[nameKey(name, qn.Qtype)]++
	delay := s.delays[name]
	drop := s.drops[name] || s.drops[nameKey(name, qn.Qtype)]
	trunc := udp && s.truncs[name]
	rcode, forced := s.rcodes[nameKey(name, qn.Qtype)]
	if !forced {
		rcode, forced = s.rcodes[nameKey(name, 0)]
	}
	var m *dns.Msg
	if !drop && !forced {
		m = s.answerLocked(q, name, qn.Qtype)
	}
	s.mu.Unlock()

	if drop {
		return
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	if forced {
		m = new(dns.Msg)
		m.SetRcode(q, rcode)
	}
	if trunc {
		m.Answer, m.Ns, m.Extra = nil, nil, nil
		m.Truncated = true
	} else if udp {
		size := dns.MinMsgSize
		if o := q.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	if err := w.WriteMsg(m); err != nil {
		// A test zone the server cannot encode: answer SERVFAIL rather
		// than nothing, so the test sees an error instead of a timeout.
		f := new(dns.Msg)
		f.SetRcode(q, dns.RcodeServerFailure)
		w.WriteMsg(f)
	}
}

// answerLocked builds the authoritative answer from the records.
func (s *Server) answerLocked(q *dns.Msg, name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	if o := q.IsEdns0(); o != nil {
		m.SetEdns0(o.UDPSize(), false)
	}
	cur := name
	for i := 0; i <= maxCNAMEFollow; i++ {
		rrs, exists := s.lookupLocked(cur)
		if !exists {
			// At the end of a CNAME chain the rcode is the target's
			// (RFC 6604 2.1).
			m.Rcode = dns.RcodeNameError
			m.Ns = []dns.RR{s.soaLocked(cur)}
			return m
		}
		var cname *dns.CNAME
		found := false
		for _, rr := range rrs {
			rr = dns.Copy(rr)
			rr.Header().Name = cur
			if rr.Header().Rrtype == qtype || qtype == dns.TypeANY {
				m.Answer = append(m.Answer, rr)
				found = true
			} else if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		if found || cname == nil {
			if !found {
				m.Ns = []dns.RR{s.soaLocked(cur)}
			}
			return m
		}
		m.Answer = append(m.Answer, cname)
		cur = strings.ToLower(cname.Target)
	}
	return m
}

// lookupLocked returns the records of name (or of the closest matching
// wildcard) and whether the name exists (it may exist with no records of its
// own: an empty non-terminal).
func (s *Server) lookupLocked(name string) ([]dns.RR, bool) {
	if rrs, ok := s.records[name]; ok && len(rrs) > 0 {
		return rrs, true
	}
	suffix := "." + name
	for owner, rrs := range s.records {
		if len(rrs) > 0 && strings.HasSuffix(owner, suffix) {
			return nil, true // empty non-terminal
		}
	}
	// RFC 4592: a wildcard at an ancestor matches a name that does not exist.
	labels := dns.SplitDomainName(name)
	for i := 1; i < len(labels); i++ {
		wc := "*." + strings.Join(labels[i:], ".") + "."
		if rrs, ok := s.records[wc]; ok && len(rrs) > 0 {
			return rrs, true
		}
	}
	return nil, false
}

// soaLocked returns the SOA sent with negative answers: owned by the name's
// last two labels.
func (s *Server) soaLocked(name string) dns.RR {
	labels := dns.SplitDomainName(name)
	zone := "."
	if len(labels) >= 2 {
		zone = strings.Join(labels[len(labels)-2:], ".") + "."
	} else if len(labels) == 1 {
		zone = labels[0] + "."
	}
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: s.negTTL},
		Ns:      dns.Fqdn(strings.TrimSuffix("ns."+zone, ".")),
		Mbox:    dns.Fqdn(strings.TrimSuffix("hostmaster."+zone, ".")),
		Serial:  1,
		Refresh: 3600, Retry: 600, Expire: 86400,
		Minttl: s.negTTL,
	}
}

// TXT builds a TXT record whose strings are raw bytes (any byte value, as
// on the wire): use it for test data with control or non-ASCII bytes, which
// zone-file syntax would need escaped.
func TXT(name string, ttl uint32, raw ...string) *dns.TXT {
	esc := make([]string, len(raw))
	for i, s := range raw {
		// miekg/dns interprets backslash escapes when packing.
		esc[i] = strings.ReplaceAll(s, `\`, `\\`)
	}
	return &dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl}, Txt: esc}
}

// SetDropType makes the server never answer queries for name of qtype.
func (s *Server) SetDropType(name string, qtype uint16) {
	s.mu.Lock()
	s.drops[nameKey(name, qtype)] = true
	s.mu.Unlock()
}
