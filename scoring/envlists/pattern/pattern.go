// Package pattern parses and matches the address and host patterns of SME's
// envelope lists (qpsmtpd's badmailfrom, badrcptto, badmailfromto,
// whitelistsenders, whitelisthelo and the "Visible internal" recipients):
//
//	user@example.com   that address (case-insensitive)
//	@example.com       any address at that domain
//	user@              that local part at any domain (SME group and user names)
//	*@*.xyz            shell-style wildcards: '*' any run of characters, '?' one
//	example.com        (host patterns) a host name, wildcards allowed: *.example.com
//
// Patterns come from the config file; addresses come from SMTP clients. Both
// are bounded (MaxLen) and a pattern with spaces, control characters, angle
// brackets or several '@' is refused with an error that says why.
package pattern

import (
	"errors"
	"fmt"
	"strings"
)

// MaxLen bounds a pattern: RFC 5321 4.5.3.1.3 limits a path to 256 octets;
// anything longer is a typo or an attack, not a list entry.
const MaxLen = 256

// maxStars bounds wildcards per part so that matching stays linear-ish
// (the matcher backtracks over at most one star at a time anyway).
const maxStars = 16

// Kind tells address patterns from host patterns.
type Kind int

const (
	Address Kind = iota // user@host, @host, user@
	Host                // a host name (HELO), no '@'
)

// Pattern is one parsed list entry.
type Pattern struct {
	raw   string
	kind  Kind
	local string // "" = any local part (for "@host")
	host  string // "" = any host (for "user@")
}

// String returns the pattern as written (lower-cased).
func (p Pattern) String() string { return p.raw }

// Parse parses an address pattern (user@host, @host, user@, wildcards).
func Parse(s string) (Pattern, error) { return parse(s, Address) }

// ParseHost parses a host pattern (HELO names): a name or a wildcard name,
// or an address literal such as [192.0.2.1].
func ParseHost(s string) (Pattern, error) { return parse(s, Host) }

func parse(s string, kind Kind) (Pattern, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return Pattern{}, errors.New("empty pattern")
	}
	if len(s) > MaxLen {
		return Pattern{}, fmt.Errorf("pattern longer than %d characters", MaxLen)
	}
	for _, r := range s {
		switch {
		case r <= ' ' || r == 0x7f:
			return Pattern{}, fmt.Errorf("pattern %q contains a space or control character", s)
		case r == '<' || r == '>' || r == ',' || r == ';':
			return Pattern{}, fmt.Errorf("pattern %q contains %q (write bare addresses, one per list entry)", s, r)
		}
	}
	p := Pattern{raw: s, kind: kind}
	if kind == Host {
		if strings.Contains(s, "@") {
			return Pattern{}, fmt.Errorf("host pattern %q contains '@'", s)
		}
		p.host = strings.TrimSuffix(s, ".")
		if err := checkStars(p.host); err != nil {
			return Pattern{}, fmt.Errorf("pattern %q: %v", s, err)
		}
		return p, nil
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return Pattern{}, fmt.Errorf("pattern %q has no '@' (write user@host, @host or user@)", s)
	}
	if strings.Count(s, "@") > 1 {
		return Pattern{}, fmt.Errorf("pattern %q has more than one '@'", s)
	}
	p.local, p.host = s[:at], strings.TrimSuffix(s[at+1:], ".")
	if p.local == "" && p.host == "" {
		return Pattern{}, fmt.Errorf("pattern %q matches nothing in particular (write *@* to match everything)", s)
	}
	for _, part := range []string{p.local, p.host} {
		if err := checkStars(part); err != nil {
			return Pattern{}, fmt.Errorf("pattern %q: %v", s, err)
		}
	}
	return p, nil
}

func checkStars(s string) error {
	if strings.Count(s, "*") > maxStars {
		return fmt.Errorf("more than %d wildcards", maxStars)
	}
	return nil
}

// Match reports whether an address (user@host, as received; case does not
// matter) or, for host patterns, a host name matches.
func (p Pattern) Match(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > 4*MaxLen {
		return false
	}
	if p.kind == Host {
		return glob(p.host, strings.TrimSuffix(s, "."))
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return false
	}
	local, host := s[:at], strings.TrimSuffix(s[at+1:], ".")
	if p.local != "" && !glob(p.local, local) {
		return false
	}
	if p.host != "" && !glob(p.host, host) {
		return false
	}
	return true
}

// glob matches shell-style '*' and '?' in linear time (the classic
// backtrack-to-last-star algorithm).
func glob(pat, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pat) && (pat[px] == '?' || pat[px] == s[sx]):
			px++
			sx++
		case px < len(pat) && pat[px] == '*':
			starP, starS = px, sx
			px++
		case starP >= 0:
			px = starP + 1
			starS++
			sx = starS
		default:
			return false
		}
	}
	for px < len(pat) && pat[px] == '*' {
		px++
	}
	return px == len(pat)
}

// List is an ordered set of patterns.
type List []Pattern

// ParseList parses address patterns; errs has one error per bad entry,
// with its index, so the config can name the key.
func ParseList(entries []string) (List, []error) {
	return parseList(entries, Parse)
}

// ParseHostList parses host patterns.
func ParseHostList(entries []string) (List, []error) {
	return parseList(entries, ParseHost)
}

func parseList(entries []string, f func(string) (Pattern, error)) (List, []error) {
	var l List
	var errs []error
	for i, e := range entries {
		p, err := f(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("entry %d: %w", i+1, err))
			continue
		}
		l = append(l, p)
	}
	return l, errs
}

// Match returns the first pattern matching s.
func (l List) Match(s string) (Pattern, bool) {
	for _, p := range l {
		if p.Match(s) {
			return p, true
		}
	}
	return Pattern{}, false
}

// Pair is a badmailfromto entry: a sender pattern and a recipient pattern.
type Pair struct{ From, To Pattern }

// ParsePair parses a [from, to] pair.
func ParsePair(from, to string) (Pair, error) {
	f, err := Parse(from)
	if err != nil {
		return Pair{}, fmt.Errorf("sender: %w", err)
	}
	t, err := Parse(to)
	if err != nil {
		return Pair{}, fmt.Errorf("recipient: %w", err)
	}
	return Pair{f, t}, nil
}
