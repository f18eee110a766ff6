package spf

import (
	"context"
	"net/netip"
	"testing"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/resolver"
)

// benchZone is a typical policy: an include chain, a and mx, ending in -all.
func benchZone(b *testing.B) *dnstest.Server {
	s := dnstest.New(b)
	s.AddRR(b,
		`example.com. 300 IN TXT "v=spf1 a mx include:_spf.example.net ip4:198.51.100.0/24 -all"`,
		`example.com. 300 IN A 192.0.2.10`,
		`example.com. 300 IN MX 10 mx.example.com.`,
		`mx.example.com. 300 IN A 192.0.2.11`,
		`_spf.example.net. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 include:_spf2.example.net ~all"`,
		`_spf2.example.net. 300 IN TXT "v=spf1 ip6:2001:db8::/32 ip4:192.0.2.128/25 ?all"`,
	)
	return s
}

func benchEval(b *testing.B, cacheSize int) {
	s := benchZone(b)
	ev := &Evaluator{Resolver: s.ResolverWith(b, resolver.Config{CacheSize: cacheSize})}
	req := Request{IP: netip.MustParseAddr("192.0.2.200"), Sender: "user@example.com", HELO: "mail.example.org"}
	ctx := context.Background()
	if out := ev.CheckHost(ctx, req); out.Result != "pass" {
		b.Fatalf("result %s (%s)", out.Result, out.Reason)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev.CheckHost(ctx, req)
	}
}

// BenchmarkCheckHostCached: a 6-lookup evaluation answered from the cache.
func BenchmarkCheckHostCached(b *testing.B) { benchEval(b, 0) }

// BenchmarkCheckHostUncached: the same evaluation, every query sent to the
// loopback server over UDP.
func BenchmarkCheckHostUncached(b *testing.B) { benchEval(b, -1) }
