package pattern

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pat, addr string
		want      bool
	}{
		{"user@example.com", "user@example.com", true},
		{"user@example.com", "User@Example.COM", true},
		{"user@example.com", "user@example.com.", true},
		{"user@example.com", "other@example.com", false},
		{"user@example.com", "user@sub.example.com", false},
		{"@example.com", "anyone@example.com", true},
		{"@example.com", "anyone@sub.example.com", false},
		{"@example.com", "example.com", false},
		{"postmaster@", "postmaster@example.org", true},
		{"postmaster@", "postmaster2@example.org", false},
		{"*@*.xyz", "a@b.xyz", true},
		{"*@*.xyz", "a@xyz", false},
		{"*@*.xyz", "a@b.xyz.com", false},
		{"*@*.xyz", "a@b.c.xyz", true},
		{"spam*@example.com", "spammer@example.com", true},
		{"spam*@example.com", "myspam@example.com", false},
		{"us?r@example.com", "user@example.com", true},
		{"us?r@example.com", "usr@example.com", false},
		{"*@*", "a@b", true},
		{"*@*", "", false},
		{"a@b", "no-at-sign", false},
		{"\"odd@local\"@example.com", "x@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.pat+"~"+tt.addr, func(t *testing.T) {
			p, err := Parse(tt.pat)
			if err != nil {
				if tt.pat == "\"odd@local\"@example.com" {
					return // several '@': refused, which is the point
				}
				t.Fatalf("Parse(%q): %v", tt.pat, err)
			}
			if got := p.Match(tt.addr); got != tt.want {
				t.Errorf("%q.Match(%q) = %v, want %v", tt.pat, tt.addr, got, tt.want)
			}
		})
	}
}

func TestHostMatch(t *testing.T) {
	tests := []struct {
		pat, host string
		want      bool
	}{
		{"mail.example.com", "MAIL.example.com", true},
		{"mail.example.com", "mail.example.com.", true},
		{"*.example.com", "mx1.example.com", true},
		{"*.example.com", "example.com", false},
		{"[192.0.2.1]", "[192.0.2.1]", true},
		{"[192.0.2.1]", "[192.0.2.10]", false},
	}
	for _, tt := range tests {
		t.Run(tt.pat+"~"+tt.host, func(t *testing.T) {
			p, err := ParseHost(tt.pat)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Match(tt.host); got != tt.want {
				t.Errorf("%q.Match(%q) = %v, want %v", tt.pat, tt.host, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
		host           bool
	}{
		{"empty", "  ", "empty pattern", false},
		{"no at", "example.com", "has no '@'", false},
		{"two ats", "a@b@c", "more than one '@'", false},
		{"only at", "@", "matches nothing", false},
		{"space", "a b@c", "space or control", false},
		{"brackets", "<a@b>", "contains '<'", false},
		{"comma list", "a@b,c@d", "contains ','", false},
		{"too long", strings.Repeat("a", MaxLen) + "@b", "longer than", false},
		{"many stars", strings.Repeat("*a", maxStars+1) + "@b", "wildcards", false},
		{"host with at", "a@b", "contains '@'", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.host {
				_, err = ParseHost(tt.in)
			} else {
				_, err = Parse(tt.in)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) error = %v, want it to contain %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestListAndPair(t *testing.T) {
	l, errs := ParseList([]string{"@bad.example", "oops", "x@*.test"})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "entry 2") {
		t.Fatalf("errors = %v, want one naming entry 2", errs)
	}
	if p, ok := l.Match("x@a.test"); !ok || p.String() != "x@*.test" {
		t.Errorf("Match = %v %v", p, ok)
	}
	if _, ok := l.Match("y@good.example"); ok {
		t.Error("unexpected match")
	}
	pr, err := ParsePair("@spam.example", "boss@")
	if err != nil {
		t.Fatal(err)
	}
	if !pr.From.Match("a@spam.example") || !pr.To.Match("boss@example.org") || pr.To.Match("bob@example.org") {
		t.Error("pair does not match as expected")
	}
	if _, err := ParsePair("ok@x", "bad"); err == nil || !strings.HasPrefix(err.Error(), "recipient:") {
		t.Errorf("ParsePair error = %v", err)
	}
}

// FuzzParse: patterns come from admins, addresses from SMTP clients; neither
// may panic the parser or the matcher, and a parsed pattern must match its
// own literal text when it has no wildcard.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"user@example.com", "@example.com", "postmaster@", "*@*.xyz", "a?c@*", "[192.0.2.1]", "@", "a@b@c", "**@**"} {
		f.Add(s, "user@example.com")
	}
	f.Fuzz(func(t *testing.T, pat, addr string) {
		for _, parse := range []func(string) (Pattern, error){Parse, ParseHost} {
			p, err := parse(pat)
			if err != nil {
				continue
			}
			_ = p.Match(addr)
			if !strings.ContainsAny(p.raw, "*?") && p.kind == Address && p.local != "" && p.host != "" {
				if !p.Match(p.raw) {
					t.Errorf("pattern %q does not match itself", p.raw)
				}
			}
		}
	})
}

func TestGlobLinear(t *testing.T) {
	// A pathological pattern against a long subject must finish quickly.
	pat := strings.Repeat("*a", maxStars) + "*b"
	s := strings.Repeat("a", 4*MaxLen)
	if glob(pat, s) {
		t.Fatal("unexpected match")
	}
}
