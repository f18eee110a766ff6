package spf

import (
	"context"
	"strconv"
	"strings"
)

// token is one piece of a macro-string (RFC 7208 7.1).
type token struct {
	literal string // literal text; for %%, %_ and %- their expansion
	raw     string // "%%", "%_" or "%-" when the token is one of those
	letter  byte   // lower-case macro letter, 0 for a literal
	upper   bool   // upper-case letter: URL-escape the expansion
	digits  int    // keep this many right-hand parts (0: all)
	reverse bool
	delims  string // "" means "."
}

// maxMacroDigits bounds the DIGIT transformer (RFC 7208 7.3: at least 128
// must be supported; more than a name's labels makes no difference).
const maxMacroDigits = 128

// parseMacroString tokenizes a macro-string; exp allows the letters c, r
// and t and spaces (explain-string, RFC 7208 7.1).
func parseMacroString(s string, exp bool) ([]token, error) {
	var toks []token
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, token{literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if c < '!' || c > '~' {
				if !(exp && c == ' ') {
					return nil, syntaxErr("invalid character 0x%02x in %q", c, s)
				}
			}
			lit.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return nil, syntaxErr("lone %% at the end of %q", s)
		}
		switch s[i+1] {
		case '%', '_', '-':
			flush()
			t := token{raw: s[i : i+2]}
			t.literal = map[byte]string{'%': "%", '_': " ", '-': "%20"}[s[i+1]]
			toks = append(toks, t)
			i++
			continue
		case '{':
		default:
			return nil, syntaxErr("invalid macro %q in %q", s[i:i+2], s)
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil, syntaxErr("unterminated macro in %q", s)
		}
		body := s[i+2 : i+end]
		t, err := parseMacro(body, exp)
		if err != nil {
			return nil, err
		}
		flush()
		toks = append(toks, t)
		i += end
	}
	flush()
	return toks, nil
}

// parseMacro parses "letter transformers delimiters" (inside %{...}).
func parseMacro(body string, exp bool) (token, error) {
	if body == "" {
		return token{}, syntaxErr("empty macro")
	}
	t := token{}
	c := body[0]
	lc := c | 0x20
	switch lc {
	case 's', 'l', 'o', 'd', 'i', 'p', 'h', 'v':
	case 'c', 'r', 't':
		// RFC 7208 7.2: c, r and t only in "exp" text.
		if !exp {
			return t, syntaxErr("macro %%{%c} allowed only in exp text", c)
		}
	default:
		return t, syntaxErr("unknown macro letter %q", c)
	}
	if !isAlpha(c) {
		return t, syntaxErr("unknown macro letter %q", c)
	}
	t.letter, t.upper = lc, c != lc
	rest := body[1:]
	j := 0
	for j < len(rest) && isDigit(rest[j]) {
		j++
	}
	if j > 0 {
		n, err := strconv.Atoi(rest[:j])
		if err != nil || n == 0 || n > maxMacroDigits {
			// RFC 7208 7.3: the number of parts is at least 1.
			return t, syntaxErr("bad macro transformer %q", rest[:j])
		}
		t.digits = n
	}
	rest = rest[j:]
	if rest != "" && (rest[0] == 'r' || rest[0] == 'R') {
		t.reverse = true
		rest = rest[1:]
	}
	for k := 0; k < len(rest); k++ {
		if !strings.ContainsRune(".-+,/_=", rune(rest[k])) {
			return t, syntaxErr("bad macro delimiter %q", rest[k])
		}
	}
	t.delims = rest
	return t, nil
}

// macroEnv supplies the macro values of one evaluation.
type macroEnv interface {
	macroValue(ctx context.Context, letter byte, domain string) string
}

// expand expands tokens with the values of env for the current domain.
func expand(ctx context.Context, toks []token, env macroEnv, domain string) string {
	var b strings.Builder
	for _, t := range toks {
		if t.letter == 0 {
			b.WriteString(t.literal)
			continue
		}
		v := env.macroValue(ctx, t.letter, domain)
		if t.digits > 0 || t.reverse || t.delims != "" {
			delims := t.delims
			if delims == "" {
				delims = "."
			}
			// RFC 7208 7.3: split on every delimiter, keeping empty parts.
			parts := splitAny(v, delims)
			if t.reverse {
				for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
					parts[i], parts[j] = parts[j], parts[i]
				}
			}
			if t.digits > 0 && t.digits < len(parts) {
				parts = parts[len(parts)-t.digits:]
			}
			v = strings.Join(parts, ".")
		}
		if t.upper {
			v = urlEscape(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

func splitAny(s, delims string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(delims, s[i]) >= 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// urlEscape escapes everything but the URI unreserved characters (RFC 7208
// 7.3, RFC 3986 2.3).
func urlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)|0x100, 16)[1:]))
		}
	}
	return b.String()
}
