package dnsbl

import (
	"strings"
	"testing"
)

// FuzzDomainQueries: sender domains and URL hosts come from outside. Whatever
// they are, the query names built from them must be valid DNS names under
// the zone, or not built at all.
func FuzzDomainQueries(f *testing.F) {
	for _, s := range []string{"example.com", "a.b.example.co.uk", "[192.0.2.1]", "192.0.2.1", "-bad-.example", "x..y", strings.Repeat("a.", 130) + "com", "xn--bcher-kva.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, d string) {
		for _, q := range DomainQueries(d) {
			n := queryName(q.Labels, "dbl.example.org")
			if n == "" {
				continue
			}
			if len(n) > maxName || !strings.HasSuffix(n, ".dbl.example.org") || strings.Contains(n, "..") {
				t.Fatalf("bad query name %q for %q", n, d)
			}
		}
		for _, u := range URLDomains([]string{d, d + ".", strings.ToUpper(d)}, 3) {
			if !IsHostname(u) {
				t.Fatalf("URLDomains gave %q for %q", u, d)
			}
		}
	})
}
