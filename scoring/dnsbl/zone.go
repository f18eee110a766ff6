package dnsbl

import (
	"fmt"
	"net/netip"
	"strings"
)

// Zone is one DNS list with what its answers mean.
type Zone struct {
	// Name is the list's zone, e.g. "zen.spamhaus.org".
	Name string
	// Reject: a hit refuses the message ("reject" mode); otherwise it is scored.
	Reject bool
	// Weight multiplies the listed symbol's weight for this list.
	Weight float64
	// Codes maps a return address to its meaning ("SBL"). Addresses not
	// named count as listed with the meaning "listed".
	Codes map[netip.Addr]string
	// Bits, for bitmask lists (multi.uribl.com, multi.surbl.org), maps a bit
	// of the last octet to its meaning; Codes is then unused.
	Bits map[uint8]string
	// Ignore lists return codes that do not count.
	Ignore map[netip.Addr]bool
	// Errors lists return codes by which the list says "your query was
	// refused" (Spamhaus 127.255.255.x: public resolver, rate limit).
	Errors map[netip.Addr]string
}

// ZoneSettings are the per-list settings of the config file.
type ZoneSettings struct {
	Reject bool
	Weight float64           // 0 means 1
	Codes  map[string]string // return address -> meaning
	Ignore []string
}

// NewZone builds a zone from config settings over the built-in knowledge of
// well-known lists (KnownZones): configured codes add to or replace the
// known ones.
func NewZone(name string, s ZoneSettings) (Zone, error) {
	name = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
	z := Zone{Name: name, Reject: s.Reject, Weight: s.Weight, Codes: map[netip.Addr]string{}, Ignore: map[netip.Addr]bool{}, Errors: map[netip.Addr]string{}}
	if z.Weight == 0 {
		z.Weight = 1
	}
	if k, ok := KnownZones[name]; ok {
		for c, m := range k.Codes {
			z.Codes[netip.MustParseAddr(c)] = m
		}
		for c, m := range k.Errors {
			z.Errors[netip.MustParseAddr(c)] = m
		}
		if len(k.Bits) > 0 {
			z.Bits = k.Bits
		}
	}
	for c, m := range s.Codes {
		a, err := netip.ParseAddr(c)
		if err != nil {
			return Zone{}, fmt.Errorf("zone %s: return code %q is not an address", name, c)
		}
		z.Codes[a] = m
	}
	for _, c := range s.Ignore {
		a, err := netip.ParseAddr(c)
		if err != nil {
			return Zone{}, fmt.Errorf("zone %s: ignored code %q is not an address", name, c)
		}
		z.Ignore[a] = true
	}
	return z, nil
}

// Known is the built-in description of a well-known list.
type Known struct {
	Codes  map[string]string
	Bits   map[uint8]string
	Errors map[string]string
}

// spamhausErrors are Spamhaus's "query refused" answers
// (https://www.spamhaus.org/faqs/domain-blocklist/#291).
var spamhausErrors = map[string]string{
	"127.255.255.252": "typing error in the list name",
	"127.255.255.254": "query through a public resolver refused",
	"127.255.255.255": "excessive number of queries",
}

// KnownZones describes the return codes of widely used lists, so that an
// admin who lists only their names gets meaningful symbols and reject texts.
var KnownZones = map[string]Known{
	// https://www.spamhaus.org/faqs/dnsbl-usage/#200
	"zen.spamhaus.org": {Codes: map[string]string{
		"127.0.0.2": "SBL", "127.0.0.3": "SBL CSS", "127.0.0.4": "XBL", "127.0.0.5": "XBL",
		"127.0.0.6": "XBL", "127.0.0.7": "XBL", "127.0.0.9": "SBL DROP", "127.0.0.10": "PBL ISP",
		"127.0.0.11": "PBL Spamhaus",
	}, Errors: spamhausErrors},
	"sbl.spamhaus.org": {Codes: map[string]string{"127.0.0.2": "SBL", "127.0.0.3": "SBL CSS", "127.0.0.9": "SBL DROP"}, Errors: spamhausErrors},
	"xbl.spamhaus.org": {Codes: map[string]string{"127.0.0.4": "XBL"}, Errors: spamhausErrors},
	"pbl.spamhaus.org": {Codes: map[string]string{"127.0.0.10": "PBL ISP", "127.0.0.11": "PBL Spamhaus"}, Errors: spamhausErrors},
	"dbl.spamhaus.org": {Codes: map[string]string{
		"127.0.1.2": "spam domain", "127.0.1.4": "phishing domain", "127.0.1.5": "malware domain",
		"127.0.1.6": "botnet C&C domain", "127.0.1.102": "abused legit spam", "127.0.1.103": "abused spammed redirector",
		"127.0.1.104": "abused legit phish", "127.0.1.105": "abused legit malware", "127.0.1.106": "abused legit botnet C&C",
	}, Errors: spamhausErrors},
	"bl.spamcop.net":             {Codes: map[string]string{"127.0.0.2": "SpamCop"}},
	"b.barracudacentral.org":     {Codes: map[string]string{"127.0.0.2": "Barracuda"}},
	"psbl.surriel.com":           {Codes: map[string]string{"127.0.0.2": "PSBL"}},
	"dnsbl.sorbs.net":            {},
	"bl.mailspike.net":           {},
	"multi.uribl.com":            {Bits: map[uint8]string{2: "black", 4: "grey", 8: "red"}, Errors: map[string]string{"127.0.0.1": "query refused"}},
	"multi.surbl.org":            {Bits: map[uint8]string{8: "PH", 16: "MW", 64: "ABUSE", 128: "CR"}, Errors: map[string]string{"127.0.0.1": "query refused"}},
	"black.uribl.com":            {Codes: map[string]string{"127.0.0.2": "black"}, Errors: map[string]string{"127.0.0.1": "query refused"}},
	"rhsbl.sorbs.net":            {},
	"dbl.nordspam.com":           {},
	"fresh.spameatingmonkey.net": {},
}

// Verdict is what a list's answer means.
type Verdict struct {
	Listed   bool
	Meanings []string // meanings of the return codes that count
	Error    string   // the list refused the query (Errors) or answered junk
}

// Interpret reads a list's A records. RFC 5782 2.3: a listing is an address
// in 127.0.0.0/8; anything else (a hijacking resolver's "search page"
// address) is not a listing but an error.
func (z *Zone) Interpret(addrs []netip.Addr) Verdict {
	var v Verdict
	seen := map[string]bool{}
	for _, a := range addrs {
		a = a.Unmap()
		if m, ok := z.Errors[a]; ok {
			v.Error = m
			continue
		}
		if !a.Is4() || a.As4()[0] != 127 {
			v.Error = "answer " + a.String() + " outside 127.0.0.0/8"
			continue
		}
		if z.Ignore[a] {
			continue
		}
		var meanings []string
		if len(z.Bits) > 0 {
			last := a.As4()[3]
			for bit := 0; bit < 8; bit++ {
				if m, ok := z.Bits[1<<bit]; ok && last&(1<<bit) != 0 {
					meanings = append(meanings, m)
				}
			}
			if len(meanings) == 0 {
				continue // no bit we know: not a listing
			}
		} else if m, ok := z.Codes[a]; ok {
			meanings = []string{m}
		} else {
			meanings = []string{"listed " + a.String()}
		}
		v.Listed = true
		for _, m := range meanings {
			if !seen[m] {
				seen[m] = true
				v.Meanings = append(v.Meanings, m)
			}
		}
	}
	if v.Listed {
		v.Error = ""
	}
	return v
}

// ReverseIP returns the query label sequence for an address (RFC 5782 2.1
// and 2.4): IPv4 octets reversed ("2.0.0.127"), IPv6 as 32 reversed nibbles.
// IPv4-mapped IPv6 addresses are looked up as IPv4.
func ReverseIP(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		b := ip.As4()
		return fmt.Sprintf("%d.%d.%d.%d", b[3], b[2], b[1], b[0])
	}
	b := ip.As16()
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 63)
	for i := len(b) - 1; i >= 0; i-- {
		if len(out) > 0 {
			out = append(out, '.')
		}
		out = append(out, hex[b[i]&0xf], '.', hex[b[i]>>4])
	}
	return string(out)
}

// maxName: RFC 1035 2.3.4 limits a name to 255 octets (253 in text).
const maxName = 253

// queryName joins a subject to a zone, or "" when the result would not be a
// valid DNS name.
func queryName(subject, zone string) string {
	n := subject + "." + zone
	if len(n) > maxName {
		return ""
	}
	for _, l := range strings.Split(n, ".") {
		if l == "" || len(l) > 63 {
			return ""
		}
	}
	return n
}
