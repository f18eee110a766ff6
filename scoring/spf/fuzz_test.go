package spf

import (
	"context"
	"strings"
	"testing"
)

// FuzzParse feeds the record parser arbitrary text: it must not panic, and
// a record it accepts must be usable (every mechanism known, CIDRs in range).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"v=spf1 -all",
		"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx/24//64 ptr include:_spf.example.com ~all",
		"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} redirect=_spf.example.com exp=exp.%{d}",
		"v=spf1 a:%{d}.%{h}.%{o}.%{s}.%{v}.%{i}.%{p} ?all",
		"v=spf1 ip4:1.2.3.4/032",
		"v=spf1 a:foo%{x}.example.com",
		"v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4",
		"v=spf1 %{",
		"v=spf1 \x80a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := Parse(s)
		if err != nil {
			return
		}
		for _, m := range rec.Mechanisms {
			switch m.Kind {
			case "all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists":
			default:
				t.Fatalf("accepted unknown mechanism %q in %q", m.Kind, s)
			}
			if m.CIDR4 > 32 || m.CIDR6 > 128 {
				t.Fatalf("cidr out of range in %q", s)
			}
			if (m.Kind == "include" || m.Kind == "exists") && m.Domain == "" {
				t.Fatalf("%s without domain accepted in %q", m.Kind, s)
			}
			if strings.ContainsAny(m.Domain, " \t\r\n") {
				t.Fatalf("domain-spec with whitespace accepted in %q", s)
			}
		}
	})
}

// FuzzMacro feeds the macro parser and expander arbitrary macro-strings.
func FuzzMacro(f *testing.F) {
	for _, s := range []string{"%{ir}.%{v}._spf.%{d2}", "%{l-}%%%_%-", "%{S}", "%{d0}", "%{c}%{r}%{t}", "%{"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, exp bool) {
		toks, err := parseMacroString(s, exp)
		if err != nil {
			return
		}
		_ = expand(t.Context(), toks, fixedEnv{}, "example.com")
	})
}

type fixedEnv struct{}

func (fixedEnv) macroValue(_ context.Context, letter byte, domain string) string {
	return "strong-bad@email.example.com"
}
