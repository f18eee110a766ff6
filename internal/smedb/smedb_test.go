package smedb

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const text = `# DO NOT MODIFY THIS FILE.
#   updated: Wed Nov 25 2026

DomainName=example.com
  qpsmtpd = service|DNSBL|enabled|RBLList|zen.spamhaus.org,bl.spamcop.net|SPFRejectPolicy|1   
spamassassin=service|SubjectTagText|[SP\|AM]|TagLevel|4|Empty||Odd
broken line without equals
multi=text|Body|line one\nline two
empty=
DomainName=example.org
`
	db, err := Parse("configuration", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key, typ string
		props    map[string]string
	}{
		{"DomainName", "example.org", map[string]string{}},
		{"qpsmtpd", "service", map[string]string{"DNSBL": "enabled", "RBLList": "zen.spamhaus.org,bl.spamcop.net", "SPFRejectPolicy": "1"}},
		{"spamassassin", "service", map[string]string{"SubjectTagText": "[SP|AM]", "TagLevel": "4", "Empty": "", "Odd": ""}},
		{"multi", "text", map[string]string{"Body": "line one\nline two"}},
		{"empty", "", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			r := db.Get(tt.key)
			if r == nil {
				t.Fatalf("no record %q", tt.key)
			}
			if r.Type != tt.typ {
				t.Errorf("type = %q, want %q", r.Type, tt.typ)
			}
			if !reflect.DeepEqual(r.Props, tt.props) {
				t.Errorf("props = %q, want %q", r.Props, tt.props)
			}
		})
	}
	if len(db.Records) != len(tests) {
		t.Errorf("%d records, want %d: %v", len(db.Records), len(tests), db.Keys())
	}
	if len(db.Warnings) != 1 || !strings.Contains(db.Warnings[0], "configuration:7:") {
		t.Errorf("warnings = %q, want one for line 7", db.Warnings)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"", []string{""}},
		{"a|b|", []string{"a", "b", ""}},
		{`a\|b|c`, []string{`a\|b`, "c"}},
		{"|x", []string{"", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Split(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Split(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTooLong(t *testing.T) {
	_, err := Parse("x", strings.NewReader("k="+strings.Repeat("a", MaxLineBytes+1)+"\n"))
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("err = %v, want a line-length error", err)
	}
}

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "domains")
	if err := os.WriteFile(p, []byte("example.com=domain|DKIMSigning|disabled\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Get("example.com").Prop("DKIMSigning"); v != "disabled" || db.Name != "domains" {
		t.Errorf("got %q name %q", v, db.Name)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	for _, v := range []string{"plain", "a|b", "two\nlines", `back\slash`} {
		db, err := Parse("t", strings.NewReader("k=type|p|"+Escape(v)+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Get("k").Prop("p"); got != v && !strings.Contains(v, `\`) {
			t.Errorf("round trip of %q gave %q", v, got)
		}
	}
}

// FuzzParse: the parser never panics, and every record it returns has a
// non-empty key without surrounding blanks.
func FuzzParse(f *testing.F) {
	f.Add("qpsmtpd=service|DNSBL|enabled\n")
	f.Add("# comment\n k = v|a|b\\|c|d\n")
	f.Add("x\n=\n==\n|=|\n")
	f.Fuzz(func(t *testing.T, s string) {
		db, err := Parse("fuzz", strings.NewReader(s))
		if err != nil {
			return
		}
		for k, r := range db.Records {
			if k == "" || k != strings.TrimSpace(k) || r.Key != k {
				t.Fatalf("bad key %q", k)
			}
			if len(r.PropOrder) != len(r.Props) {
				t.Fatalf("prop order %v vs props %v", r.PropOrder, r.Props)
			}
		}
	})
}

// TestCRLF: a database copied through Windows keeps its values intact.
func TestCRLF(t *testing.T) {
	db, err := Parse("configuration", strings.NewReader("qpsmtpd=service|HeloPolicy|strict\r\nDomainName=example.com\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Get("qpsmtpd").Prop("HeloPolicy"); v != "strict" {
		t.Errorf("HeloPolicy = %q", v)
	}
	if got := db.Get("DomainName").Type; got != "example.com" {
		t.Errorf("DomainName = %q", got)
	}
}
