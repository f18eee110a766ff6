package mime

// URL scanning without regexp: links written in text used to be found by a
// case-insensitive regexp over every text part, which cost ~8 % of the
// daemon's CPU on the inbound benchmark. ScanURLs finds exactly what it
// found:
//
//	(?i)(?:\b(?:https?|ftp)://|\bwww\.|\bmailto:)[^\s<>"'()\[\]{}\\^`]+
//
// (\s being RE2's: \t \n \f \r space). TestScanURLsMatchesRegexp checks the
// equivalence on random and fuzzed input.

// linkStop: the bytes that end a URL written in text.
var linkStop = func() (s [256]bool) {
	for _, c := range []byte("\t\n\f\r <>\"'()[]{}\\^`") {
		s[c] = true
	}
	return s
}()

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// hasPrefixFold reports whether s[i:] starts with the lower-case ASCII p,
// ignoring case (RE2's (?i) folds K to the Kelvin sign too; these prefixes
// have no k).
func hasPrefixFold(s string, i int, p string) bool {
	if len(s)-i < len(p) {
		return false
	}
	for j := 0; j < len(p); j++ {
		c := s[i+j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[j] {
			return false
		}
	}
	return true
}

// urlPrefixLen returns the length of the URL prefix at s[i:] (0: none).
func urlPrefixLen(s string, i int) int {
	switch s[i] | 0x20 {
	case 'h':
		if hasPrefixFold(s, i, "https://") {
			return 8
		}
		if hasPrefixFold(s, i, "http://") {
			return 7
		}
	case 'f':
		if hasPrefixFold(s, i, "ftp://") {
			return 6
		}
	case 'w':
		if hasPrefixFold(s, i, "www.") {
			return 4
		}
	case 'm':
		if hasPrefixFold(s, i, "mailto:") {
			return 7
		}
	}
	return 0
}

// ScanURLs appends to out the URLs in s, at most max of them (max < 0: all),
// leftmost first and not overlapping, as regexp's FindAllString would.
func ScanURLs(out []string, s string, max int) []string {
	found := 0
	for i := 0; i < len(s) && (max < 0 || found < max); i++ {
		if i > 0 && isWordByte(s[i-1]) {
			continue // \b: the prefix must start a word
		}
		n := urlPrefixLen(s, i)
		if n == 0 {
			continue
		}
		end := i + n
		for end < len(s) && !linkStop[s[end]] {
			end++
		}
		if end == i+n {
			continue // the prefix alone is no match
		}
		out = append(out, s[i:end])
		found++
		i = end - 1
	}
	return out
}
