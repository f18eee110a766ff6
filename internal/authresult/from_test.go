package authresult

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/testenv"
)

// TestFromDomainsOpenDMARC runs OpenDMARC's opendmarc_util_finddomain cases.
// OpenDMARC takes the first of several addresses (cases 7, 8); mailwarden
// returns every domain (RFC 7489 6.6.1 lets the receiver apply DMARC to
// each), so the expected domain must be the first returned.
func TestFromDomainsOpenDMARC(t *testing.T) {
	dir := testenv.SharedDir(t, "testdata/dmarc/opendmarc")
	f, err := os.Open(filepath.Join(dir, "from-domain.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			t.Fatalf("bad line %q", line)
		}
		n++
		t.Run("case"+cols[0], func(t *testing.T) {
			got := FromDomains([]string{cols[1]})
			if len(got) == 0 || got[0] != cols[2] {
				t.Errorf("FromDomains(%q) = %q, want first %q", cols[1], got, cols[2])
			}
		})
	}
	if n != 13 {
		t.Errorf("ran %d cases, want 13", n)
	}
}

func TestFromDomains(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   []string
	}{
		{"plain", []string{"a@Example.COM"}, []string{"example.com"}},
		{"two addresses two domains", []string{"a@x.org, b@y.org"}, []string{"x.org", "y.org"}},
		{"two addresses one domain", []string{"a@x.org, b@X.org"}, []string{"x.org"}},
		{"two fields", []string{"a@x.org", "b@y.org"}, []string{"x.org", "y.org"}},
		{"group", []string{"team: a@x.org, b@y.org;"}, []string{"x.org", "y.org"}},
		{"no address", []string{"undisclosed"}, nil},
		{"empty", nil, nil},
		{"trailing dot", []string{"<a@x.org.>"}, []string{"x.org"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := FromDomains(tc.values)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("FromDomains(%q) = %q, want %q", tc.values, got, tc.want)
			}
		})
	}
}

func TestFromDomainsLimit(t *testing.T) {
	var addrs []string
	for i := 0; i < 3*MaxFromAddresses; i++ {
		addrs = append(addrs, "a@d"+strings.Repeat("x", i)+".org")
	}
	if got := FromDomains([]string{strings.Join(addrs, ", ")}); len(got) != MaxFromAddresses {
		t.Errorf("got %d domains, want the cap %d", len(got), MaxFromAddresses)
	}
}

func FuzzFromDomains(f *testing.F) {
	for _, s := range []string{"a@b.c", `"x" <a@b.c>`, "<<<><joe@joe.com>>>", "(,) joe@joe.com", `"( bob@bob.com)" joe@joe.com`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range FromDomains([]string{s}) {
			if d == "" || d != strings.ToLower(d) {
				t.Fatalf("bad domain %q from %q", d, s)
			}
		}
	})
}
