package dnsbl

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/resolver"
)

// BenchmarkLookup measures one client IP against three lists queried in
// parallel through the project resolver and the loopback DNS server:
// "warm" answers from the cache, "cold" asks the server every time, and
// "cold-5ms-rtt" has the server answer after 5 ms, to show that three lists
// cost about one round trip (5 ms), not three (15 ms).
func BenchmarkLookup(b *testing.B) {
	srv, err := dnstest.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	var zones []Zone
	for _, z := range []string{"one.example", "two.example", "three.example"} {
		srv.AddRR(b, z+". 60 IN SOA ns. host. 1 3600 600 86400 60")
		zn, _ := NewZone(z, ZoneSettings{})
		zones = append(zones, zn)
	}
	q := []Query{IPQuery(netip.MustParseAddr("192.0.2.1"))}
	for _, bc := range []struct {
		name  string
		cache int
		delay time.Duration
	}{
		{"warm", 1000, 0},
		{"cold", -1, 0},
		{"cold-5ms-rtt", -1, 5 * time.Millisecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for _, z := range zones {
				srv.SetDelay("1.2.0.192."+z.Name+".", bc.delay)
			}
			res := srv.ResolverWith(b, resolver.Config{CacheSize: bc.cache, Timeout: time.Second, Attempts: 1})
			ctx := context.Background()
			log := hclog.NewNullLogger()
			for b.Loop() {
				hits := Lookup(ctx, res, log, 2*time.Second, q, zones)
				if hits[0].Status != Clean {
					b.Fatalf("status %s", hits[0].Status)
				}
			}
		})
	}
}
