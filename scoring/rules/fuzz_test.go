package rules

import (
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary rule text to the parser: it must return rules or
// errors, never panic, and every loaded regexp rule must be runnable.
func FuzzLoad(f *testing.F) {
	seeds := []string{
		"body R /wire transfer/i\nscore R 2\n",
		"header R From:addr =~ /\\@example\\.com$/ [if-unset: x]\n",
		"meta M (A && !B) || (C + D) >= 2\n",
		"score X (1)\n",
		"body R m{a(?=b)}\n",
		"ifplugin X\nbody R /a/\nendif\n",
		"uri U /^https?:\\/\\/[^\\/]*bit\\.ly/\n",
		"body R /a{2,3}(?:x|yz)+\\Z/x\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := LoadString("fuzz.cf", text)
		if err != nil {
			if _, ok := err.(LoadErrors); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		for _, r := range s.Rules {
			if r.Re != nil {
				r.Re.MatchString("some text wire transfer")
			}
			if r.Kind == KindMeta {
				r.meta.eval(func(string) float64 { return 1 })
			}
		}
	})
}

// FuzzParseReceived feeds arbitrary Received field values to the parser: it
// must never panic; an address it reports is written in the field (IPv4
// text is canonical, so checked as such); "no reverse name" comes only
// with an address; authentication only from a "with" clause or a comment
// saying so. Host names never carry an address, an option or brackets
// (addHost filters them; the check keeps it so).
func FuzzParseReceived(f *testing.F) {
	for _, s := range []string{
		"from yahoo.com (dsl-4.isp.example [198.51.100.4]) by mx.example.org (Postfix) with ESMTP id 3F2; Mon, 5 Aug 2002 11:51:40 -0400 (EDT)",
		"from consort.superb.net ([209.61.216.22] helo=yahoo.com) by usw-sf-list1.sourceforge.net with esmtp; Fri, 19 Jul 2002 10:19:06 -0700",
		"from [198.51.100.9] (helo=gmail.com) by mx.example with esmtp (Exim 4.96); Tue, 01 Dec 2026 10:00:00 +0000",
		"from phobos [127.0.0.1] by localhost with IMAP (fetchmail-5.9.0) for jm@localhost (single-drop); Wed, 28 Aug 2002 15:50:09 +0100 (IST)",
		"by mail-lf1-f45.google.com with SMTP id x; Tue, 01 Dec 2026 10:00:00 +0000",
		"from localhost (localhost [IPv6:::1]) by mx.example (Postfix);",
		"from (", "by", ";;;", "from x (a@b@c [[[1.2.3.4]]] helo=) by ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h := parseReceived(v)
		for _, name := range h.hosts {
			if name == "" || strings.ContainsAny(name, "@=<>[]()") {
				t.Fatalf("host %q from %q", name, v)
			}
		}
		_ = h.local()
		if h.ip.Is4() && !strings.Contains(v, h.ip.String()) {
			t.Fatalf("address %v not in %q", h.ip, v)
		}
		if h.noRDNS && !h.ip.IsValid() {
			t.Fatalf("no reverse name without an address in %q", v)
		}
		if l := strings.ToLower(v); h.auth && !strings.Contains(l, " with ") && !strings.Contains(l, "(authenticated") {
			t.Fatalf("authenticated, from %q", v)
		}
	})
}
