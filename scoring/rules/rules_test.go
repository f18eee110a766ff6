package rules

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func newTx(t testing.TB, msg string) *scoring.Transaction {
	t.Helper()
	m, err := message.Parse(strings.NewReader(crlf(msg)), 0, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return &scoring.Transaction{Message: m, MailFrom: "bounce@sender.example", Front: "check"}
}

func mustLoad(t testing.TB, text string) *Set {
	t.Helper()
	s, err := LoadString("test.cf", text)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return s
}

const sample = `From: "PayPal Support" <service@paypa1.example>
To: victim@example.org
Cc: other@example.org
Reply-To: pay@elsewhere.example
Subject: =?utf-8?q?Urgent=3A_wire_transfer?=
Message-ID: <abc@paypa1.example>
Content-Type: multipart/alternative; boundary=b

--b
Content-Type: text/plain

Please send the wire transfer today.
Call me back at +1 555 0100.

Regards
--b
Content-Type: text/html

<p>Please <b>send</b> the <a href="http://198.51.100.7/login">www.paypal.com</a> today.</p>
--b--
`

func TestRuleTypes(t *testing.T) {
	tests := []struct {
		name, rule string
		want       int
	}{
		{"header match", `header R Subject =~ /wire transfer/`, 1},
		{"header decoded", `header R Subject =~ /^Urgent: wire/`, 1},
		{"header raw not decoded", `header R Subject:raw =~ /=\?utf-8\?q\?/`, 1},
		{"header negated", `header R Subject !~ /lottery/`, 1},
		{"header negated hit", `header R Subject !~ /wire/`, 0},
		{"header addr", `header R From:addr =~ /^service\@paypa1\.example$/`, 1},
		{"header name", `header R From:name =~ /^PayPal Support$/`, 1},
		{"header exists", `header R exists:Reply-To`, 1},
		{"header not exists", `header R exists:X-Mailer`, 0},
		{"header unset", `header R X-Mailer =~ /./`, 0},
		{"header if-unset", `header R X-Mailer =~ /none/ [if-unset: none]`, 1},
		{"header ToCc", `header R ToCc =~ /other\@example\.org/`, 1},
		{"header ALL", `header R ALL =~ /^Reply-To: pay\@/m`, 1},
		{"header MESSAGEID", `header R MESSAGEID =~ /\@paypa1\.example>/`, 1},
		{"header EnvelopeFrom", `header R EnvelopeFrom =~ /sender\.example$/`, 1},
		{"header case-insensitive flag", `header R Subject =~ /WIRE TRANSFER/i`, 1},
		{"header case-sensitive miss", `header R Subject =~ /WIRE TRANSFER/`, 0},
		{"body plain", `body R /send the wire transfer/`, 1},
		{"body html rendered", `body R /Please send the www\.paypal\.com today/`, 1},
		{"body subject is first line", `body R /^Urgent: wire transfer$/`, 1},
		{"body paragraph joins lines", `body R /transfer today\. Call me/`, 1},
		{"body does not span paragraphs", `body R /\+1 555 0100\. Regards/`, 0},
		{"body does not see tags", `body R /<b>/`, 0},
		{"rawbody sees tags", `rawbody R /<b>send<\/b>/`, 1},
		{"full sees headers and encoding", `full R /Content-Type: text\/html/`, 1},
		{"uri host", `uri R /^http:\/\/198\.51\.100\.7\//`, 1},
		{"uri miss", `uri R /example\.net/`, 0},
		{"m{} delimiters", `body R m{wire\s+transfer}i`, 1},
		{"x flag", `body R /wire \s+ transfer/x`, 1},
		{"escaped hash", `header R Message-ID =~ /\#/` + "\n", 0},
		{"multiple hits", "body R /today/\ntflags R multiple", 2},
		{"maxhits", "body R /e/\ntflags R maxhits=3", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustLoad(t, tc.rule)
			c := New(Config{Set: s})
			h := c.Evaluate(newTx(t, sample))
			if got := h.Count("R"); got != tc.want {
				t.Errorf("hits = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestMeta(t *testing.T) {
	rules := `
body __MONEY /\b(?:wire transfer|payment|invoice)\b/i
body __PHONE /\+?\d[\d ]{7,}\d/
header __REPLYTO exists:Reply-To
header __NOPE exists:X-Nope
meta BOTH __MONEY && __PHONE
meta EITHER __NOPE || __PHONE
meta NEITHER !__MONEY && !__PHONE
meta SUM (__MONEY + __PHONE + __REPLYTO + __NOPE) >= 3
meta SUM4 (__MONEY + __PHONE + __REPLYTO + __NOPE) >= 4
meta ARITH __MONEY * 2 - __NOPE == 2
meta NESTED BOTH && !NEITHER
meta EXTERNAL SPF_FAIL && __MONEY
`
	s := mustLoad(t, rules)
	c := New(Config{Set: s})
	tx := newTx(t, sample)
	h := c.Evaluate(tx)
	want := map[string]int{"BOTH": 1, "EITHER": 1, "NEITHER": 0, "SUM": 1, "SUM4": 0, "ARITH": 1, "NESTED": 1, "EXTERNAL": 0}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			if got := h.Count(name); got != w {
				t.Errorf("%s = %d, want %d", name, got, w)
			}
		})
	}
	// Sub-rules are never symbols.
	for _, d := range c.Symbols() {
		if strings.HasPrefix(d.Name, "__") {
			t.Errorf("sub-rule %s declared as symbol", d.Name)
		}
	}
}

func TestScores(t *testing.T) {
	s := mustLoad(t, `
body A /x/
body B /x/
score B 2.5
body C /x/
score C 2.0
score C (-1)
score C (0.25)
body T_D /x/
body E /x/
score E 1 2 3 4.5
body F /x/
score F 0
describe B Bee rule
`)
	want := map[string]float64{"A": 1, "B": 2.5, "C": 1.25, "T_D": 0.01, "E": 4.5, "F": 0}
	for name, w := range want {
		if got := s.Rule(name).Score; got != w {
			t.Errorf("%s score %v, want %v", name, got, w)
		}
	}
	defs := map[string]scoring.SymbolDef{}
	for _, d := range New(Config{Set: s}).Symbols() {
		defs[d.Name] = d
	}
	if _, ok := defs["F"]; ok {
		t.Error("score 0 rule declared as a symbol")
	}
	if defs["B"].Description != "Bee rule" {
		t.Errorf("describe: %q", defs["B"].Description)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"look-ahead", "body R /foo(?=bar)/", "test.cf:1: body R: Perl look-ahead (?=...) is not supported"},
		{"negative look-behind", "\nheader R Subject =~ /(?<!re: )x/", "test.cf:2: header R: Perl negative look-behind"},
		{"back-reference", "body R /(a)b\\1/", `back-reference \1 is not supported`},
		{"possessive", "body R /a++/", "possessive quantifier"},
		{"atomic", "body R /(?>a)/", "atomic group"},
		{"relative without previous", "body R /a/\nscore R (1)", "test.cf:2: score R (1): relative score without a previous score"},
		{"eval", "header R eval:check_foo()", "is not a built-in test"},
		{"unknown directive", "bodyy R /a/", `test.cf:1: unknown directive "bodyy"`},
		{"unterminated", "body R /abc", "unterminated pattern"},
		{"bad flag", "body R /abc/q", `unsupported regex flag 'q'`},
		{"bad modifier", "header R From:foo =~ /a/", "unknown header modifier :foo"},
		{"meta syntax", "meta R (A && B", "meta: missing )"},
		{"meta cycle", "meta A B\nmeta B A", "dependency cycle"},
		{"RE2 repeat limit", "body R /a{1,5000}/", "invalid repeat count"},
		{"trailing text", "body R /a/ junk", "unexpected text after the pattern"},
		{"endif without if", "endif", "endif without if"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadString("test.cf", tc.text)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			var le LoadErrors
			if !errors.As(err, &le) || len(le) == 0 {
				t.Fatalf("error type %T", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestWarningsAndBlocks(t *testing.T) {
	s := mustLoad(t, `
required_score 5
ifplugin Mail::SpamAssassin::Plugin::Foo
body SKIPPED eval:nothing()
endif
meta M OTHER_CHECK_SYMBOL
score UNDEFINED 3
`)
	if s.Rule("SKIPPED") != nil {
		t.Error("rule inside ifplugin loaded")
	}
	joined := strings.Join(s.Warnings, "\n")
	for _, w := range []string{`"required_score" ignored`, "ifplugin block skipped", "OTHER_CHECK_SYMBOL", "undefined rule UNDEFINED"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings lack %q:\n%s", w, joined)
		}
	}
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/10_a.cf", "body A /alpha/\ninclude sub/b.inc\n")
	writeFile(t, dir+"/sub/b.inc", "body B /beta/\nscore A 3\n")
	writeFile(t, dir+"/20_c.cf", "body C /gamma/\nscore A (1)\n")
	writeFile(t, dir+"/ignored.txt", "garbage")
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rule("B") == nil || s.Rule("C") == nil || s.Rule("A").Score != 4 {
		t.Errorf("include/order: B=%v C=%v A=%v", s.Rule("B"), s.Rule("C"), s.Rule("A"))
	}
	writeFile(t, dir+"/30_bad.cf", "body D /(?=x)/\n")
	_, err = Load(dir)
	if err == nil || !strings.Contains(err.Error(), "30_bad.cf:1:") {
		t.Errorf("error %v should name 30_bad.cf:1", err)
	}
}

func TestRequiredLiterals(t *testing.T) {
	tests := []struct {
		re   string
		want []string
	}{
		{`wire transfer`, []string{"wire transfer"}},
		{`(?i)Viagra`, []string{"viagra"}},
		{`\b(?:cheap|discount) meds\b`, []string{"cheap meds", "discount meds"}},
		{`foo.*barbaz`, []string{"barbaz"}},
		{`a|bcd`, nil},
		{`x*`, nil},
		{`(?:hello)+ world`, []string{" world"}},
		{`[Gg]ood`, []string{"good"}},
	}
	for _, tc := range tests {
		t.Run(tc.re, func(t *testing.T) {
			got := requiredLiterals(tc.re)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPrefilterSound checks on random texts that every regexp match is
// preceded by a prefilter hit: the prefilter may only skip rules that
// cannot match.
func TestPrefilterSound(t *testing.T) {
	pats := []string{`(?i)wire\s+transfer`, `\b(?:cheap|discount) meds\b`, `fo+bar`, `(?i)ÜBER(weisung|trag)`,
		`[Gg]ood ?day`, `(?:ab|cd)(?:ef|gh)ij`, `a.c`, `(?i)k\d{2,}x`, `(?i)\b(?:urgent(?:ly)?|as(?:ap| soon))\b`, `\${3,}|!{4,}`}
	alphabet := []string{"wire", " ", "\t", "transfer", "TRANSFER", "cheap", "discount", "meds", "foo", "o", "bar",
		"über", "ÜBER", "weisung", "trag", "Good", "good", "day", "ab", "cd", "ef", "gh", "ij", "a", "c", "K", "k", "12", "x",
		"$", "$$", "!", "!!", "urgent", "URGENTLY", "as", "AP", " soon", "ly"}
	var rules []string
	for i, p := range pats {
		rules = append(rules, fmt.Sprintf("body R%d /%s/", i, p))
	}
	s := mustLoad(t, strings.Join(rules, "\n"))
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		for k := rng.Intn(12); k >= 0; k-- {
			b.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		text := b.String()
		cand := map[int]bool{}
		for _, i := range s.body.candidates([]string{text}) {
			cand[i] = true
		}
		for i, r := range s.body.rules {
			if r.Re.MatchString(text) && !cand[i] {
				t.Fatalf("rule %s /%s/ matches %q but the prefilter skipped it (lits %q)", r.Name, r.Re, text, r.lits)
			}
		}
		// Per text: split into three and check each text is kept for
		// every rule matching it.
		third := len(text) / 3
		texts := []string{text[:third], text[third : 2*third], text[2*third:]}
		per := s.body.perText(texts)
		for i, r := range s.body.rules {
			for k, tx := range texts {
				if !r.Re.MatchString(tx) {
					continue
				}
				kept := false
				for _, ti := range per[i] {
					kept = kept || ti == k
				}
				if !kept {
					t.Fatalf("rule %s matches text %d %q but perText dropped it", r.Name, k, tx)
				}
			}
		}
	}
}

func TestTranslate(t *testing.T) {
	tests := []struct{ pat, flags, match, nomatch string }{
		{`foo\Z`, "", "a foo\n", "foo bar"},
		{`a\hb`, "", "a\tb", "a\nb"},
		{`\/path\/`, "", "/path/", "path"},
		{`[]x]+`, "", "]]", "y"},
		{`^b$`, "m", "a\nb\nc", "ab"},
		{`a.b`, "s", "a\nb", "ab"},
	}
	for _, tc := range tests {
		t.Run(tc.pat, func(t *testing.T) {
			re, err := compilePerl(tc.pat, tc.flags)
			if err != nil {
				t.Fatal(err)
			}
			if !re.MatchString(tc.match) || re.MatchString(tc.nomatch) {
				t.Errorf("%s: match(%q)=%v match(%q)=%v", re, tc.match, re.MatchString(tc.match), tc.nomatch, re.MatchString(tc.nomatch))
			}
		})
	}
}

func TestThroughEngine(t *testing.T) {
	s := mustLoad(t, "body WIRE /wire transfer/\nscore WIRE 3\ndescribe WIRE Wire transfer\nbody __X /x/\n")
	e, err := scoring.New(scoring.Options{
		Weights: map[string]float64{"WIRE": 6},
		Levels:  scoring.Levels{TagLevel: 5, RejectLevel: 10, RejectEnabled: true},
	}, []scoring.Check{New(Config{Set: s})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tx := newTx(t, sample)
	e.RunStage(context.Background(), scoring.StageEOM, tx)
	v := e.Verdict(tx)
	if v.Score != 6 || v.Action != scoring.Tag || len(v.Symbols) != 1 || v.Symbols[0].Description != "Wire transfer" {
		t.Errorf("verdict %+v", v)
	}
}

func TestScanSizeLimit(t *testing.T) {
	s := mustLoad(t, "body B /wire/\nheader H Subject =~ /wire/\nuri U /./\n")
	c := New(Config{Set: s, ScanSizeLimit: 100})
	h := c.Evaluate(newTx(t, sample))
	if !h.Skipped() || h.Count("B") != 0 || h.Count("U") != 0 || h.Count("H") != 1 {
		t.Errorf("skipped=%v B=%d U=%d H=%d", h.Skipped(), h.Count("B"), h.Count("U"), h.Count("H"))
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
