package spf

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Qualifier is a mechanism's prefix (RFC 7208 4.6.2).
type Qualifier byte

// Qualifiers.
const (
	QPass     Qualifier = '+'
	QFail     Qualifier = '-'
	QSoftFail Qualifier = '~'
	QNeutral  Qualifier = '?'
)

// Mechanism is one directive of a record (RFC 7208 5).
type Mechanism struct {
	Qual Qualifier
	// Kind is the lower-cased mechanism name: all, include, a, mx, ptr,
	// ip4, ip6, exists.
	Kind string
	// Domain is the domain-spec as written (a macro-string), "" if absent.
	Domain string
	// Net is the network of ip4 and ip6.
	Net netip.Prefix
	// CIDR4 and CIDR6 are the dual-cidr-length of a and mx (-1 when
	// absent: /32 and /128).
	CIDR4, CIDR6 int
}

// Record is a parsed SPF record (RFC 7208 4.5, 4.6).
type Record struct {
	Mechanisms []Mechanism
	Redirect   string // redirect= domain-spec, "" when absent
	Exp        string // exp= domain-spec, "" when absent
	// Unknown lists unknown modifiers (RFC 7208 6: ignored).
	Unknown []string
}

// Limits of the parser, with their reasons.
const (
	// MaxRecordLength bounds the record text parsed: a TXT RRset cannot
	// exceed 64 KiB, and real records are a few hundred bytes; longer input
	// (from a fuzzer or a hostile zone) is refused as permerror.
	MaxRecordLength = 4096
	// maxTerms bounds the terms of one record.
	maxTerms = 512
)

// IsSPFRecord reports whether a TXT record's text is an SPF version 1
// record (RFC 7208 4.5: "v=spf1" followed by a space or the end).
func IsSPFRecord(txt string) bool {
	if len(txt) < 6 || !strings.EqualFold(txt[:6], "v=spf1") {
		return false
	}
	return len(txt) == 6 || txt[6] == ' '
}

// errSyntax is wrapped by every parse error.
var errSyntax = errors.New("syntax error")

func syntaxErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errSyntax, fmt.Sprintf(format, args...))
}

// Parse parses an SPF record. Any syntax error anywhere makes the whole
// record a permerror (RFC 7208 4.6).
func Parse(txt string) (*Record, error) {
	if len(txt) > MaxRecordLength {
		return nil, syntaxErr("record longer than %d bytes", MaxRecordLength)
	}
	if !IsSPFRecord(txt) {
		return nil, syntaxErr("not an SPF record")
	}
	rec := &Record{}
	hasRedirect, hasExp := false, false
	// RFC 7208 4.6.1: terms are separated by one or more spaces (SP only).
	terms := strings.Split(txt[6:], " ")
	if len(terms) > maxTerms {
		return nil, syntaxErr("too many terms")
	}
	for _, term := range terms {
		if term == "" {
			continue
		}
		for i := 0; i < len(term); i++ {
			// RFC 7208 3.1, 4.6.1: 7-bit visible characters only.
			if term[i] <= ' ' || term[i] > '~' {
				return nil, syntaxErr("invalid character 0x%02x in %q", term[i], term)
			}
		}
		if name, value, ok := splitModifier(term); ok {
			switch strings.ToLower(name) {
			case "redirect":
				// RFC 7208 6: redirect and exp at most once each.
				if hasRedirect {
					return nil, syntaxErr("more than one redirect=")
				}
				if err := checkDomainSpec(value, false); err != nil {
					return nil, err
				}
				hasRedirect, rec.Redirect = true, value
			case "exp":
				if hasExp {
					return nil, syntaxErr("more than one exp=")
				}
				if err := checkDomainSpec(value, false); err != nil {
					return nil, err
				}
				hasExp, rec.Exp = true, value
			default:
				// RFC 7208 6: unknown modifiers are ignored, but must be
				// syntactically valid macro-strings.
				if _, err := parseMacroString(value, false); err != nil {
					return nil, err
				}
				rec.Unknown = append(rec.Unknown, term)
			}
			continue
		}
		m, err := parseMechanism(term)
		if err != nil {
			return nil, err
		}
		rec.Mechanisms = append(rec.Mechanisms, m)
	}
	return rec, nil
}

// splitModifier recognises name=value (RFC 7208 4.6.1: name = ALPHA *(ALPHA
// / DIGIT / "-" / "_" / ".")).
func splitModifier(term string) (name, value string, ok bool) {
	i := strings.IndexAny(term, "=:/")
	if i <= 0 || term[i] != '=' {
		return "", "", false
	}
	name = term[:i]
	if !isAlpha(name[0]) {
		return "", "", false
	}
	for j := 1; j < len(name); j++ {
		c := name[j]
		if !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' && c != '.' {
			return "", "", false
		}
	}
	return name, term[i+1:], true
}

func parseMechanism(term string) (Mechanism, error) {
	m := Mechanism{Qual: QPass, CIDR4: -1, CIDR6: -1}
	switch term[0] {
	case '+', '-', '~', '?':
		m.Qual = Qualifier(term[0])
		term = term[1:]
	}
	end := strings.IndexAny(term, ":/")
	if end < 0 {
		end = len(term)
	}
	m.Kind = strings.ToLower(term[:end])
	rest := term[end:]
	switch m.Kind {
	case "all":
		if rest != "" {
			return m, syntaxErr("all takes no argument: %q", term)
		}
	case "include", "exists":
		if !strings.HasPrefix(rest, ":") || len(rest) < 2 {
			return m, syntaxErr("%s needs a domain: %q", m.Kind, term)
		}
		m.Domain = rest[1:]
		if err := checkDomainSpec(m.Domain, false); err != nil {
			return m, err
		}
	case "a", "mx":
		var err error
		rest, m.CIDR4, m.CIDR6, err = splitDualCIDR(rest)
		if err != nil {
			return m, err
		}
		if rest != "" {
			if rest[0] != ':' || len(rest) < 2 {
				return m, syntaxErr("bad %s argument: %q", m.Kind, term)
			}
			m.Domain = rest[1:]
			if err := checkDomainSpec(m.Domain, false); err != nil {
				return m, err
			}
		}
	case "ptr":
		if rest != "" {
			if rest[0] != ':' || len(rest) < 2 {
				return m, syntaxErr("bad ptr argument: %q", term)
			}
			m.Domain = rest[1:]
			if err := checkDomainSpec(m.Domain, false); err != nil {
				return m, err
			}
		}
	case "ip4", "ip6":
		if !strings.HasPrefix(rest, ":") {
			return m, syntaxErr("%s needs an address: %q", m.Kind, term)
		}
		p, err := parseIPNet(m.Kind, rest[1:])
		if err != nil {
			return m, err
		}
		m.Net = p
	default:
		return m, syntaxErr("unknown mechanism %q", term)
	}
	return m, nil
}

// splitDualCIDR removes a trailing "/N", "//N" or "/N//M" (RFC 7208 5.6)
// and returns the rest and the lengths (-1 when absent).
func splitDualCIDR(s string) (rest string, c4, c6 int, err error) {
	c4, c6 = -1, -1
	if i := strings.LastIndex(s, "//"); i >= 0 && allDigits(s[i+2:]) {
		if c6, err = cidrLen(s[i+2:], 128); err != nil {
			return "", 0, 0, err
		}
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 && allDigits(s[i+1:]) {
		if c4, err = cidrLen(s[i+1:], 32); err != nil {
			return "", 0, 0, err
		}
		s = s[:i]
	}
	if strings.ContainsRune(s, '/') && !strings.HasPrefix(s, ":") {
		return "", 0, 0, syntaxErr("bad cidr length in %q", s)
	}
	return s, c4, c6, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// cidrLen parses a cidr length: no leading zeros (RFC 7208 5.6 ABNF), at
// most max.
func cidrLen(s string, max int) (int, error) {
	if !allDigits(s) || (len(s) > 1 && s[0] == '0') || len(s) > 3 {
		return 0, syntaxErr("bad cidr length %q", s)
	}
	n, _ := strconv.Atoi(s)
	if n > max {
		return 0, syntaxErr("cidr length /%d over /%d", n, max)
	}
	return n, nil
}

func parseIPNet(kind, s string) (netip.Prefix, error) {
	addr, length := s, ""
	if i := strings.IndexByte(s, '/'); i >= 0 {
		addr, length = s[:i], s[i+1:]
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" {
		return netip.Prefix{}, syntaxErr("bad %s address %q", kind, addr)
	}
	max := 32
	if kind == "ip4" {
		if !ip.Is4() {
			return netip.Prefix{}, syntaxErr("ip4 with a non-IPv4 address %q", addr)
		}
	} else {
		if !ip.Is6() {
			return netip.Prefix{}, syntaxErr("ip6 with a non-IPv6 address %q", addr)
		}
		max = 128
	}
	bits := max
	if strings.Contains(s, "/") {
		if bits, err = cidrLen(length, max); err != nil {
			return netip.Prefix{}, err
		}
	}
	return ip.Prefix(bits)
}

// checkDomainSpec validates a domain-spec (RFC 7208 7.1): a macro-string
// ending with a macro-expand or with "." toplabel ["."].
func checkDomainSpec(s string, exp bool) error {
	toks, err := parseMacroString(s, exp)
	if err != nil {
		return err
	}
	if len(toks) == 0 {
		return syntaxErr("empty domain-spec")
	}
	last := toks[len(toks)-1]
	if last.letter != 0 || last.raw != "" {
		return nil // ends with a macro-expand (%{x}, %%, %_, %-)
	}
	lit := last.literal
	lit = strings.TrimSuffix(lit, ".")
	i := strings.LastIndexByte(lit, '.')
	if i < 0 {
		return syntaxErr("domain-spec %q does not end in a top-level label", s)
	}
	if !isTopLabel(lit[i+1:]) {
		return syntaxErr("domain-spec %q has a bad top-level label", s)
	}
	return nil
}

// isTopLabel: toplabel = (*alphanum ALPHA *alphanum) / (1*alphanum "-"
// *(alphanum / "-") alphanum) (RFC 7208 7.1).
func isTopLabel(l string) bool {
	if l == "" {
		return false
	}
	alpha := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case isAlpha(c):
			alpha = true
		case isDigit(c):
		case c == '-':
			if i == 0 || i == len(l)-1 {
				return false
			}
			alpha = true // the hyphenated form needs no letter
		default:
			return false
		}
	}
	return alpha
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
