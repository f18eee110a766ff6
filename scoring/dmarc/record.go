package dmarc

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Policy is a DMARC requested mail receiver policy (RFC 7489 6.3, p= and sp=).
type Policy string

// Policies.
const (
	PolicyNone       Policy = "none"
	PolicyQuarantine Policy = "quarantine"
	PolicyReject     Policy = "reject"
)

// Mode is an identifier alignment mode (RFC 7489 3.1, adkim= and aspf=).
type Mode string

// Alignment modes.
const (
	Relaxed Mode = "r"
	Strict  Mode = "s"
)

// Record is a parsed DMARC policy record (RFC 7489 6.3).
type Record struct {
	P     Policy
	SP    Policy // "" when absent: subdomains get P
	ADKIM Mode
	ASPF  Mode
	Pct   int
	FO    string
	RF    string
	RI    int
	// RUA and RUF are the syntactically valid report URIs, as written
	// (with any "!size" suffix).
	RUA, RUF []string
	// Warnings lists what was ignored (RFC 7489 6.3: syntax errors in the
	// remainder of the record are discarded in favour of the defaults).
	Warnings []string
}

// Limits on what a published record may make us keep.
const (
	// MaxRecordLen: a TXT record of 4096 bytes is already far more than any
	// real policy (they are ~100 bytes); more is refused, not parsed.
	MaxRecordLen = 4096
	// MaxURIs per rua/ruf: RFC 7489 sets no limit, but reports go to each
	// address; a handful is what real domains publish.
	MaxURIs = 8
)

// Parse errors, each a reason a record is unusable.
var (
	ErrEmpty      = errors.New("empty record")
	ErrBadVersion = errors.New("record does not start with v=DMARC1")
	ErrBadPolicy  = errors.New("invalid p= value")
	ErrNoPolicy   = errors.New("no p= tag")
	ErrTooLong    = errors.New("record too long")
	ErrSyntax     = errors.New("malformed tag list")
)

// IsDMARCRecord reports whether a TXT string is a DMARC record candidate:
// RFC 7489 6.6.3 discards those not starting with "v=DMARC1".
func IsDMARCRecord(txt string) bool {
	k, v, ok := strings.Cut(strings.SplitN(txt, ";", 2)[0], "=")
	return ok && strings.TrimSpace(k) == "v" && strings.TrimSpace(v) == "DMARC1"
}

// Parse parses a DMARC record. Invalid optional tags are ignored with a
// warning (RFC 7489 6.3); an invalid or missing p= makes the record unusable
// unless rua= holds a valid URI, in which case p=none applies (RFC 7489
// 6.6.3 step 6).
func Parse(txt string) (*Record, error) {
	if len(txt) > MaxRecordLen {
		return nil, ErrTooLong
	}
	if strings.TrimSpace(txt) == "" {
		return nil, ErrEmpty
	}
	r := &Record{ADKIM: Relaxed, ASPF: Relaxed, Pct: 100, FO: "0", RF: "afrf", RI: 86400}
	parts := strings.Split(txt, ";")
	// RFC 7489 6.4: v=DMARC1 must come first; the tag name is
	// case-sensitive ("V=" is not a version tag).
	if !IsDMARCRecord(parts[0]) {
		return nil, ErrBadVersion
	}
	var pErr error
	havePolicy := false
	seen := map[string]bool{"v": true}
	for _, part := range parts[1:] {
		part = strings.TrimSpace(part)
		if part == "" {
			continue // a trailing ";" is allowed
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			r.Warnings = append(r.Warnings, fmt.Sprintf("ignored %q: not a tag=value pair", part))
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if seen[k] {
			r.Warnings = append(r.Warnings, fmt.Sprintf("ignored repeated tag %s", k))
			continue
		}
		seen[k] = true
		switch k {
		case "p":
			if p, ok := parsePolicy(v); ok {
				r.P, havePolicy = p, true
			} else {
				pErr = fmt.Errorf("%w %q", ErrBadPolicy, v)
			}
		case "sp":
			if p, ok := parsePolicy(v); ok {
				r.SP = p
			} else {
				r.Warnings = append(r.Warnings, fmt.Sprintf("ignored invalid sp=%q", v))
			}
		case "adkim", "aspf":
			m := Mode(strings.ToLower(v))
			if m != Relaxed && m != Strict {
				r.Warnings = append(r.Warnings, fmt.Sprintf("ignored invalid %s=%q", k, v))
				continue
			}
			if k == "adkim" {
				r.ADKIM = m
			} else {
				r.ASPF = m
			}
		case "pct":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100 {
				r.Warnings = append(r.Warnings, fmt.Sprintf("ignored invalid pct=%q (0-100)", v))
				continue
			}
			r.Pct = n
		case "fo":
			if !validFO(v) {
				r.Warnings = append(r.Warnings, fmt.Sprintf("ignored invalid fo=%q", v))
				continue
			}
			r.FO = v
		case "rf":
			if !validRF(v) {
				r.Warnings = append(r.Warnings, fmt.Sprintf("ignored invalid rf=%q", v))
				continue
			}
			r.RF = v
		case "ri":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				r.Warnings = append(r.Warnings, fmt.Sprintf("ignored invalid ri=%q", v))
				continue
			}
			r.RI = int(n)
		case "rua", "ruf":
			var good []string
			for _, u := range strings.Split(v, ",") {
				u = strings.TrimSpace(u)
				if _, err := ParseURI(u); err != nil {
					r.Warnings = append(r.Warnings, fmt.Sprintf("ignored %s URI %q: %v", k, u, err))
					continue
				}
				if len(good) >= MaxURIs {
					r.Warnings = append(r.Warnings, fmt.Sprintf("ignored %s URIs past %d", k, MaxURIs))
					break
				}
				good = append(good, u)
			}
			if k == "rua" {
				r.RUA = good
			} else {
				r.RUF = good
			}
		default:
			// RFC 7489 6.3: unknown tags MUST be ignored.
			r.Warnings = append(r.Warnings, fmt.Sprintf("ignored unknown tag %s", k))
		}
	}
	if !havePolicy {
		if len(r.RUA) > 0 {
			r.P = PolicyNone
			r.Warnings = append(r.Warnings, "no valid p=, treated as p=none because rua= is valid (RFC 7489 6.6.3)")
		} else if pErr != nil {
			return nil, pErr
		} else {
			return nil, ErrNoPolicy
		}
	}
	return r, nil
}

func parsePolicy(v string) (Policy, bool) {
	switch p := Policy(strings.ToLower(v)); p {
	case PolicyNone, PolicyQuarantine, PolicyReject:
		return p, true
	}
	return "", false
}

// validFO: fo = "0" / "1" / "d" / "s", separated by ":" (RFC 7489 6.3).
func validFO(v string) bool {
	for _, o := range strings.Split(v, ":") {
		switch strings.TrimSpace(o) {
		case "0", "1", "d", "s":
		default:
			return false
		}
	}
	return true
}

// validRF: rf = Keyword *(":" Keyword); only "afrf" is registered (RFC 7489
// 6.3, IANA "DMARC Report Format").
func validRF(v string) bool {
	for _, f := range strings.Split(v, ":") {
		if strings.ToLower(strings.TrimSpace(f)) != "afrf" {
			return false
		}
	}
	return true
}

// URI is a parsed DMARC report URI (RFC 7489 6.2: dmarc-uri = URI
// ["!" size]).
type URI struct {
	Scheme  string
	Address string // the mailbox, for mailto: URIs
	MaxSize int64  // 0: no limit
	Raw     string
}

// ParseURI parses one dmarc-uri.
func ParseURI(s string) (URI, error) {
	u := URI{Raw: s}
	base := s
	if i := strings.LastIndexByte(s, '!'); i >= 0 {
		size := strings.ToLower(s[i+1:])
		mult := int64(1)
		if size != "" {
			switch size[len(size)-1] {
			case 'k':
				mult = 1 << 10
			case 'm':
				mult = 1 << 20
			case 'g':
				mult = 1 << 30
			case 't':
				mult = 1 << 40
			}
			if mult != 1 {
				size = size[:len(size)-1]
			}
		}
		n, err := strconv.ParseInt(size, 10, 64)
		if err != nil || n < 0 {
			return u, fmt.Errorf("bad size limit %q", s[i+1:])
		}
		u.MaxSize = n * mult
		base = s[:i]
	}
	p, err := url.Parse(base)
	if err != nil {
		return u, err
	}
	if p.Scheme == "" {
		return u, errors.New("no URI scheme")
	}
	u.Scheme = strings.ToLower(p.Scheme)
	if u.Scheme == "mailto" {
		addr, _ := url.PathUnescape(p.Opaque)
		if i := strings.IndexByte(addr, '?'); i >= 0 {
			addr = addr[:i]
		}
		if strings.Count(addr, "@") != 1 || strings.HasPrefix(addr, "@") || strings.HasSuffix(addr, "@") {
			return u, fmt.Errorf("mailto URI without an address")
		}
		u.Address = addr
	}
	return u, nil
}
