package dmarc

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"github.com/mailwarden/mailwarden/internal/authresult"
)

// SuffixList finds the public suffix of a domain, as
// golang.org/x/net/publicsuffix.List and cookiejar.PublicSuffixList do.
type SuffixList interface {
	PublicSuffix(domain string) string
}

// DefaultSuffixes is the Public Suffix List compiled into
// golang.org/x/net/publicsuffix (ICANN and private sections).
var DefaultSuffixes SuffixList = publicsuffix.List

// OrgDomain returns the organizational domain of a domain (RFC 7489 3.2):
// its public suffix plus one label. A domain that is itself a public suffix
// (or has no usable labels) has no organizational domain: "" is returned.
func OrgDomain(list SuffixList, domain string) string {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	if d == "" || strings.HasPrefix(d, ".") || strings.Contains(d, "..") {
		return ""
	}
	if list == nil {
		list = DefaultSuffixes
	}
	suffix := list.PublicSuffix(d)
	if suffix == d || !strings.HasSuffix(d, "."+suffix) {
		return ""
	}
	rest := strings.TrimSuffix(d, "."+suffix)
	return rest[strings.LastIndexByte(rest, '.')+1:] + "." + suffix
}

// Aligned reports whether two domains are in alignment under a mode (RFC
// 7489 3.1): strict needs them equal, relaxed needs equal organizational
// domains. Domains are compared case-insensitively with surrounding dots
// ignored.
func Aligned(list SuffixList, a, b string, mode Mode) bool {
	a, b = authresult.NormalizeDomain(a), authresult.NormalizeDomain(b)
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	if mode == Strict {
		return false
	}
	oa := OrgDomain(list, a)
	return oa != "" && oa == OrgDomain(list, b)
}

// PSL is a Public Suffix List read from a file in the publicsuffix.org
// format (for tests, and for [dmarc] psl_file: a list fresher than the
// compiled-in one).
type PSL struct {
	rules map[string]byte // ASCII rule (without "*." / "!") → kind
}

const (
	ruleNormal    = 'n'
	ruleWildcard  = '*'
	ruleException = '!'
)

// MaxPSLRules bounds a list file: the real list has ~10 000 rules.
const MaxPSLRules = 100_000

// LoadPSL reads a Public Suffix List file.
func LoadPSL(path string) (*PSL, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := &PSL{rules: make(map[string]byte)}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		line = strings.Fields(line)[0]
		kind := byte(ruleNormal)
		switch {
		case strings.HasPrefix(line, "!"):
			kind, line = ruleException, line[1:]
		case strings.HasPrefix(line, "*."):
			kind, line = ruleWildcard, line[2:]
		}
		a, err := idna.ToASCII(strings.ToLower(line))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: bad rule %q: %v", path, n, line, err)
		}
		p.rules[a+string(kind)] = kind
		if len(p.rules) > MaxPSLRules {
			return nil, fmt.Errorf("%s: more than %d rules", path, MaxPSLRules)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(p.rules) == 0 {
		return nil, fmt.Errorf("%s: no rules", path)
	}
	return p, nil
}

// PublicSuffix implements SuffixList with the publicsuffix.org algorithm:
// an exception rule wins, else the longest matching rule, else "*" (the
// last label). The result keeps the input's form (U-labels or A-labels).
func (p *PSL) PublicSuffix(domain string) string {
	d := strings.ToLower(domain)
	labels := strings.Split(d, ".")
	ascii := make([]string, len(labels))
	for i, l := range labels {
		a, err := idna.ToASCII(l)
		if err != nil {
			a = l
		}
		ascii[i] = a
	}
	n := 1 // labels in the suffix; default rule "*"
	for i := range labels {
		name := strings.Join(ascii[i:], ".")
		if _, ok := p.rules[name+string(rune(ruleException))]; ok {
			// The exception's suffix is the rule minus its first label.
			n = len(labels) - i - 1
			return strings.Join(labels[len(labels)-n:], ".")
		}
	}
	for i := range labels {
		name := strings.Join(ascii[i:], ".")
		cnt := len(labels) - i
		if _, ok := p.rules[name+string(rune(ruleNormal))]; ok && cnt > n {
			n = cnt
		}
		if i > 0 {
			if _, ok := p.rules[name+string(rune(ruleWildcard))]; ok && cnt+1 > n {
				n = cnt + 1
			}
		}
	}
	return strings.Join(labels[len(labels)-n:], ".")
}
