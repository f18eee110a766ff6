package resolver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dmarc"
	"github.com/hashicorp/go-hclog"
	"github.com/miekg/dns"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/resolver"
)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func dnsErr(t *testing.T, err error) *net.DNSError {
	t.Helper()
	var de *net.DNSError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *net.DNSError", err, err)
	}
	return de
}

func TestLookups(t *testing.T) {
	s := dnstest.New(t)
	s.AddRR(t,
		`example.com. 300 IN A 192.0.2.1`,
		`example.com. 300 IN A 192.0.2.2`,
		`example.com. 300 IN AAAA 2001:db8::1`,
		`example.com. 300 IN MX 20 mx2.example.com.`,
		`example.com. 300 IN MX 10 mx1.example.com.`,
		`example.com. 300 IN TXT "v=spf1 " "-all"`,
		`alias.example.com. 300 IN CNAME example.com.`,
		`far.example.com. 300 IN CNAME target.example.net.`,
		`target.example.net. 300 IN TXT "far away"`,
		`1.2.0.192.in-addr.arpa. 300 IN PTR host.example.com.`,
		`only6.example.com. 300 IN AAAA 2001:db8::6`,
	)
	r := s.ResolverWith(t, resolver.Config{Timeout: 2 * time.Second, Attempts: 1})
	ctx := context.Background()

	t.Run("TXT joins strings", func(t *testing.T) {
		got, err := r.LookupTXT(ctx, "Example.COM")
		if err != nil || len(got) != 1 || got[0] != "v=spf1 -all" {
			t.Fatalf("LookupTXT = %q, %v", got, err)
		}
	})
	t.Run("IP both families", func(t *testing.T) {
		got, err := r.LookupIP(ctx, "example.com")
		if err != nil {
			t.Fatal(err)
		}
		want := map[netip.Addr]bool{netip.MustParseAddr("192.0.2.1"): true, netip.MustParseAddr("192.0.2.2"): true, netip.MustParseAddr("2001:db8::1"): true}
		if len(got) != len(want) {
			t.Fatalf("LookupIP = %v", got)
		}
		for _, a := range got {
			if !want[a] {
				t.Errorf("unexpected address %v", a)
			}
		}
	})
	t.Run("IP only v6", func(t *testing.T) {
		got, err := r.LookupIP(ctx, "only6.example.com")
		if err != nil || len(got) != 1 || got[0] != netip.MustParseAddr("2001:db8::6") {
			t.Fatalf("LookupIP = %v, %v", got, err)
		}
	})
	t.Run("MX sorted", func(t *testing.T) {
		got, err := r.LookupMX(ctx, "example.com")
		if err != nil || len(got) != 2 || got[0].Host != "mx1.example.com." || got[1].Pref != 20 {
			t.Fatalf("LookupMX = %v, %v", got, err)
		}
	})
	t.Run("CNAME in zone", func(t *testing.T) {
		got, err := r.LookupA(ctx, "alias.example.com")
		if err != nil || len(got) != 2 {
			t.Fatalf("LookupA via CNAME = %v, %v", got, err)
		}
	})
	t.Run("CNAME chased by resolver", func(t *testing.T) {
		got, err := r.LookupTXT(ctx, "far.example.com")
		if err != nil || len(got) != 1 || got[0] != "far away" {
			t.Fatalf("LookupTXT via CNAME = %q, %v", got, err)
		}
	})
	t.Run("PTR", func(t *testing.T) {
		got, err := r.LookupPTR(ctx, netip.MustParseAddr("192.0.2.1"))
		if err != nil || len(got) != 1 || got[0] != "host.example.com." {
			t.Fatalf("LookupPTR = %v, %v", got, err)
		}
		got, err = r.LookupAddr(ctx, "192.0.2.1")
		if err != nil || len(got) != 1 {
			t.Fatalf("LookupAddr = %v, %v", got, err)
		}
	})
	t.Run("TXTLookupFunc", func(t *testing.T) {
		got, err := r.TXTLookupFunc(ctx)("example.com")
		if err != nil || len(got) != 1 {
			t.Fatalf("TXTLookupFunc = %v, %v", got, err)
		}
	})
}

func TestNotFound(t *testing.T) {
	s := dnstest.New(t)
	s.AddRR(t, `example.com. 300 IN A 192.0.2.1`, `a.b.example.com. 300 IN A 192.0.2.3`)
	r := s.ResolverWith(t, resolver.Config{Timeout: 2 * time.Second, Attempts: 1})
	ctx := context.Background()
	tests := []struct {
		name  string
		qtype uint16
		rcode int
	}{
		{"nxdomain.example.com", dns.TypeA, dns.RcodeNameError},
		{"example.com", dns.TypeTXT, dns.RcodeSuccess}, // NODATA
		{"b.example.com", dns.TypeA, dns.RcodeSuccess}, // empty non-terminal
		{strings.Repeat("a", 64) + ".example.com", dns.TypeA, dns.RcodeNameError},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%s", tc.name, dns.TypeToString[tc.qtype]), func(t *testing.T) {
			a, err := r.Query(ctx, tc.name, tc.qtype)
			de := dnsErr(t, err)
			if !de.IsNotFound || de.IsTemporary || de.Temporary() {
				t.Fatalf("error %+v: want IsNotFound, not temporary", de)
			}
			if a == nil || a.Rcode != tc.rcode {
				t.Fatalf("answer %+v: want rcode %s", a, dns.RcodeToString[tc.rcode])
			}
			if !resolver.IsNotFound(err) || resolver.IsTemporary(err) {
				t.Fatal("IsNotFound/IsTemporary disagree with the error")
			}
		})
	}
}

func TestFailures(t *testing.T) {
	s := dnstest.New(t)
	s.AddRR(t, `servfail.example.com. 300 IN A 192.0.2.1`, `slow.example.com. 300 IN A 192.0.2.1`)
	s.SetRcode("servfail.example.com", 0, dns.RcodeServerFailure)
	s.SetRcode("refused.example.com", dns.TypeTXT, dns.RcodeRefused)
	// Generous times: the shared test machine can be very loaded, and a
	// slow answer must not pass for a timeout.
	s.SetDelay("slow.example.com", 2*time.Second)
	s.SetDrop("dropped.example.com")
	r := s.ResolverWith(t, resolver.Config{Timeout: 400 * time.Millisecond, Attempts: 2})
	tests := []struct {
		name     string
		qtype    uint16
		timeout  bool
		maxTime  time.Duration
		ctxLimit time.Duration
	}{
		{"servfail.example.com", dns.TypeA, false, 2 * time.Second, 0},
		{"refused.example.com", dns.TypeTXT, false, 2 * time.Second, 0},
		{"slow.example.com", dns.TypeA, true, 2 * time.Second, 0},
		{"dropped.example.com", dns.TypeA, true, 2 * time.Second, 0},
		// The caller's deadline wins over the resolver's attempts (2 × 400 ms).
		{"dropped.example.com", dns.TypeMX, true, 350 * time.Millisecond, 50 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+dns.TypeToString[tc.qtype], func(t *testing.T) {
			ctx := context.Background()
			if tc.ctxLimit > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctxLimit)
				defer cancel()
			}
			start := time.Now()
			_, err := r.Query(ctx, tc.name, tc.qtype)
			el := time.Since(start)
			de := dnsErr(t, err)
			if !de.Temporary() || de.IsNotFound {
				t.Fatalf("error %+v: want temporary", de)
			}
			if de.IsTimeout != tc.timeout {
				t.Errorf("IsTimeout = %v, want %v (%v)", de.IsTimeout, tc.timeout, de)
			}
			if el > tc.maxTime {
				t.Errorf("took %v, want at most %v", el, tc.maxTime)
			}
		})
	}
	// Failures are not cached: the second query reaches the server again.
	before := s.Queries("servfail.example.com", dns.TypeA)
	r.Query(context.Background(), "servfail.example.com", dns.TypeA)
	if after := s.Queries("servfail.example.com", dns.TypeA); after <= before {
		t.Errorf("SERVFAIL answered from cache (%d → %d queries)", before, after)
	}
}

func TestCache(t *testing.T) {
	s := dnstest.New(t)
	s.AddRR(t, `example.com. 60 IN TXT "hello"`)
	s.SetNegativeTTL(30)
	clk := newClock()
	r := s.ResolverWith(t, resolver.Config{Timeout: time.Second, Attempts: 1, Now: clk.now})
	ctx := context.Background()

	t.Run("hit", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			a, err := r.Query(ctx, "example.com", dns.TypeTXT)
			if err != nil {
				t.Fatal(err)
			}
			if a.Cached != (i > 0) {
				t.Errorf("query %d: Cached = %v", i, a.Cached)
			}
		}
		if n := s.Queries("example.com", dns.TypeTXT); n != 1 {
			t.Fatalf("server saw %d queries, want 1", n)
		}
	})
	t.Run("TTL expiry", func(t *testing.T) {
		clk.advance(59 * time.Second)
		if a, _ := r.Query(ctx, "example.com", dns.TypeTXT); !a.Cached {
			t.Error("expired before its TTL")
		}
		clk.advance(2 * time.Second)
		if a, _ := r.Query(ctx, "example.com", dns.TypeTXT); a.Cached {
			t.Error("still cached after its TTL")
		}
		if n := s.Queries("example.com", dns.TypeTXT); n != 2 {
			t.Fatalf("server saw %d queries, want 2", n)
		}
	})
	t.Run("negative", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			a, err := r.Query(ctx, "none.example.com", dns.TypeTXT)
			if !resolver.IsNotFound(err) || a.Cached != (i > 0) {
				t.Fatalf("query %d: %+v, %v", i, a, err)
			}
		}
		if n := s.Queries("none.example.com", dns.TypeTXT); n != 1 {
			t.Fatalf("server saw %d queries, want 1", n)
		}
		clk.advance(31 * time.Second) // SOA minimum is 30 s
		if a, _ := r.Query(ctx, "none.example.com", dns.TypeTXT); a.Cached {
			t.Error("negative answer cached past the SOA minimum")
		}
	})
	t.Run("negative capped", func(t *testing.T) {
		s.SetNegativeTTL(86400)
		r.Query(ctx, "capped.example.com", dns.TypeA)
		clk.advance(resolver.MaxNegativeTTL + time.Second)
		if a, _ := r.Query(ctx, "capped.example.com", dns.TypeA); a.Cached {
			t.Error("negative answer cached past MaxNegativeTTL")
		}
	})
}

func TestCacheBound(t *testing.T) {
	s := dnstest.New(t)
	for i := 0; i < 20; i++ {
		s.AddRR(t, fmt.Sprintf(`h%d.example.com. 300 IN A 192.0.2.%d`, i, i))
	}
	r := s.ResolverWith(t, resolver.Config{CacheSize: 5})
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		if _, err := r.LookupA(ctx, fmt.Sprintf("h%d.example.com", i)); err != nil {
			t.Fatal(err)
		}
		if n := r.CacheLen(); n > 5 {
			t.Fatalf("cache holds %d entries, bound is 5", n)
		}
	}
	// LRU: the most recent is still cached, the first is gone.
	if a, _ := r.Query(ctx, "h19.example.com", dns.TypeA); !a.Cached {
		t.Error("most recent entry evicted")
	}
	if a, _ := r.Query(ctx, "h0.example.com", dns.TypeA); a.Cached {
		t.Error("oldest entry not evicted")
	}
}

func TestTruncation(t *testing.T) {
	s := dnstest.New(t)
	s.AddRR(t, `forced.example.com. 300 IN TXT "short"`)
	s.SetTruncate("forced.example.com")
	// An answer bigger than the 1232-byte EDNS0 buffer is truncated by the
	// server on its own.
	var lines []string
	for i := 0; i < 40; i++ {
		lines = append(lines, fmt.Sprintf(`big.example.com. 300 IN TXT "%s-%02d"`, strings.Repeat("x", 60), i))
	}
	s.AddRR(t, lines...)
	r := s.ResolverWith(t, resolver.Config{Timeout: 2 * time.Second, Attempts: 1})
	for _, tc := range []struct {
		name string
		n    int
	}{{"forced.example.com", 1}, {"big.example.com", 40}} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.TCPQueries()
			got, err := r.LookupTXT(context.Background(), tc.name)
			if err != nil || len(got) != tc.n {
				t.Fatalf("LookupTXT = %d records, %v; want %d", len(got), err, tc.n)
			}
			if s.TCPQueries() != before+1 {
				t.Errorf("no TCP fallback")
			}
		})
	}
}

func TestSingleFlight(t *testing.T) {
	s := dnstest.New(t)
	s.AddRR(t, `example.com. 300 IN A 192.0.2.1`)
	s.SetDelay("example.com", 100*time.Millisecond)
	r := s.ResolverWith(t, resolver.Config{Timeout: 2 * time.Second, Attempts: 1})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.LookupA(context.Background(), "example.com"); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := s.Queries("example.com", dns.TypeA); n != 1 {
		t.Fatalf("server saw %d queries for 20 concurrent lookups, want 1", n)
	}
}

func TestNewServers(t *testing.T) {
	dir := t.TempDir()
	rc := filepath.Join(dir, "resolv.conf")
	os.WriteFile(rc, []byte("nameserver 192.0.2.53\nnameserver 2001:db8::53\n"), 0o644)
	tests := []struct {
		name string
		cfg  resolver.Config
		want []string
		err  bool
	}{
		{"resolv.conf", resolver.Config{ResolvConf: rc}, []string{"192.0.2.53:53", "[2001:db8::53]:53"}, false},
		{"bare host", resolver.Config{Servers: []string{"192.0.2.1"}}, []string{"192.0.2.1:53"}, false},
		{"host:port", resolver.Config{Servers: []string{"127.0.0.1:5353"}}, []string{"127.0.0.1:5353"}, false},
		{"bad", resolver.Config{Servers: []string{"not a server:"}}, nil, true},
		{"missing resolv.conf", resolver.Config{ResolvConf: filepath.Join(dir, "nope")}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := resolver.New(tc.cfg, nil)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if err == nil && fmt.Sprint(r.Servers()) != fmt.Sprint(tc.want) {
				t.Fatalf("servers = %v, want %v", r.Servers(), tc.want)
			}
		})
	}
}

func TestTXTRawBytes(t *testing.T) {
	s := dnstest.New(t)
	raw := "a\x00b\\c\"d\x96\r\n"
	s.Add(dnstest.TXT("raw.example.com", 300, raw, "tail"))
	got, err := s.ResolverWith(t, resolver.Config{Timeout: 2 * time.Second, Attempts: 1}).LookupTXT(context.Background(), "raw.example.com")
	if err != nil || len(got) != 1 || got[0] != raw+"tail" {
		t.Fatalf("LookupTXT = %q, %v; want %q", got, err, raw+"tail")
	}
}

// TestTXTCachedNotModified: reading an escaped TXT record twice (the second
// time from the cache) gives the same bytes.
func TestTXTCachedNotModified(t *testing.T) {
	s := dnstest.New(t)
	raw := `back\slash \\ and "quotes"` + "\x01"
	s.Add(dnstest.TXT("esc.example.com", 300, raw))
	r := s.ResolverWith(t, resolver.Config{Timeout: 2 * time.Second, Attempts: 1})
	for i := 0; i < 3; i++ {
		got, err := r.LookupTXT(context.Background(), "esc.example.com")
		if err != nil || len(got) != 1 || got[0] != raw {
			t.Fatalf("read %d: %q, %v; want %q", i, got, err, raw)
		}
	}
}

// TestDebugLog: one DEBUG line per lookup with name, type, rcode, cached
// and duration.
func TestDebugLog(t *testing.T) {
	s := dnstest.New(t)
	s.AddRR(t, `example.com. 300 IN A 192.0.2.1`)
	var buf syncBuf
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: &buf, JSONFormat: true})
	r, err := resolver.New(resolver.Config{Servers: []string{s.Addr()}}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r.LookupA(ctx, "example.com")
	r.LookupA(ctx, "example.com")
	r.LookupTXT(ctx, "missing.example.com")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines for 3 lookups:\n%s", len(lines), buf.String())
	}
	want := []struct {
		name, typ, rcode string
		cached           bool
	}{
		{"example.com.", "A", "NOERROR", false},
		{"example.com.", "A", "NOERROR", true},
		{"missing.example.com.", "TXT", "NXDOMAIN", false},
	}
	for i, w := range want {
		var got map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if got["@level"] != "debug" || got["name"] != w.name || got["type"] != w.typ || got["rcode"] != w.rcode || got["cached"] != w.cached {
			t.Errorf("line %d: %v, want %+v", i, got, w)
		}
		if _, ok := got["ms"].(float64); !ok {
			t.Errorf("line %d: no duration: %v", i, got)
		}
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestStats(t *testing.T) {
	s := dnstest.New(t)
	s.AddRR(t, `example.com. 300 IN A 192.0.2.1`)
	s.SetRcode("bad.example.com", 0, dns.RcodeServerFailure)
	r := s.ResolverWith(t, resolver.Config{Timeout: 2 * time.Second, Attempts: 1})
	ctx := context.Background()
	r.LookupA(ctx, "example.com")     // from the server
	r.LookupA(ctx, "example.com")     // cache hit
	r.LookupA(ctx, "nx.example.com")  // NXDOMAIN is an answer, not an error
	r.LookupA(ctx, "bad.example.com") // SERVFAIL: an error
	got := r.Stats()
	want := resolver.Stats{Queries: 4, CacheHits: 1, Errors: 1}
	if got != want {
		t.Fatalf("Stats() = %+v, want %+v", got, want)
	}
}

// TestGoMsgauthClassification: go-msgauth classifies our errors as it does
// the standard library's: NXDOMAIN is "no policy", SERVFAIL and timeouts are
// temporary failures.
func TestGoMsgauthClassification(t *testing.T) {
	s := dnstest.New(t)
	s.AddRR(t, `_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject"`)
	s.SetRcode("_dmarc.servfail.example.com", dns.TypeTXT, dns.RcodeServerFailure)
	s.SetDrop("_dmarc.timeout.example.com")
	r := s.ResolverWith(t, resolver.Config{Timeout: 300 * time.Millisecond, Attempts: 1})
	opts := &dmarc.LookupOptions{LookupTXT: r.TXTLookupFunc(context.Background())}
	tests := []struct {
		domain   string
		found    bool
		noPolicy bool
		temp     bool
	}{
		{"example.com", true, false, false},
		{"missing.example.com", false, true, false},
		{"servfail.example.com", false, false, true},
		{"timeout.example.com", false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.domain, func(t *testing.T) {
			rec, err := dmarc.LookupWithOptions(tc.domain, opts)
			if (rec != nil) != tc.found || errors.Is(err, dmarc.ErrNoPolicy) != tc.noPolicy || dmarc.IsTempFail(err) != tc.temp {
				t.Fatalf("record %v, err %v: want found %v, no policy %v, temporary %v", rec, err, tc.found, tc.noPolicy, tc.temp)
			}
		})
	}
}
