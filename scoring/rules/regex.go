package rules

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// MaxPatternLen bounds one rule's pattern: SpamAssassin's stock rules stay
// under 2 kB; a longer one is a mistake or an attempt to slow loading.
const MaxPatternLen = 8 << 10

// splitPattern takes "/re/flags" or "m{re}flags" (any delimiter after m)
// at the start of s and returns the pattern, the flags and the rest of s.
func splitPattern(s string) (pat, flags, rest string, err error) {
	s = strings.TrimLeft(s, " \t")
	if s == "" {
		return "", "", "", fmt.Errorf("missing pattern (write /regex/flags)")
	}
	open := s[0]
	i := 1
	if open == 'm' && len(s) > 1 {
		open = s[1]
		i = 2
		if open == ' ' || open == '\t' || isWordByte(open) {
			return "", "", "", fmt.Errorf("bad pattern delimiter after m")
		}
	} else if open != '/' {
		return "", "", "", fmt.Errorf("pattern must start with / or m (got %q)", trunc(s, 20))
	}
	closeCh := open
	switch open {
	case '{':
		closeCh = '}'
	case '(':
		closeCh = ')'
	case '[':
		closeCh = ']'
	case '<':
		closeCh = '>'
	}
	depth := 0
	for j := i; j < len(s); j++ {
		c := s[j]
		if c == '\\' {
			j++
			continue
		}
		if closeCh != open && c == open {
			depth++
			continue
		}
		if c == closeCh {
			if depth > 0 {
				depth--
				continue
			}
			pat = s[i:j]
			k := j + 1
			for k < len(s) && isWordByte(s[k]) {
				k++
			}
			flags, rest = s[j+1:k], strings.TrimSpace(s[k:])
			if closeCh == '/' {
				pat = strings.ReplaceAll(pat, `\/`, `/`)
			}
			return pat, flags, rest, nil
		}
	}
	return "", "", "", fmt.Errorf("unterminated pattern %q", trunc(s, 40))
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// perlOnly lists Perl constructs RE2 cannot run. Matching them is refused
// at load time: silently dropping a look-ahead would change what a rule
// means.
var perlOnly = []struct{ tok, what string }{
	{"(?=", "look-ahead (?=...)"},
	{"(?!", "negative look-ahead (?!...)"},
	{"(?<=", "look-behind (?<=...)"},
	{"(?<!", "negative look-behind (?<!...)"},
	{"(?>", "atomic group (?>...)"},
	{"(?(", "conditional (?(...)...)"},
	{"(?R)", "recursion (?R)"},
	{"(?#", "inline comment (?#...)"},
	{`\G`, `\G anchor`},
	{`\K`, `\K (keep out)`},
}

// compilePerl translates a SpamAssassin (Perl) pattern with its flags to a
// Go regexp. It translates what has a faithful RE2 equivalent (/i /m /s /x
// flags, \Z, \h, \e, named groups) and refuses, with a clear message, what
// has none: look-arounds, back-references, possessive quantifiers, atomic
// groups, recursion and conditionals.
func compilePerl(pat, flags string) (*regexp.Regexp, error) {
	if len(pat) > MaxPatternLen {
		return nil, fmt.Errorf("pattern longer than %d bytes", MaxPatternLen)
	}
	var goFlags string
	ext := false
	for _, f := range flags {
		switch f {
		case 'i', 'm', 's':
			goFlags += string(f)
		case 'x':
			ext = true
		case 'g', 'o':
			// g: SA counts matches with tflags multiple; o: compile once (we always do).
		default:
			return nil, fmt.Errorf("unsupported regex flag %q", f)
		}
	}
	if ext {
		pat = stripExtended(pat)
	}
	for _, p := range perlOnly {
		if strings.Contains(pat, p.tok) && !escapedAt(pat, strings.Index(pat, p.tok)) {
			return nil, fmt.Errorf("Perl %s is not supported by Go's RE2 regexp engine; rewrite the rule (e.g. split it into two rules and a meta)", p.what)
		}
	}
	tr, err := translate(pat)
	if err != nil {
		return nil, err
	}
	if goFlags != "" {
		tr = "(?" + goFlags + ")" + tr
	}
	re, err := regexp.Compile(tr)
	if err != nil {
		var se *syntax.Error
		if ok := asSyntaxErr(err, &se); ok {
			return nil, fmt.Errorf("regex %s: %s (RE2 syntax)", se.Code, se.Expr)
		}
		return nil, fmt.Errorf("regex: %v", err)
	}
	return re, nil
}

func asSyntaxErr(err error, target **syntax.Error) bool {
	se, ok := err.(*syntax.Error)
	if ok {
		*target = se
	}
	return ok
}

// escapedAt reports whether the byte at i is preceded by an odd number of
// backslashes.
func escapedAt(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// translate walks the pattern once, rewriting escapes RE2 lacks and
// refusing back-references and possessive quantifiers.
func translate(p string) (string, error) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			n := p[i+1]
			i++
			switch {
			case n >= '1' && n <= '9' && !inClass:
				return "", fmt.Errorf(`back-reference \%c is not supported by Go's RE2 regexp engine`, n)
			case n == 'k' && i+1 < len(p) && (p[i+1] == '<' || p[i+1] == '{' || p[i+1] == '\''):
				return "", fmt.Errorf(`named back-reference \k is not supported by Go's RE2 regexp engine`)
			case n == 'Z':
				b.WriteString(`(?:\n?\z)`)
			case n == 'h':
				if inClass {
					b.WriteString(`\t `)
				} else {
					b.WriteString(`[\t ]`)
				}
			case n == 'e':
				b.WriteString(`\x1b`)
			case n == '/' || n == '#' || n == '@' || n == '%' || n == '"' || n == '\'' || n == '<' || n == '>' || n == '=' || n == ':' || n == '!' || n == ',' || n == ';' || n == '&' || n == '~' || n == '`' || n == ' ':
				// Perl allows escaping any punctuation; RE2 only its own
				// metacharacters. The character stands for itself.
				if n == ' ' {
					b.WriteString(`\x20`)
				} else {
					b.WriteByte(n)
				}
			default:
				b.WriteByte('\\')
				b.WriteByte(n)
			}
		case c == '[' && !inClass:
			inClass = true
			b.WriteByte(c)
			// A ']' right after '[' or '[^' is literal.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteString(`\]`)
				i++
			}
		case c == ']' && inClass:
			inClass = false
			b.WriteByte(c)
		case !inClass && (c == '*' || c == '+' || c == '?' || c == '}') && i+1 < len(p) && p[i+1] == '+':
			return "", fmt.Errorf("possessive quantifier %c+ is not supported by Go's RE2 regexp engine", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// stripExtended removes the white space and #-comments that /x allows,
// outside character classes and escapes.
func stripExtended(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			b.WriteByte(p[i+1])
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		case c == '#':
			for i < len(p) && p[i] != '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
