package mime

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// addTextLinks adds the URLs written in text (plain text or rendered HTML).
func (p *Parsed) addTextLinks(text, path string, _ bool) {
	if len(p.Links) >= MaxURLs {
		return
	}
	// URLs written out: with a scheme, starting with "www." (as mail clients
	// linkify them), or mailto: (see ScanURLs).
	for _, m := range ScanURLs(nil, text, MaxURLs-len(p.Links)) {
		m = strings.TrimRight(m, ".,;:!?*")
		if l, ok := makeLink(m, "text", path); ok {
			p.Links = append(p.Links, l)
			if len(p.Links) >= MaxURLs {
				p.Truncated = true
				return
			}
		}
	}
}

// makeLink classifies one URL. Relative links, fragments, cid: and data:
// URLs carry no host and are dropped.
func makeLink(raw, source, path string) (Link, bool) {
	raw = strings.Trim(raw, " \t\r\n\"'<>")
	if raw == "" {
		return Link{}, false
	}
	l := Link{URL: raw, Source: source, Part: path}
	lower := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(lower, "mailto:"):
		l.Scheme = "mailto"
		addr := raw[len("mailto:"):]
		if i := strings.IndexAny(addr, "?"); i >= 0 {
			addr = addr[:i]
		}
		if i := strings.LastIndexByte(addr, '@'); i >= 0 {
			l.Host = normHost(addr[i+1:])
		}
		return l, true
	case strings.HasPrefix(lower, "www."):
		l.Host, l.IsIP = hostOf("http://" + raw)
		return l, l.Host != ""
	case strings.HasPrefix(lower, "//"):
		l.Host, l.IsIP = hostOf("http:" + raw)
		return l, l.Host != ""
	}
	i := strings.Index(raw, "://")
	if i <= 0 {
		return Link{}, false // relative, fragment, cid:, data:, javascript:
	}
	l.Scheme = strings.ToLower(raw[:i])
	for _, c := range l.Scheme {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return Link{}, false
		}
	}
	l.Host, l.IsIP = hostOf(raw)
	return l, true
}

// hostOf extracts the host of an absolute URL, lower-cased, and whether it
// is an IP literal (also decimal, hex or octal IPv4 forms browsers accept).
func hostOf(raw string) (string, bool) {
	var host string
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		host = u.Hostname()
	} else {
		// url.Parse refuses some hosts browsers accept; cut by hand.
		rest := raw[strings.Index(raw, "://")+3:]
		if j := strings.IndexAny(rest, "/?#\\"); j >= 0 {
			rest = rest[:j]
		}
		if j := strings.LastIndexByte(rest, '@'); j >= 0 {
			rest = rest[j+1:]
		}
		if strings.HasPrefix(rest, "[") {
			if j := strings.IndexByte(rest, ']'); j > 0 {
				rest = rest[1:j]
			}
		} else if j := strings.LastIndexByte(rest, ':'); j >= 0 {
			rest = rest[:j]
		}
		host = rest
	}
	host = normHost(host)
	if host == "" {
		return "", false
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String(), true
	}
	if a, ok := obfuscatedIPv4(host); ok {
		return a.String(), true
	}
	return host, false
}

func normHost(h string) string {
	if u, err := url.PathUnescape(h); err == nil {
		h = u
	}
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	h = strings.Trim(h, "[]")
	return h
}

// obfuscatedIPv4 parses the IPv4 forms inet_aton accepts that net/netip
// does not: a single 32-bit number ("3232235777"), hex ("0xc0a80101") and
// dotted parts in hex or octal ("0xc0.0250.1.1").
func obfuscatedIPv4(h string) (netip.Addr, bool) {
	if h == "" || !(h[0] >= '0' && h[0] <= '9') {
		return netip.Addr{}, false
	}
	parts := strings.Split(h, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, s := range parts {
		v, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	switch len(vals) {
	case 1:
		n = vals[0]
	case 2:
		if vals[0] > 255 || vals[1] > 0xffffff {
			return netip.Addr{}, false
		}
		n = vals[0]<<24 | vals[1]
	case 3:
		if vals[0] > 255 || vals[1] > 255 || vals[2] > 0xffff {
			return netip.Addr{}, false
		}
		n = vals[0]<<24 | vals[1]<<16 | vals[2]
	case 4:
		for _, v := range vals {
			if v > 255 {
				return netip.Addr{}, false
			}
		}
		n = vals[0]<<24 | vals[1]<<16 | vals[2]<<8 | vals[3]
	}
	if n > 0xffffffff {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}
