package bayes

import (
	"math/rand"
	"regexp"
	"slices"
	"testing"
)

// The regexps the scanners replace, kept as the reference.
var (
	refIPRE   = regexp.MustCompile(`\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b`)
	refHostRE = regexp.MustCompile(`(?i)\b(?:from|by)\s+([a-z0-9][a-z0-9.-]*\.[a-z]{2,})`)
)

func checkReceivedScanners(t *testing.T, s string) {
	t.Helper()
	for _, max := range []int{1, 4} {
		var want [][5]string
		for _, m := range refIPRE.FindAllStringSubmatch(s, max) {
			want = append(want, [5]string{m[0], m[1], m[2], m[3], m[4]})
		}
		if got := scanIPv4(s, max); !slices.Equal(got, want) {
			t.Fatalf("IPs of %q (max %d): got %q, regexp %q", s, max, got, want)
		}
		var wantHosts []string
		for _, m := range refHostRE.FindAllStringSubmatch(s, max) {
			wantHosts = append(wantHosts, m[1])
		}
		if got := scanHosts(s, max); !slices.Equal(got, wantHosts) {
			t.Fatalf("hosts of %q (max %d): got %q, regexp %q", s, max, got, wantHosts)
		}
	}
}

func TestReceivedScannersMatchRegexps(t *testing.T) {
	for _, s := range []string{
		"from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org (Postfix) with ESMTPS id ABC",
		"from [10.0.0.1] by x.y", "FROM  Host-1.Example.COM123 by a.b.cc", "1234.1.1.1 1.2.3.4.5 a1.2.3.4 1.2.3.4a 1.2.3",
		"from.example by\tmx.example.net;", "fromx.y.zz from x.yy", "by a..bb by .ab by a.b", "from é.example.com by 256.1.1.1",
		"from -a.bc by 1a.b2.cd3 from a.b-c.de",
	} {
		checkReceivedScanners(t, s)
	}
	const alpha = "fromFROMbyBY aexmplcoESTz019.-_\t\n[]();é"
	r := rand.New(rand.NewSource(2))
	for range 30000 {
		b := make([]byte, r.Intn(48))
		for i := range b {
			b[i] = alpha[r.Intn(len(alpha))]
		}
		checkReceivedScanners(t, string(b))
	}
}

func FuzzReceivedScanners(f *testing.F) {
	f.Add("from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org")
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []byte(s) {
			if c >= 0x80 {
				return // RE2's (?i) folds two non-ASCII letters into [a-z]; see received.go
			}
		}
		checkReceivedScanners(t, s)
	})
}
