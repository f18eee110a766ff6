package app

import (
	"context"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/dnstest"
)

// TestNewResolver: the [dns] section reaches the resolver (servers, cache
// on or off).
func TestNewResolver(t *testing.T) {
	s := dnstest.New(t)
	s.AddRR(t, `example.com. 300 IN A 192.0.2.1`)
	for _, tc := range []struct {
		name      string
		cacheSize int
		queries   int // what the server sees for two lookups
	}{
		{"cache on", 100, 1},
		{"cache off", 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.DNS.Servers = []string{s.Addr()}
			cfg.DNS.Timeout = config.Duration{Duration: time.Second}
			cfg.DNS.CacheSize = tc.cacheSize
			r, err := NewResolver(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Servers(); len(got) != 1 || got[0] != s.Addr() {
				t.Fatalf("servers %v", got)
			}
			before := s.Queries("example.com", dns.TypeA)
			for i := 0; i < 2; i++ {
				if _, err := r.LookupA(context.Background(), "example.com"); err != nil {
					t.Fatal(err)
				}
			}
			if n := s.Queries("example.com", dns.TypeA) - before; n != tc.queries {
				t.Fatalf("server saw %d queries, want %d", n, tc.queries)
			}
		})
	}
}
