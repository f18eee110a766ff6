package dnstest

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

func exchange(t *testing.T, s *Server, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := c.Exchange(m, s.Addr())
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r
}

func TestAnswers(t *testing.T) {
	s := New(t)
	s.AddRR(t,
		`example.com. 300 IN A 192.0.2.1`,
		`a.b.example.com. 300 IN A 192.0.2.2`,
		`alias.example.com. 300 IN CNAME example.com.`,
		`null.example.com. 300 IN CNAME .`,
		`*.wild.example.com. 300 IN TXT "wildcard"`,
		`Upper.Example.COM. 300 IN TXT "case"`,
	)
	s.Add(&dns.A{Hdr: dns.RR_Header{Name: "sp ace.example.com.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{192, 0, 2, 9}})
	s.SetRcode("servfail.example.com", 0, dns.RcodeServerFailure)
	s.SetRcode("refused.example.com", dns.TypeTXT, dns.RcodeRefused)
	tests := []struct {
		name    string
		qtype   uint16
		rcode   int
		answers int
		soa     bool // negative answers carry a SOA (RFC 2308)
	}{
		{"example.com", dns.TypeA, dns.RcodeSuccess, 1, false},
		{"example.com", dns.TypeTXT, dns.RcodeSuccess, 0, true}, // NODATA
		{"nope.example.com", dns.TypeA, dns.RcodeNameError, 0, true},
		{"b.example.com", dns.TypeA, dns.RcodeSuccess, 0, true}, // empty non-terminal: NODATA
		{"alias.example.com", dns.TypeA, dns.RcodeSuccess, 2, false},
		{"null.example.com", dns.TypeA, dns.RcodeNameError, 1, true},
		{"x.wild.example.com", dns.TypeTXT, dns.RcodeSuccess, 1, false},
		{"upper.example.com", dns.TypeTXT, dns.RcodeSuccess, 1, false},
		{"sp ace.example.com", dns.TypeA, dns.RcodeSuccess, 1, false},
		{"servfail.example.com", dns.TypeMX, dns.RcodeServerFailure, 0, false},
		{"refused.example.com", dns.TypeTXT, dns.RcodeRefused, 0, false},
		{"refused.example.com", dns.TypeA, dns.RcodeNameError, 0, true},
	}
	for _, tc := range tests {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(network+"/"+tc.name+"/"+dns.TypeToString[tc.qtype], func(t *testing.T) {
				r := exchange(t, s, network, tc.name, tc.qtype)
				if r.Rcode != tc.rcode || len(r.Answer) != tc.answers {
					t.Fatalf("rcode %s, %d answers; want %s, %d\n%v", dns.RcodeToString[r.Rcode], len(r.Answer),
						dns.RcodeToString[tc.rcode], tc.answers, r)
				}
				hasSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA
				if hasSOA != tc.soa {
					t.Errorf("SOA in authority: %v, want %v", hasSOA, tc.soa)
				}
			})
		}
	}
}

func TestDelayAndCounters(t *testing.T) {
	s := New(t)
	s.AddRR(t, `slow.example.com. 300 IN A 192.0.2.1`)
	s.SetDelay("slow.example.com", 150*time.Millisecond)
	start := time.Now()
	exchange(t, s, "udp", "slow.example.com", dns.TypeA)
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("answered after %v, delay is 150ms", el)
	}
	exchange(t, s, "tcp", "slow.example.com", dns.TypeA)
	if s.Queries("slow.example.com", dns.TypeA) != 2 || s.TCPQueries() != 1 || s.TotalQueries() != 2 {
		t.Errorf("counters: %d for the name, %d TCP, %d total", s.Queries("slow.example.com", dns.TypeA), s.TCPQueries(), s.TotalQueries())
	}
	s.Reset()
	if r := exchange(t, s, "udp", "slow.example.com", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("after Reset: %s", dns.RcodeToString[r.Rcode])
	}
}
