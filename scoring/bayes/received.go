package bayes

import "strings"

// Hand-written scanners for Received fields, equivalent to the regexps
//
//	\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b          (scanIPv4)
//	(?i)\b(?:from|by)\s+([a-z0-9][a-z0-9.-]*\.[a-z]{2,})      (scanHosts)
//
// which cost ~4 % of the daemon's CPU on the inbound benchmark.
// TestReceivedScannersMatchRegexps checks the equivalence (for scanHosts,
// on ASCII: RE2's (?i)[a-z] also takes U+017F and the Kelvin sign, which no
// host name has).

func isWord(c byte) bool {
	return c == '_' || isDigit(c) || isLetter(c)
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// digitRun returns the end of the run of digits at s[i:].
func digitRun(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// scanIPv4 returns up to max dotted quads of s with their four octets, as
// FindAllStringSubmatch(s, max) of the IPv4 regexp would: m[0] the whole
// match, m[1..4] the octets.
func scanIPv4(s string, max int) [][5]string {
	var out [][5]string
	for i := 0; i < len(s) && len(out) < max; i++ {
		if !isDigit(s[i]) || (i > 0 && isWord(s[i-1])) {
			continue
		}
		var m [5]string
		j, ok := i, true
		for k := 1; k <= 4 && ok; k++ {
			e := digitRun(s, j)
			if e-j < 1 || e-j > 3 {
				ok = false
				break
			}
			m[k] = s[j:e]
			j = e
			if k < 4 {
				if j >= len(s) || s[j] != '.' {
					ok = false
					break
				}
				j++
			}
		}
		if !ok || (j < len(s) && isWord(s[j])) {
			continue
		}
		m[0] = s[i:j]
		out = append(out, m)
		i = j - 1
	}
	return out
}

func isHostByte(c byte) bool { return isLetter(c) || isDigit(c) || c == '.' || c == '-' }

// scanHosts returns up to max host names that follow "from" or "by" in s,
// as FindAllStringSubmatch(s, max)[k][1] of the host regexp would.
func scanHosts(s string, max int) []string {
	var out []string
	for i := 0; i < len(s) && len(out) < max; i++ {
		if i > 0 && isWord(s[i-1]) {
			continue
		}
		var n int
		switch {
		case len(s)-i >= 4 && strings.EqualFold(s[i:i+4], "from"):
			n = 4
		case len(s)-i >= 2 && strings.EqualFold(s[i:i+2], "by"):
			n = 2
		default:
			continue
		}
		j := i + n
		ws := j
		for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\f' || s[j] == '\r') {
			j++
		}
		if j == ws || j >= len(s) || !(isLetter(s[j]) || isDigit(s[j])) {
			continue
		}
		// R: the run of host bytes from j; the host ends after the letters
		// that follow the last dot (past R's first byte) with two or more.
		r := j + 1
		for r < len(s) && isHostByte(s[r]) {
			r++
		}
		end := -1
		for d := r - 1; d > j; d-- {
			if s[d] != '.' {
				continue
			}
			e := d + 1
			for e < r && isLetter(s[e]) {
				e++
			}
			if e-(d+1) >= 2 {
				end = e
				break
			}
		}
		if end < 0 {
			continue
		}
		out = append(out, s[j:end])
		i = end - 1
	}
	return out
}
