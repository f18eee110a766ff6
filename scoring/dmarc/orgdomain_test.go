package dmarc

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/testenv"
)

// TestOrgDomainPSLVectors runs the Public Suffix List's own test vectors
// (tests.txt) against the shared list, through the file-based PSL.
func TestOrgDomainPSLVectors(t *testing.T) {
	dir := testenv.SharedDir(t, "testdata/dmarc/psl")
	psl, err := LoadPSL(filepath.Join(dir, "public_suffix_list.dat"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "tests.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			t.Fatalf("bad line %q", line)
		}
		in, want := fields[0], fields[1]
		if in == "null" {
			in = ""
		}
		if want == "null" {
			want = ""
		}
		n++
		t.Run(line, func(t *testing.T) {
			if got := OrgDomain(psl, in); got != want {
				t.Errorf("OrgDomain(%q) = %q, want %q", in, got, want)
			}
		})
	}
	if n < 70 {
		t.Errorf("only %d vectors", n)
	}
}

// TestOrgDomainCompiledList checks the compiled-in list on the ASCII vectors
// and on a private-section suffix (github.io), which mailwarden honours.
func TestOrgDomainCompiledList(t *testing.T) {
	tests := map[string]string{
		"example.com":            "example.com",
		"a.b.example.co.uk":      "example.co.uk",
		"WwW.Example.COM":        "example.com",
		"com":                    "",
		"user.github.io":         "user.github.io",
		"a.user.github.io":       "user.github.io",
		"b.example.example":      "example.example",
		"xn--85x722f.com.cn":     "xn--85x722f.com.cn",
		"www.xn--85x722f.com.cn": "xn--85x722f.com.cn",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := OrgDomain(nil, in); got != want {
				t.Errorf("OrgDomain(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

// TestOrgDomainOpenDMARC and TestAlignmentOpenDMARC run OpenDMARC's cases
// with the 2014 list they were written against.
func TestOrgDomainOpenDMARC(t *testing.T) {
	psl, err := LoadPSL(filepath.Join(testenv.SharedDir(t, "testdata/dmarc/opendmarc"), "effective_tld_names.dat"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tsv(t, "org-domain.tsv", 3) {
		t.Run("case"+c[0], func(t *testing.T) {
			if got := OrgDomain(psl, c[1]); got != c[2] {
				t.Errorf("OrgDomain(%q) = %q, want %q", c[1], got, c[2])
			}
		})
	}
}

func TestAlignmentOpenDMARC(t *testing.T) {
	psl, err := LoadPSL(filepath.Join(testenv.SharedDir(t, "testdata/dmarc/opendmarc"), "effective_tld_names.dat"))
	if err != nil {
		t.Fatal(err)
	}
	cases := tsv(t, "alignment.tsv", 5)
	if len(cases) != 10 {
		t.Fatalf("%d cases, want 10", len(cases))
	}
	for _, c := range cases {
		t.Run("case"+c[0], func(t *testing.T) {
			got := Aligned(psl, c[1], c[2], Mode(c[3]))
			if got != (c[4] == "aligned") {
				t.Errorf("Aligned(%q, %q, %s) = %v, want %s", c[1], c[2], c[3], got, c[4])
			}
		})
	}
}

func TestAlignment(t *testing.T) {
	tests := []struct {
		a, b string
		mode Mode
		want bool
	}{
		{"mail.example.com", "example.com", Relaxed, true},
		{"mail.example.com", "example.com", Strict, false},
		{"Example.COM", "example.com", Strict, true},
		{"example.co.uk", "other.co.uk", Relaxed, false},
		{"a.example.co.uk", "b.example.co.uk", Relaxed, true},
		{"", "example.com", Relaxed, false},
		{"alice.github.io", "bob.github.io", Relaxed, false},
	}
	for _, tc := range tests {
		t.Run(tc.a+"~"+tc.b+"/"+string(tc.mode), func(t *testing.T) {
			if got := Aligned(nil, tc.a, tc.b, tc.mode); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
