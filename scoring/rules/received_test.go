package rules

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/mime"
	"github.com/mailwarden/mailwarden/scoring"
)

func TestParseReceived(t *testing.T) {
	tests := []struct {
		name  string
		v     string
		hosts []string
		ip    string
		stamp string // RFC 3339, "" for none
		local bool
	}{
		{"postfix: HELO is not a host name; reverse name and relay are",
			"from yahoo.com (dsl-4.isp.example [198.51.100.4])\r\n\tby mx.example.org (Postfix) with ESMTP id 3F2; Mon, 5 Aug 2002 11:51:40 -0400 (EDT)",
			[]string{"dsl-4.isp.example", "mx.example.org"}, "198.51.100.4", "2002-08-05T11:51:40-04:00", false},
		{"postfix, no reverse name",
			"from yahoo.com (unknown [198.51.100.4]) by mx.example.org (Postfix); Mon, 5 Aug 2002 11:51:40 -0400",
			[]string{"mx.example.org"}, "198.51.100.4", "2002-08-05T11:51:40-04:00", false},
		{"sendmail user@host",
			"from web40020.mail.yahoo.com (nobody@web40020.mail.yahoo.com [66.218.78.60]) by relay.example (8.11.6/8.11.6) with SMTP id g75; Mon, 5 Aug 2002 11:51:40 -0400",
			[]string{"web40020.mail.yahoo.com", "relay.example"}, "66.218.78.60", "2002-08-05T11:51:40-04:00", false},
		{"exim: first word is the reverse name, helo= is not",
			"from consort.superb.net ([209.61.216.22] helo=yahoo.com) by usw-sf-list1.sourceforge.net with esmtp (Exim 3.31) id 17Vb; Fri, 19 Jul 2002 10:19:06 -0700",
			[]string{"consort.superb.net", "usw-sf-list1.sourceforge.net"}, "209.61.216.22", "2002-07-19T10:19:06-07:00", false},
		{"exim without a reverse name",
			"from [198.51.100.9] (helo=gmail.com) by mx.example with esmtp (Exim 4.96); Tue, 01 Dec 2026 10:00:00 +0000",
			[]string{"mx.example"}, "198.51.100.9", "2026-12-01T10:00:00Z", false},
		{"a sender's first hop",
			"by mail-lf1-f45.google.com with SMTP id x; Tue, 01 Dec 2026 10:00:00 +0000",
			[]string{"mail-lf1-f45.google.com"}, "", "2026-12-01T10:00:00Z", false},
		{"loopback as the relay saw it",
			"from localhost (localhost [127.0.0.1]) by phobos.labs.example (Postfix) with ESMTP id 6C6; Wed, 28 Aug 2002 10:50:09 -0400",
			[]string{"localhost", "phobos.labs.example"}, "127.0.0.1", "2002-08-28T10:50:09-04:00", true},
		{"a HELO of localhost from a remote address is not local",
			"from localhost (dsl.isp.example [198.51.100.4]) by mx.example (Postfix); Mon, 12 Aug 2002 10:00:00 +0000",
			[]string{"dsl.isp.example", "mx.example"}, "198.51.100.4", "2002-08-12T10:00:00Z", false},
		{"postfix IPv6 loopback",
			"from localhost (localhost [IPv6:::1]) by mx.example (Postfix); Mon, 12 Aug 2002 10:00:00 +0000",
			[]string{"localhost", "mx.example"}, "::1", "2002-08-12T10:00:00Z", true},
		{"fetchmail retrieval",
			"from phobos [127.0.0.1] by localhost with IMAP (fetchmail-5.9.0) for jm@localhost (single-drop); Wed, 28 Aug 2002 15:50:09 +0100 (IST)",
			[]string{"phobos", "localhost"}, "127.0.0.1", "2002-08-28T15:50:09+01:00", true},
		{"no date", "from a.example (a.example [192.0.2.1]) by b.example", []string{"a.example", "b.example"}, "192.0.2.1", "", false},
		{"garbage", "((((;;;", nil, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := parseReceived(tt.v)
			if !slices.Equal(h.hosts, tt.hosts) {
				t.Errorf("hosts = %q, want %q", h.hosts, tt.hosts)
			}
			var ip netip.Addr
			if tt.ip != "" {
				ip = netip.MustParseAddr(tt.ip)
			}
			if h.ip != ip {
				t.Errorf("ip = %v, want %v", h.ip, ip)
			}
			switch {
			case tt.stamp == "" && !h.stamp().IsZero():
				t.Errorf("stamp = %v, want none", h.stamp())
			case tt.stamp != "":
				want, _ := time.Parse(time.RFC3339, tt.stamp)
				if !h.stamp().Equal(want) {
					t.Errorf("stamp = %v, want %v", h.stamp(), want)
				}
			}
			if h.local() != tt.local {
				t.Errorf("local = %v, want %v", h.local(), tt.local)
			}
		})
	}
}

// TestReceivedAt: the newest non-local stamp, not the oldest nor a local
// re-delivery; a local one only when there is nothing else.
func TestReceivedAt(t *testing.T) {
	msg := "Received: from localhost (localhost [127.0.0.1]) by phobos.example; Mon, 26 Aug 2002 16:47:35 -0400\n" +
		"Received: from phobos [127.0.0.1] by localhost with IMAP (fetchmail-5.9.0); Mon, 26 Aug 2002 21:47:35 +0100\n" +
		"Received: from xent.com ([64.161.22.236]) by dogma.example (8.11.6); Tue, 20 Aug 2002 23:01:50 +0100\n" +
		"Received: from lair.xent.com (lair.xent.com [10.0.0.1]) by xent.com (Postfix); Tue, 20 Aug 2002 15:01:40 -0700\n" +
		"From: a@b.example\n\nx\n"
	got := receivedAt(receivedHops(newTx(t, msg)))
	if want := time.Date(2002, 8, 20, 22, 1, 50, 0, time.UTC); !got.Equal(want) {
		t.Errorf("receivedAt = %v, want %v (dogma's stamp)", got, want)
	}
	only := "Received: from localhost (localhost [127.0.0.1]) by phobos.example; Mon, 26 Aug 2002 16:47:35 -0400\nFrom: a@b.example\n\nx\n"
	if got := receivedAt(receivedHops(newTx(t, only))); got.IsZero() {
		t.Errorf("only a local hop: want its stamp, got none")
	}
}

func TestForgedFreemail(t *testing.T) {
	const rcvd = "Received: from dsl-4.isp.example (dsl-4.isp.example [198.51.100.4]) by mx.example; Mon, 5 Aug 2002 11:51:40 -0400\n"
	tests := []struct {
		name   string
		msg    string
		front  string
		client scoring.Client
		want   bool
	}{
		{"yahoo, no yahoo server", rcvd + "From: <a@yahoo.co.uk>\n\nx\n", scoring.FrontCheck, scoring.Client{}, true},
		{"yahoo relayed by yahoo", "Received: from web4.mail.yahoo.com (web4.mail.yahoo.com [66.218.78.60]) by mx.example; Mon, 5 Aug 2002 11:51:40 -0400\nFrom: <a@yahoo.com>\n\nx\n", scoring.FrontCheck, scoring.Client{}, false},
		{"aol inside another name is no AOL server", "Received: from dialup.paola.example (dialup.paola.example [198.51.100.4]) by mx.example; Mon, 5 Aug 2002 11:51:40 -0400\nFrom: <a@aol.com>\n\nx\n", scoring.FrontCheck, scoring.Client{}, true},
		{"a recipient address is no server", "Received: from dsl.isp.example (dsl.isp.example [198.51.100.4]) by mx.example for <bob@olive.com>; Mon, 5 Aug 2002 11:51:40 -0400\nFrom: <a@live.com>\n\nx\n", scoring.FrontCheck, scoring.Client{}, true},
		{"an Exim helo= the sender chose is no server", "Received: from dsl.isp.example ([198.51.100.4] helo=yahoo.com) by mx.example with esmtp; Mon, 5 Aug 2002 11:51:40 -0400\nFrom: <a@yahoo.com>\n\nx\n", scoring.FrontCheck, scoring.Client{}, true},
		{"a Postfix HELO the sender chose is no server", "Received: from smtp.gmail.com (dsl.isp.example [198.51.100.4]) by mx.example; Mon, 5 Aug 2002 11:51:40 -0400\nFrom: <a@gmail.com>\n\nx\n", scoring.FrontCheck, scoring.Client{}, true},
		{"not a provider: aim.ac.uk", rcvd + "From: <a@aim.ac.uk>\n\nx\n", scoring.FrontCheck, scoring.Client{}, false},
		{"not a provider: gmail.de", rcvd + "From: <a@gmail.de>\n\nx\n", scoring.FrontCheck, scoring.Client{}, false},
		{"not a provider: gmx.net", rcvd + "From: <a@gmx.net>\n\nx\n", scoring.FrontCheck, scoring.Client{}, false},
		{"offline, no Received: not judged", "From: <a@gmail.com>\n\nx\n", scoring.FrontCheck, scoring.Client{}, false},
		{"live bot with no Received", "From: <a@gmail.com>\n\nx\n", scoring.FrontMilter,
			scoring.Client{Addr: netip.MustParseAddr("198.51.100.7"), Name: "unknown"}, true},
		{"live: the client's verified name is Google's", "Received: by 2002:a05:6a10:1234 with SMTP id x; Tue, 01 Dec 2026 10:00:00 +0000\nFrom: <a@gmail.com>\n\nx\n", scoring.FrontMilter,
			scoring.Client{Addr: netip.MustParseAddr("209.85.167.45"), Name: "mail-lf1-f45.google.com"}, false},
		{"live: a name that only contains google is not Google's", "From: <a@gmail.com>\n\nx\n", scoring.FrontMilter,
			scoring.Client{Addr: netip.MustParseAddr("198.51.100.7"), Name: "google-fan.evil.example"}, true},
		{"live: gmail's own first hop", "Received: by mail-lf1-f45.google.com with SMTP id x; Tue, 01 Dec 2026 10:00:00 +0000\nFrom: <a@gmail.com>\n\nx\n", scoring.FrontMilter,
			scoring.Client{Addr: netip.MustParseAddr("209.85.167.45"), Name: "unknown"}, false},
	}
	eval := builtins["forged_freemail_rcvd"]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := newTx(t, tt.msg)
			tx.Front, tx.Client = tt.front, tt.client
			if got := eval(tx, nil); got != tt.want {
				t.Errorf("forged_freemail_rcvd = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClientNoRDNS(t *testing.T) {
	pub := netip.MustParseAddr("198.51.100.7")
	tests := []struct {
		name   string
		front  string
		client scoring.Client
		want   bool
	}{
		{"postfix unknown", scoring.FrontMilter, scoring.Client{Addr: pub, Name: "unknown"}, true},
		{"sendmail [address]", scoring.FrontMilter, scoring.Client{Addr: pub, Name: "[198.51.100.7]"}, true},
		{"verified name", scoring.FrontMilter, scoring.Client{Addr: pub, Name: "mail.example.org"}, false},
		{"authenticated", scoring.FrontMilter, scoring.Client{Addr: pub, Name: "unknown", AuthUser: "alice"}, false},
		{"private network", scoring.FrontMilter, scoring.Client{Addr: netip.MustParseAddr("10.1.2.3"), Name: "unknown"}, false},
		{"carrier-grade NAT", scoring.FrontMilter, scoring.Client{Addr: netip.MustParseAddr("100.64.3.4"), Name: "unknown"}, false},
		{"loopback", scoring.FrontMilter, scoring.Client{Addr: netip.MustParseAddr("127.0.0.1"), Name: "unknown"}, false},
		{"offline, no Received field: not judged", scoring.FrontCheck, scoring.Client{Addr: pub, Name: "unknown"}, false},
		{"no client", scoring.FrontMilter, scoring.Client{}, false},
	}
	eval := builtins["client_no_rdns"]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := newTx(t, "From: a@b.example\n\nx\n")
			tx.Front, tx.Client = tt.front, tt.client
			if got := eval(tx, nil); got != tt.want {
				t.Errorf("client_no_rdns = %v, want %v", got, tt.want)
			}
		})
	}
	// A public client in our local networks (profiles.local_networks):
	// the engine's classifier made it the local profile.
	for _, p := range []struct {
		profile scoring.Profile
		want    bool
	}{{scoring.ProfileLocal, false}, {scoring.ProfileRemote, true}} {
		tx := newTx(t, "From: a@b.example\n\nx\n")
		tx.Front, tx.Client, tx.Profile = scoring.FrontMilter, scoring.Client{Addr: pub, Name: "unknown"}, p.profile
		if got := eval(tx, nil); got != p.want {
			t.Errorf("profile %v: client_no_rdns = %v, want %v", p.profile, got, p.want)
		}
	}
}

// TestClientNoRDNSOffline: mail judged after it arrived is judged by the
// Received field written where it reached our network (handoff): local
// hand-offs and private relays passed over, each MTA's way of writing "no
// reverse name" read, authenticated senders spared.
func TestClientNoRDNSOffline(t *testing.T) {
	const (
		local   = "Received: from localhost (localhost [127.0.0.1]) by mx.example (Postfix); Mon, 5 Aug 2002 11:51:42 -0400\n"
		fetch   = "Received: from mx.example [192.0.2.25] by localhost with IMAP (fetchmail-5.9.0); Mon, 5 Aug 2002 16:51:43 +0100\n"
		private = "Received: from gw.example (gw.example [10.1.2.3]) by mx.example (Postfix); Mon, 5 Aug 2002 11:51:41 -0400\n"
		named   = "Received: from helo.example (mail.sender.example [198.51.100.4]) by mx.example (Postfix); Mon, 5 Aug 2002 11:51:40 -0400\n"
		unnamed = "Received: from helo.example (unknown [198.51.100.4]) by mx.example (Postfix); Mon, 5 Aug 2002 11:51:40 -0400\n"
	)
	const (
		eximNamed  = "Received: from mail-wm1-f41.google.com ([209.85.128.41]) by mx.example with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <a@gmail.com>) id 1r; Tue, 01 Dec 2026 10:00:00 +0000\n"
		qmailNet   = "Received: (qmail 4711 invoked from network); 5 Aug 2002 15:51:40 -0000\n"
		lmtp       = "Received: from mx.example by mx.example with LMTP id kA0; Mon, 5 Aug 2002 11:51:43 -0400\n"
		postfixTLS = "Received: from laptop (unknown [198.51.100.9]) (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519) "
	)
	tests := []struct {
		name string
		rcvd string
		ours []netip.Prefix // the engine's local networks
		auth string         // mailwarden check --auth
		want bool
	}{
		{"postfix unknown", unnamed, nil, "", true},
		{"exim without helo=: HELO and name the same", eximNamed, nil, "", false},
		{"exim with a logged port, no name", "Received: from [198.51.100.9]:4567 (helo=helo.example) by mx.example with esmtp (Exim 4.96); Tue, 01 Dec 2026 10:00:00 +0000\n", nil, "", true},
		{"exim with a logged port, a name", "Received: from mail.sender.example ([198.51.100.9]:4567 helo=helo.example) by mx.example with esmtp (Exim 4.96); Tue, 01 Dec 2026 10:00:00 +0000\n", nil, "", false},
		{"postfix TLS comment, authenticated", postfixTLS + "(Authenticated sender: alice) by mx.example (Postfix) with ESMTPSA id 4Ab; Tue, 01 Dec 2026 10:00:00 +0000\n", nil, "", false},
		{"postfix TLS comment, not authenticated", postfixTLS + "by mx.example (Postfix) with ESMTPS id 4Ab; Tue, 01 Dec 2026 10:00:00 +0000\n", nil, "", true},
		{"dovecot LMTP hand-off passed over", lmtp + unnamed, nil, "", true},
		{"qmail, no name", qmailNet + "Received: from unknown (HELO helo.example) (198.51.100.4) by mx.example with SMTP; 5 Aug 2002 15:51:40 -0000\n", nil, "", true},
		{"qmail, a name", qmailNet + "Received: from mail.sender.example (HELO helo.example) (198.51.100.4) by mx.example with SMTP; 5 Aug 2002 15:51:40 -0000\n", nil, "", false},
		{"qmail, a name and no HELO", qmailNet + "Received: from mail.sender.example (198.51.100.4) by mx.example with SMTP; 5 Aug 2002 15:51:40 -0000\n", nil, "", false},
		{"sendmail, name not verified", "Received: from helo.example (mail.sender.example [198.51.100.4] (may be forged)) by mx.example (8.14.7/8.14.7) with ESMTP id x; Mon, 5 Aug 2002 11:51:40 -0400\n", nil, "", true},
		{"a carrier-grade NAT relay passed over", "Received: from gw.example (gw.example [100.64.1.2]) by mx.example (Postfix); Mon, 5 Aug 2002 11:51:41 -0400\n" + unnamed, nil, "", true},
		{"a public relay in our local networks passed over", "Received: from relay (unknown [203.0.113.5]) by mx.example (Postfix); Mon, 5 Aug 2002 11:51:41 -0400\n" + named,
			[]netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}, "", false},
		{"the same relay when it is not ours", "Received: from relay (unknown [203.0.113.5]) by mx.example (Postfix); Mon, 5 Aug 2002 11:51:41 -0400\n" + named, nil, "", true},
		{"mailwarden check --auth", unnamed, nil, "alice", false},
		{"sendmail (authenticated)", "Received: from laptop (unknown [198.51.100.4]) (authenticated bits=0) by mx.example (8.14.7/8.14.7) with ESMTP id x; Mon, 5 Aug 2002 11:51:40 -0400\n", nil, "", false},
		{"a HELO cannot claim authentication", "Received: from (authenticated (unknown [198.51.100.4]) by mx.example (Postfix) with ESMTP id x; Mon, 5 Aug 2002 11:51:40 -0400\n", nil, "", true},
		{"postfix with a name", named, nil, "", false},
		{"sendmail ([ip])", "Received: from helo.example ([198.51.100.4]) by mx.example (8.11.6/8.11.6) with ESMTP id g4G; Thu, 16 May 2002 12:18:46 +0100\n", nil, "", true},
		{"sendmail (name [ip])", "Received: from helo.example (mail.sender.example [198.51.100.4]) by mx.example (8.11.6/8.11.6) with ESMTP id g4G; Thu, 16 May 2002 12:18:46 +0100\n", nil, "", false},
		{"exim [ip] (helo=)", "Received: from [198.51.100.9] (helo=helo.example) by mx.example with esmtp (Exim 4.96); Tue, 01 Dec 2026 10:00:00 +0000\n", nil, "", true},
		{"exim name ([ip] helo=)", "Received: from mail.sender.example ([198.51.100.9] helo=helo.example) by mx.example with esmtp (Exim 4.96); Tue, 01 Dec 2026 10:00:00 +0000\n", nil, "", false},
		{"local hand-offs and retrieval passed over", local + fetch + unnamed, nil, "", true},
		{"a private relay of ours passed over", private + unnamed, nil, "", true},
		{"only the hand-off counts, not the hops before it", named + unnamed, nil, "", false},
		{"authenticated submission", "Received: from helo.example (unknown [198.51.100.4]) by mx.example (Postfix) with ESMTPSA id 3F2; Mon, 5 Aug 2002 11:51:40 -0400\n", nil, "", false},
		{"hand-off names no address", "Received: by mx.example with SMTP id x; Mon, 5 Aug 2002 11:51:40 -0400\n" + unnamed, nil, "", false},
		{"only local hops", local, nil, "", false},
	}
	eval := builtins["client_no_rdns"]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := newTx(t, tt.rcvd+"From: a@b.example\n\nx\n")
			tx.Front, tx.LocalNetworks, tx.Client.AuthUser = scoring.FrontCheck, tt.ours, tt.auth
			if got := eval(tx, nil); got != tt.want {
				t.Errorf("client_no_rdns = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDateInvalid: what net/mail cannot parse, and what it parses only by
// stopping at the zone; comments and the obsolete zone names are fine.
func TestDateInvalid(t *testing.T) {
	tests := []struct {
		date string
		want bool
	}{
		{"Thu, 16 May 2002 12:14:56 +0100", false},
		{"Thu, 16 May 2002 12:14:56 +0100 (BST)", false},
		{"16 May 2002 12:14:56 -0000", false},
		{"Fri, 19 Jul 2002 09:42:07 -0400 (EDT (nested))", false},
		{`Mon, 2 Jan 2006 15:04:05 -0700 (foo \) bar)`, false},
		{"Mon, 2 Jan 2006 15:04 -0700", false},
		{"Fri, 19 Jul 2002 09:42:07 -0400\r\n    AWL version=2.40", true},
		{"Thu, 16 May 2002 12:14:56 +0100 BST", true},
		{"yesterday", true},
		{"Thu, 16 May 2002", true},
	}
	eval := builtins["date_invalid"]
	for _, tt := range tests {
		tx := newTx(t, "Date: "+tt.date+"\nFrom: a@b.example\n\nx\n")
		if got := eval(tx, nil); got != tt.want {
			t.Errorf("date_invalid(%q) = %v, want %v", tt.date, got, tt.want)
		}
	}
}

// TestASCIITextIllegal: 8-bit bytes in a text/plain part that declares
// US-ASCII or no charset; a declared 8-bit charset or an HTML part is fine.
func TestASCIITextIllegal(t *testing.T) {
	tests := []struct {
		name, ctype, body string
		want              bool
	}{
		{"no charset, 8-bit", "text/plain", "Save \xa35.00 today", true},
		{"us-ascii, 8-bit", "text/plain; charset=us-ascii", "Save \xa35.00 today", true},
		{"us-ascii, NUL", "text/plain; charset=US-ASCII", "a\x00b", true},
		{"no charset, 7-bit", "text/plain", "Save 5.00 today", false},
		{"latin-1 declared", "text/plain; charset=iso-8859-1", "Save \xa35.00 today", false},
		{"utf-8 declared", "text/plain; charset=utf-8", "Save \xc2\xa35.00 today", false},
		{"html is not judged", "text/html", "<p>Save \xa35.00</p>", false},
	}
	eval := builtins["ascii_text_illegal"]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := newTx(t, "From: a@b.example\nMIME-Version: 1.0\nContent-Type: "+tt.ctype+"\n\n"+tt.body+"\n")
			if got := eval(tx, mime.Get(tx)); got != tt.want {
				t.Errorf("ascii_text_illegal = %v, want %v", got, tt.want)
			}
		})
	}
}
