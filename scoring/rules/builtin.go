package rules

import (
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/mailwarden/mailwarden/internal/mime"
	"github.com/mailwarden/mailwarden/scoring"
)

// evalFunc is a built-in test a rule can name as "eval:NAME()": the few
// structural tests a regexp cannot express. p is nil when content was
// skipped for size; tests that need it then do not hit.
type evalFunc func(tx *scoring.Transaction, p *mime.Parsed) bool

// MaxFutureDate: a Date more than this far ahead of our clock is "in the
// future" (clock skew of a few hours is common; SA's DATE_IN_FUTURE_12_24
// starts at 12 h).
const MaxFutureDate = 12 * time.Hour

// MaxPastDate: a Date more than this far behind the time the message
// reached us is "in the past" (SpamAssassin's DATE_IN_PAST_96_XX): mail
// that sat in a spammer's queue, or a Date made up. Lists, digests and
// retries delay real mail by hours, rarely by four days.
const MaxPastDate = 96 * time.Hour

// MinHTMLText: an HTML part with images and less rendered text than this
// is image spam's shape (SpamAssassin's HTML_IMAGE_ONLY_* stop at 2000
// bytes; we stay lower to spare short legitimate newsletters).
const MinHTMLText = 300

// builtins are the eval: tests. Names are ours; SpamAssassin's eval names
// (check_for_...) are not accepted because their exact semantics differ.
var builtins = map[string]evalFunc{
	// html_only: the message has HTML text and no text/plain alternative.
	"html_only": func(_ *scoring.Transaction, p *mime.Parsed) bool { return p != nil && p.HTMLOnly() },
	// link_text_mismatch: an <a> whose visible text is a URL or domain on
	// another registrable domain than its target.
	"link_text_mismatch": func(_ *scoring.Transaction, p *mime.Parsed) bool {
		if p == nil {
			return false
		}
		for _, l := range p.Links {
			if l.Source != "href" || l.Host == "" || l.Text == "" {
				continue
			}
			th := textHost(l.Text)
			if th != "" && orgDomain(th) != orgDomain(l.Host) {
				return true
			}
		}
		return false
	},
	// ip_literal_uri: a link whose host is an IP address (any notation).
	"ip_literal_uri": func(_ *scoring.Transaction, p *mime.Parsed) bool {
		if p == nil {
			return false
		}
		for _, l := range p.Links {
			if l.IsIP && l.Scheme != "mailto" {
				return true
			}
		}
		return false
	},
	// client_no_rdns: the SMTP client has no verified reverse name
	// (SpamAssassin's RDNS_NONE, rspamd's HFILTER_HOSTNAME_UNKNOWN), for a
	// public address and an unauthenticated client. Live, from the client
	// the front-end reports: Postfix says "unknown", Sendmail gives
	// "[address]". Offline (mailwarden check), from the Received field
	// written where the message reached our network (handoff).
	"client_no_rdns": func(tx *scoring.Transaction, _ *mime.Parsed) bool {
		c := tx.Client
		if c.AuthUser != "" { // live, or `mailwarden check --auth`
			return false
		}
		if tx.Front == scoring.FrontCheck {
			h, ok := handoff(receivedHops(tx), tx.LocalNetworks)
			return ok && h.noRDNS && !h.auth
		}
		if !c.Addr.IsValid() || internalAddr(c.Addr) || tx.Profile == scoring.ProfileLocal {
			return false
		}
		n := strings.TrimSpace(c.Name)
		return n == "" || strings.EqualFold(n, "unknown") || strings.HasPrefix(n, "[")
	},
	// reply_to_other_domain: Reply-To points to another organizational
	// domain than From (the business-email-compromise diversion).
	"reply_to_other_domain": func(tx *scoring.Transaction, _ *mime.Parsed) bool {
		h := &tx.Message.Header
		rt, from := h.Get("Reply-To"), h.Get("From")
		if rt == "" || from == "" {
			return false
		}
		ra, _ := splitAddress(mime.DecodeHeader(rt))
		fa, _ := splitAddress(mime.DecodeHeader(from))
		rd, fd := scoring.DomainOf(ra), scoring.DomainOf(fa)
		return rd != "" && fd != "" && orgDomain(rd) != orgDomain(fd)
	},
	// from_name_other_addr: the From display name contains an address on
	// another domain than the real one ("service@paypal.com" <x@evil>).
	"from_name_other_addr": func(tx *scoring.Transaction, _ *mime.Parsed) bool {
		addr, name := splitAddress(mime.DecodeHeader(tx.Message.Header.Get("From")))
		if !strings.Contains(name, "@") {
			return false
		}
		na, _ := splitAddress(name)
		nd, ad := scoring.DomainOf(na), scoring.DomainOf(addr)
		return nd != "" && ad != "" && orgDomain(nd) != orgDomain(ad)
	},
	// date_invalid: a Date header RFC 5322 3.3 cannot parse, or one with
	// words after the zone (net/mail's parser stops reading at the zone;
	// RFC 5322 allows only comments there), as SpamAssassin's INVALID_DATE.
	"date_invalid": func(tx *scoring.Transaction, _ *mime.Parsed) bool {
		d := tx.Message.Header.Get("Date")
		if d == "" {
			return false
		}
		_, err := headerDate(tx)
		return err != nil || dateTrailer(d)
	},
	// date_in_future: Date more than MaxFutureDate ahead of the time the
	// message reached us (arrival).
	"date_in_future": func(tx *scoring.Transaction, _ *mime.Parsed) bool {
		t, err := headerDate(tx)
		if err != nil {
			return false
		}
		at, ok := arrival(tx)
		if !ok { // read from a file with no Received stamp: our clock
			at = tx.Start
			if at.IsZero() {
				at = time.Now()
			}
		}
		return t.Sub(at) > MaxFutureDate
	},
	// forged_freemail_rcvd: From is an address of a big free mail provider
	// but no Received field (nor, live, the connecting client's verified
	// name) shows one of that provider's servers: the message did not come
	// from there (SpamAssassin's FORGED_YAHOO_RCVD, FORGED_HOTMAIL_RCVD2,
	// FORGED_GMAIL_RCVD). See forgedFreemail (received.go).
	"forged_freemail_rcvd": func(tx *scoring.Transaction, _ *mime.Parsed) bool {
		addr, _ := splitAddress(mime.DecodeHeader(tx.Message.Header.Get("From")))
		return forgedFreemail(tx, addr)
	},
	// date_in_past: Date more than MaxPastDate before the time the message
	// reached us (arrival). A message read from a file with no Received
	// stamp is not judged: our clock says nothing about it.
	"date_in_past": func(tx *scoring.Transaction, _ *mime.Parsed) bool {
		t, err := headerDate(tx)
		at, ok := arrival(tx)
		if err != nil || !ok {
			return false
		}
		return at.Sub(t) > MaxPastDate
	},
	// html_image_only: HTML with images and almost no text (< 300
	// characters), the image-spam shape.
	"html_image_only": func(_ *scoring.Transaction, p *mime.Parsed) bool {
		if p == nil {
			return false
		}
		for _, pt := range p.Parts {
			if pt.IsText && pt.HTML != nil && pt.HTML.Images > 0 && pt.HTML.TextChars < MinHTMLText {
				return true
			}
		}
		return false
	},
	// html_link_heavy: HTML with many links and little text per link.
	"html_link_heavy": func(_ *scoring.Transaction, p *mime.Parsed) bool {
		if p == nil {
			return false
		}
		for _, pt := range p.Parts {
			if pt.IsText && pt.HTML != nil && pt.HTML.Links >= 5 && pt.HTML.TextChars < 40*pt.HTML.Links {
				return true
			}
		}
		return false
	},
	// html_script_or_form: HTML mail with <script> or a <form> (mail
	// clients run neither; phishing pages embedded in mail use forms).
	"html_script_or_form": func(_ *scoring.Transaction, p *mime.Parsed) bool {
		if p == nil {
			return false
		}
		for _, pt := range p.Parts {
			if pt.IsText && pt.HTML != nil && (pt.HTML.Scripts > 0 || pt.HTML.Forms > 0) {
				return true
			}
		}
		return false
	},
	// ascii_text_illegal: a text/plain part that declares US-ASCII, or no
	// charset (which means US-ASCII, RFC 2046 4.1.2), holds 8-bit bytes or
	// NUL: mail programs label what they send; spam tools often do not
	// (SpamAssassin's PP_MIME_FAKE_ASCII_TEXT).
	"ascii_text_illegal": func(_ *scoring.Transaction, p *mime.Parsed) bool {
		if p == nil {
			return false
		}
		for _, pt := range p.Parts {
			if pt.Type != "text/plain" || !pt.IsText {
				continue
			}
			switch pt.Charset {
			case "", "us-ascii", "ascii", "ansi_x3.4-1968":
			default:
				continue
			}
			for _, c := range pt.Data {
				if c >= 0x80 || c == 0 {
					return true
				}
			}
		}
		return false
	},
	// mime_errors: the MIME structure was broken (bad boundary, bad
	// base64, nesting or part limits).
	"mime_errors": func(_ *scoring.Transaction, p *mime.Parsed) bool {
		return p != nil && len(p.Errors) > 0
	},
	// header_truncated: more header than we keep, or a line that is no header.
	"header_malformed": func(tx *scoring.Transaction, _ *mime.Parsed) bool {
		return tx.Message.HeaderTruncated || tx.Message.MalformedHeader
	},
}

// parsedDate is the Date header as net/mail reads it, parsed once per
// transaction for the three rules that judge it.
type parsedDate struct {
	t   time.Time
	err error
}

func headerDate(tx *scoring.Transaction) (time.Time, error) {
	d := tx.Memo("rules.date", func() any {
		t, err := mail.ParseDate(tx.Message.Header.Get("Date"))
		return parsedDate{t, err}
	}).(parsedDate)
	return d.t, d.err
}

// dateTrailer reports whether a Date net/mail parsed has more than the
// RFC 5322 3.3 date-time: [day-of-week ","] day month year time zone,
// comments aside.
func dateTrailer(d string) bool {
	f := strings.Fields(strings.ReplaceAll(mime.StripComments(d), ",", ", "))
	if len(f) > 0 && strings.HasSuffix(f[0], ",") {
		f = f[1:]
	}
	return len(f) > 5
}

// builtinNames lists the eval: tests for error messages.
func builtinNames() string {
	var n []string
	for k := range builtins {
		n = append(n, k+"()")
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

func parseEval(def string) (evalFunc, error) {
	name := strings.TrimSpace(strings.TrimPrefix(def, "eval:"))
	if !strings.HasSuffix(name, "()") {
		return nil, fmt.Errorf("eval: built-in tests take no arguments: write eval:NAME()")
	}
	f, ok := builtins[strings.TrimSuffix(name, "()")]
	if !ok {
		return nil, fmt.Errorf("eval:%s is not a built-in test (SpamAssassin plugin evals are not supported); built-ins: %s", name, builtinNames())
	}
	return f, nil
}

// textHost returns the host a link text shows, when the text looks like a
// URL or a bare domain; "" otherwise ("click here").
func textHost(text string) string {
	t := strings.TrimSpace(text)
	if strings.ContainsAny(t, " \t") {
		return ""
	}
	low := strings.ToLower(t)
	if !strings.Contains(low, "://") {
		if !strings.Contains(low, ".") || strings.Contains(low, "@") {
			return ""
		}
		t = "http://" + t
	}
	h, _ := hostOfURL(t)
	if !strings.Contains(h, ".") {
		return ""
	}
	// A bare word with a dot is a domain only if it ends in a known suffix.
	if _, icann := publicsuffix.PublicSuffix(h); !icann && !strings.Contains(low, "://") {
		return ""
	}
	return h
}

func hostOfURL(u string) (string, bool) {
	rest := u[strings.Index(u, "://")+3:]
	if j := strings.IndexAny(rest, "/?#\\"); j >= 0 {
		rest = rest[:j]
	}
	if j := strings.LastIndexByte(rest, '@'); j >= 0 {
		rest = rest[j+1:]
	}
	if j := strings.LastIndexByte(rest, ':'); j >= 0 && !strings.Contains(rest, "]") {
		rest = rest[:j]
	}
	return strings.TrimSuffix(strings.ToLower(rest), "."), true
}

// orgDomain is the registrable domain (public suffix + 1), or the host
// itself when it has none (IP literals, single labels).
func orgDomain(h string) string {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if d, err := publicsuffix.EffectiveTLDPlusOne(h); err == nil {
		return d
	}
	return h
}
