package authresult

import (
	"net/mail"
	"strings"
)

// MaxFromAddresses bounds how many author addresses are evaluated: a From
// field naming hundreds of domains would otherwise cost a DNS lookup each.
const MaxFromAddresses = 8

// FromDomains returns the distinct domains of the author addresses in the
// values of the RFC5322.From fields, lower-cased, in order. RFC 7489 6.6.1:
// with several addresses the receiver may apply DMARC to each domain; the
// caller does that. Values that net/mail cannot parse (comments in odd places,
// stray angle brackets, a repeated "From:" prefix) fall back to the leniency
// OpenDMARC shows: quoted strings and comments are dropped and the addresses
// in <> or bare addr-specs are taken.
func FromDomains(values []string) []string {
	var out []string
	seen := make(map[string]bool)
	for _, v := range values {
		for _, d := range fieldDomains(v) {
			d = NormalizeDomain(d)
			if d == "" || seen[d] {
				continue
			}
			seen[d] = true
			out = append(out, d)
			if len(out) >= MaxFromAddresses {
				return out
			}
		}
	}
	return out
}

// NormalizeDomain lower-cases a domain and strips surrounding dots and space
// (".mac.com." is mac.com, as OpenDMARC treats it).
func NormalizeDomain(d string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(d), "."))
}

func fieldDomains(v string) []string {
	var out []string
	if list, err := mail.ParseAddressList(v); err == nil {
		for _, a := range list {
			if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
				out = append(out, a.Address[i+1:])
			}
		}
		return out
	}
	s := stripQuotedAndComments(v)
	// Addresses in angle brackets win over bare tokens.
	for rest := s; ; {
		open := strings.LastIndexByte(rest, '<')
		if open < 0 {
			break
		}
		closeAt := strings.IndexByte(rest[open:], '>')
		if closeAt > 0 {
			inner := rest[open+1 : open+closeAt]
			if i := strings.LastIndexByte(inner, '@'); i >= 0 {
				out = append([]string{inner[i+1:]}, out...)
			}
		}
		rest = rest[:open]
	}
	if len(out) > 0 {
		return out
	}
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == ',' || r == ';' || r == '<' || r == '>' || r == '\r' || r == '\n'
	}) {
		if i := strings.LastIndexByte(tok, '@'); i > 0 && i < len(tok)-1 {
			out = append(out, tok[i+1:])
		}
	}
	return out
}

// stripQuotedAndComments removes "quoted strings" and (nested (comments)).
func stripQuotedAndComments(s string) string {
	var b strings.Builder
	depth := 0
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (quoted || depth > 0):
			i++
		case quoted:
			if c == '"' {
				quoted = false
				b.WriteByte(' ')
			}
		case c == '"' && depth == 0:
			quoted = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
			if depth == 0 {
				b.WriteByte(' ')
			}
		case depth > 0:
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
