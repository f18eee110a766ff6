package rules

import (
	"net/mail"
	"net/netip"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/scoring"
)

// receivedHop is what one Received field says about one hop, in the forms
// Postfix, Sendmail, Exim and fetchmail write:
//
//	from HELO (rdns [ip]) by relay ...; date         Postfix, Sendmail
//	from rdns ([ip] helo=HELO) by relay ...; date    Exim
//	from [ip] (helo=HELO) by relay ...; date         Exim, no reverse name
//	from host [ip] by localhost with IMAP (fetchmail-6.4) ...; date
//	by relay with SMTP id ...; date                  a sender's own first hop
type receivedHop struct {
	// hosts are the names the receiving relay gave this hop: the sender's
	// reverse name (never its HELO, which the sender chooses, unless the
	// field's form gives nothing else) and the relay's own name.
	hosts    []string
	ip       netip.Addr // the sending host's address, if given
	date     string     // the text after the last ";", read by stamp()
	retrieve bool       // a fetchmail, IMAP or POP3 retrieval
	// noRDNS: the receiving relay recorded ip with no reverse name, in a
	// form that says so (Postfix "unknown [ip]", Sendmail "([ip])", Exim
	// "from [ip] (helo=...)").
	noRDNS bool
	// auth: the sender authenticated (RFC 3848 "with ESMTPA", "ESMTPSA",
	// "LMTPA"...).
	auth bool
	// internal: a hand-off inside our own system: LMTP or local delivery,
	// Postfix's pickup ("from userid"), qmail's own bookkeeping fields.
	internal bool
}

// maxReceived bounds the header fields read for Received.
const maxReceived = 200

// parseReceived reads one Received field value.
func parseReceived(v string) receivedHop {
	v = strings.Join(strings.Fields(v), " ")
	var h receivedHop
	body := v
	if j := strings.LastIndexByte(v, ';'); j >= 0 {
		body, h.date = v[:j], strings.TrimSpace(v[j+1:])
	}
	l := asciiLower(body) // same length as body, so its indexes fit body
	by := strings.Index(l, " by ")
	h.retrieve = strings.Contains(l, "with imap") || strings.Contains(l, "with pop3") || strings.Contains(l, "fetchmail")
	h.internal = strings.Contains(l, "with lmtp") || strings.Contains(l, "with local") ||
		strings.Contains(l, "from userid") || strings.HasPrefix(l, "(qmail ") && strings.Contains(l, " invoked ")
	// The protocol is the word after the first " with " past " by " (a TLS
	// comment before "by" can hold "with cipher ..."); RFC 3848's ESMTPA,
	// ESMTPSA, LMTPA... mean the sender authenticated, as do Postfix's
	// "(Authenticated sender: ...)" and Sendmail's "(authenticated ...)".
	if i := strings.Index(l[max(by, 0):], " with "); i >= 0 {
		proto, _, _ := strings.Cut(l[max(by, 0)+i+len(" with "):], " ")
		proto = strings.TrimRight(proto, ";")
		h.auth = strings.HasSuffix(proto, "smtpa") || strings.HasSuffix(proto, "smtpsa") || strings.HasSuffix(proto, "lmtpa") || strings.HasSuffix(proto, "lmtpsa")
	}
	h.auth = h.auth || strings.Contains(l, ") (authenticated") // after the relay's comment, where no HELO reaches
	if strings.HasPrefix(l, "from ") {
		rest := body[len("from "):]
		first, after, _ := strings.Cut(rest, " ")
		after = strings.TrimSpace(after)
		if strings.HasPrefix(after, "(") {
			inner, next, _ := strings.Cut(after[1:], ")")
			h.fromComment(first, inner, strings.TrimSpace(next), strings.Contains(l, "(exim "))
		} else {
			if strings.HasPrefix(after, "[") { // fetchmail "from host [ip]"
				f, _, _ := strings.Cut(after, " ")
				h.ip = bracketAddr(f)
			}
			h.addHost(first)
		}
	}
	if by >= 0 || strings.HasPrefix(l, "by ") {
		rest := body[by+len(" by "):]
		if by < 0 {
			rest = body[len("by "):]
		}
		name, _, _ := strings.Cut(rest, " ")
		h.addHost(name)
	}
	return h
}

// fromComment reads the "from" part of a field whose first word is
// followed by a comment: inner is the comment's text, next what follows
// it, exim whether the field names Exim. The forms:
//
//	from HELO (rdns [ip])                  Postfix ("unknown" for none), Sendmail
//	from HELO ([ip])                       Sendmail, no reverse name
//	from HELO (rdns [ip] (may be forged))  Sendmail, name not verified
//	from rdns ([ip] helo=HELO)             Exim
//	from rdns ([ip])                       Exim, HELO the same as the name
//	from [ip] (helo=HELO)                  Exim, no reverse name
//	from rdns (HELO helo) (user@ip)        qmail ("unknown" for none)
//	from rdns (ip)                         qmail, HELO the same as the name
func (h *receivedHop) fromComment(first, inner, next string, exim bool) {
	if f := strings.Fields(inner); len(f) > 0 && (f[0] == "HELO" || len(f) == 1 && bareAddr(f[0]).IsValid()) {
		// qmail: the IP in a comment of its own, after the HELO one.
		if f[0] == "HELO" {
			if c, ok := strings.CutPrefix(next, "("); ok {
				c, _, _ = strings.Cut(c, ")")
				h.ip = bareAddr(c)
			}
		} else {
			h.ip = bareAddr(f[0])
		}
		h.noRDNS = h.ip.IsValid() && strings.EqualFold(first, "unknown")
		h.addHost(first)
		return
	}
	rdns := ""
	for _, f := range strings.Fields(inner) {
		switch {
		case strings.HasPrefix(f, "["):
			h.ip = bracketAddr(f)
		case strings.Contains(f, "="): // helo=, ident=, port=
			exim = exim || strings.HasPrefix(strings.ToLower(f), "helo=")
		case rdns == "":
			if _, host, ok := strings.Cut(f, "@"); ok { // Sendmail "user@host"
				f = host
			}
			rdns = f
		}
	}
	if exim && rdns == "" {
		// Exim's first word is the reverse name, or "[ip]" without one.
		if strings.HasPrefix(first, "[") {
			if !h.ip.IsValid() {
				h.ip = bracketAddr(first)
			}
		} else {
			rdns = first
		}
	}
	forged := strings.HasPrefix(next, "may be forged") || strings.Contains(inner, "(may be forged")
	h.noRDNS = h.ip.IsValid() && (rdns == "" || strings.EqualFold(rdns, "unknown") || forged)
	if !forged {
		h.addHost(rdns)
	}
}

// addHost keeps name if it is a host name (letters, digits, "-", "_",
// "."; IDNs appear in Received fields as punycode).
func (h *receivedHop) addHost(name string) {
	name = strings.TrimSuffix(strings.Trim(strings.ToLower(name), "().;,"), ".")
	if name == "" || name == "unknown" || len(name) > 253 {
		return
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return
		}
	}
	h.hosts = append(h.hosts, name)
}

// bracketAddr reads "[192.0.2.1]", "[IPv6:2001:db8::1]" or Exim's
// "[192.0.2.1]:4567" (a logged port).
func bracketAddr(f string) netip.Addr {
	if strings.HasPrefix(f, "[") {
		f, _, _ = strings.Cut(f[1:], "]")
	}
	f = strings.Trim(f, "[]().,;")
	if len(f) > 5 && strings.EqualFold(f[:5], "ipv6:") {
		f = f[5:]
	}
	a, _ := netip.ParseAddr(f)
	return a
}

// bareAddr reads qmail's "192.0.2.1" or "user@192.0.2.1".
func bareAddr(f string) netip.Addr {
	if i := strings.LastIndexByte(f, '@'); i >= 0 {
		f = f[i+1:]
	}
	a, _ := netip.ParseAddr(f)
	return a
}

// internalAddr: an address no public client has: loopback, private,
// link-local, or shared (RFC 6598 carrier-grade NAT, Tailscale).
func internalAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || sharedSpace.Contains(a)
}

var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// local reports whether the hop is a hand-off inside one machine: from a
// loopback address as the receiving relay saw it (not as the HELO claims),
// or a mailbox retrieval. Such hops can happen days after the message
// reached the mailbox.
func (h receivedHop) local() bool {
	return h.retrieve || h.internal || h.ip.IsLoopback()
}

// names reports whether one of the hop's host names is domain or below it.
func (h receivedHop) names(domains []string) bool {
	for _, host := range h.hosts {
		if hostIn(host, domains) {
			return true
		}
	}
	return false
}

// hostIn reports whether host is one of domains or a name below one.
func hostIn(host string, domains []string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, d := range domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// valueHops keeps a transaction's parsed Received fields: several evals
// read them (the date, freemail and reverse-name rules).
const valueHops = "rules.received_hops"

// receivedHops returns the message's Received fields, newest first,
// parsed once per transaction.
func receivedHops(tx *scoring.Transaction) []receivedHop {
	return tx.Memo(valueHops, func() any { return parseHops(tx) }).([]receivedHop)
}

func parseHops(tx *scoring.Transaction) []receivedHop {
	var hops []receivedHop
	for i, f := range tx.Message.Header.Fields {
		if i >= maxReceived {
			break
		}
		if strings.EqualFold(f.Name, "Received") {
			hops = append(hops, parseReceived(f.Value))
		}
	}
	return hops
}

// arrival is when the message reached us. A live front-end (milter,
// policy) judges it as it arrives: our clock, tx.Start. Offline
// (`mailwarden check`, the benchmark) it arrived earlier: the newest
// Received stamp (receivedAt); ok is false when it has none.
func arrival(tx *scoring.Transaction) (t time.Time, ok bool) {
	if tx.Front != scoring.FrontCheck {
		if tx.Start.IsZero() {
			return time.Now(), true
		}
		return tx.Start, true
	}
	t = receivedAt(receivedHops(tx))
	return t, !t.IsZero()
}

// handoff is the hop where the message reached our network, for mail
// judged after it arrived: the newest hop that is neither a hand-off
// inside our system nor from an internal address or one of ours (the
// engine's local networks, profiles.local_networks), as
// SpamAssassin's "last untrusted relay" with its trust inferred. ok is
// false when that hop names no address: nothing can be said of it.
// Live mail does not need it: the front-end knows the client.
func handoff(hops []receivedHop, ours []netip.Prefix) (h receivedHop, ok bool) {
	for _, h := range hops {
		if h.local() {
			continue
		}
		if !h.ip.IsValid() {
			return h, false
		}
		if internalAddr(h.ip) || inPrefixes(h.ip, ours) {
			continue
		}
		return h, true
	}
	return receivedHop{}, false
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// stamp is the hop's date; zero if it has none that parses. It is parsed
// only when asked: receivedAt needs one or two, the other rules none.
func (h receivedHop) stamp() time.Time {
	if h.date == "" {
		return time.Time{}
	}
	t, err := mail.ParseDate(h.date)
	if err != nil {
		return time.Time{}
	}
	return t
}

// receivedAt is the date stamp of the newest Received field that has one,
// for mail judged after it arrived; zero if no Received field has a stamp.
// Live mail is judged by our clock instead (see arrival): the milter does
// not see the Received field Postfix adds, as the Postfix tests show, so
// the newest one it sees is the sender's own. Local hand-offs are passed
// over as SpamAssassin does, unless there is nothing else.
func receivedAt(hops []receivedHop) time.Time {
	var local time.Time // the newest local hop's stamp, if no other has one
	for _, h := range hops {
		if !h.local() {
			if t := h.stamp(); !t.IsZero() {
				return t
			}
			continue
		}
		if local.IsZero() {
			local = h.stamp()
		}
	}
	return local
}

// freemailProviders: From domains of big free mail providers whose users
// cannot send with that address through other servers (the ones
// SpamAssassin's FORGED_*_RCVD rules name), and the domains their servers'
// names end in. A GMX or mailbox.org user sending through his own server
// is common and legitimate, so those are not here.
var freemailProviders = func() map[string][]string {
	yahoo := []string{"yahoo.com", "yahoo.net", "yahoodns.net"}
	aol := []string{"aol.com", "aol.net", "yahoo.com", "yahoo.net", "yahoodns.net"}
	microsoft := []string{"hotmail.com", "outlook.com", "msn.com", "live.com"}
	google := []string{"google.com", "gmail.com", "googlemail.com"}
	m := map[string][]string{
		"ymail.com": yahoo, "rocketmail.com": yahoo,
		"aol.com": aol, "aim.com": aol,
		"msn.com":   microsoft,
		"gmail.com": google, "googlemail.com": google,
	}
	for _, cc := range []string{"com", "co.uk", "fr", "de", "it", "es", "ca", "ie", "in", "co.in", "com.au", "com.br", "com.ar", "com.mx", "com.sg", "com.hk", "co.id", "com.ph", "com.vn"} {
		m["yahoo."+cc] = yahoo
	}
	for _, cc := range []string{"com", "co.uk", "fr", "de", "it", "es", "nl", "be", "ca", "com.au", "com.br", "co.jp"} {
		m["hotmail."+cc] = microsoft
		m["live."+cc] = microsoft
		m["outlook."+cc] = microsoft
	}
	return m
}()

// forgedFreemail reports whether From is an address of a provider in
// freemailProviders that none of the hops names as a server of that
// provider. A live client (the hop the milter sees no Received field for)
// counts by its verified reverse name. With no hop at all it says nothing.
func forgedFreemail(tx *scoring.Transaction, from string) bool {
	d := strings.TrimSuffix(strings.ToLower(scoring.DomainOf(from)), ".")
	relays := freemailProviders[d]
	if relays == nil {
		return false
	}
	hops := receivedHops(tx)
	live := tx.Front != scoring.FrontCheck && tx.Client.Addr.IsValid()
	if live && hostIn(tx.Client.Name, relays) {
		return false
	}
	if len(hops) == 0 && !live {
		return false
	}
	for _, h := range hops {
		if h.names(relays) {
			return false
		}
	}
	return true
}

// asciiLower lowercases A-Z only: unlike strings.ToLower it keeps every byte
// where it is (invalid UTF-8 is not widened to U+FFFD).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
