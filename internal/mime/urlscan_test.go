package mime

import (
	"math/rand"
	"regexp"
	"slices"
	"testing"
)

// The regexp ScanURLs replaces, kept as the reference.
var refLinkRE = regexp.MustCompile(`(?i)(?:\b(?:https?|ftp)://|\bwww\.|\bmailto:)[^\s<>"'()\[\]{}\\^` + "`" + `]+`)

func checkScanURLs(t *testing.T, s string) {
	t.Helper()
	for _, max := range []int{-1, 1, 3} {
		if want, got := refLinkRE.FindAllString(s, max), ScanURLs(nil, s, max); !slices.Equal(want, got) {
			t.Fatalf("links of %q (max %d): got %q, regexp %q", s, max, got, want)
		}
	}
}

func TestScanURLsMatchesRegexp(t *testing.T) {
	for _, s := range []string{
		"", "see http://example.com/a?b=c, and WWW.Example.org.", "xhttp://no.example http://", "https:// x",
		"mailto:a@b.example (mailto:)", "ftp://f.example/x\tHTTPS://Y.example/z", "_www.no www.yes",
		"é http://ünïcode.example/ö", "\xffhttp://bad.utf8\xfe/x", "<a href=\"http://q.example/\">", "http://a.example/`b^c\\d",
		"www.www.example", "https://https://x", "Mailto:X@Y http://a.b:80/p#f",
	} {
		checkScanURLs(t, s)
	}
	// Random strings over an alphabet rich in the interesting characters.
	const alpha = "htpsfwmailo:/.HTPSWMAILO_x9 \t\n<>\"'()[]{}\\^`,é\xff"
	r := rand.New(rand.NewSource(1))
	for range 20000 {
		b := make([]byte, r.Intn(40))
		for i := range b {
			b[i] = alpha[r.Intn(len(alpha))]
		}
		checkScanURLs(t, string(b))
	}
}

func FuzzScanURLs(f *testing.F) {
	f.Add("see http://example.com/a and www.x.org")
	f.Add("mailto:a@b HTTPS://c_d")
	f.Fuzz(func(t *testing.T, s string) { checkScanURLs(t, s) })
}

func BenchmarkScanURLs(b *testing.B) {
	text := "Dear friend, visit http://cheap.example/offer?id=123 or www.other.example today. " +
		"Unsubscribe at https://list.example/u/abc. Plain words words words words words words words words."
	b.Run("regexp", func(b *testing.B) {
		for range b.N {
			refLinkRE.FindAllString(text, -1)
		}
	})
	b.Run("scan", func(b *testing.B) {
		for range b.N {
			ScanURLs(nil, text, -1)
		}
	})
}
