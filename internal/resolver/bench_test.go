package resolver_test

import (
	"context"
	"testing"

	"github.com/miekg/dns"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/resolver"
)

// BenchmarkCacheHit measures a lookup answered from the cache.
func BenchmarkCacheHit(b *testing.B) {
	s := dnstest.New(b)
	s.AddRR(b, `example.com. 300 IN TXT "v=spf1 -all"`)
	r := s.Resolver(b)
	ctx := context.Background()
	if _, err := r.LookupTXT(ctx, "example.com"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.LookupTXT(ctx, "example.com"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMiss measures a lookup that goes to the loopback server (UDP).
func BenchmarkMiss(b *testing.B) {
	s := dnstest.New(b)
	s.AddRR(b, `example.com. 300 IN TXT "v=spf1 -all"`)
	r := s.ResolverWith(b, resolver.Config{CacheSize: -1})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Query(ctx, "example.com", dns.TypeTXT); err != nil {
			b.Fatal(err)
		}
	}
}
