package rules

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/scoring"
)

// loadContrib loads the default rule set shipped in contrib/rules.
func loadContrib(t testing.TB) *Set {
	t.Helper()
	s, err := Load("../../contrib/rules")
	if err != nil {
		t.Fatalf("contrib/rules: %v", err)
	}
	if len(s.Warnings) > 0 {
		t.Errorf("contrib/rules warnings:\n%s", strings.Join(s.Warnings, "\n"))
	}
	return s
}

func hitNames(c *Check, h Hits) []string {
	var out []string
	for _, r := range c.cfg.Set.Rules {
		if h.Count(r.Name) > 0 && !r.Sub() {
			out = append(out, r.Name)
		}
	}
	sort.Strings(out)
	return out
}

func TestContribRules(t *testing.T) {
	c := New(Config{Set: loadContrib(t)})
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		msg       string
		want, not []string
	}{
		{
			name: "clean ham",
			msg:  "From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: Lunch on Friday\nDate: Tue, 24 Nov 2026 10:00:00 +0000\nMessage-ID: <1@example.org>\n\nShall we meet at noon? The menu is at https://www.example.org/menu\n",
			not:  []string{"MW_MISSING_MID", "MW_DATE_INVALID", "MW_URI_IP_LITERAL", "MW_BEC_URGENT_PAYMENT", "MW_REPLYTO_OTHER_DOMAIN", "MW_SUBJ_ALL_CAPS"},
		},
		{
			name: "bec diverted payment",
			msg:  "From: CEO <ceo@company.example>\nReply-To: ceo.private@freemail.example\nTo: accounts@company.example\nSubject: Quick task\nDate: Tue, 24 Nov 2026 10:00:00 +0000\nMessage-ID: <2@company.example>\n\nI need you to process a wire transfer urgently today, our supplier has new bank details.\nKeep it between us, I'm in a meeting.\n",
			want: []string{"MW_REPLYTO_OTHER_DOMAIN", "MW_BEC_URGENT_PAYMENT", "MW_BEC_BANK_CHANGE", "MW_BEC_SECRECY", "MW_BEC_DIVERTED"},
		},
		{
			name: "money and callback",
			msg:  "From: a@b.example\nTo: c@d.example\nSubject: Invoice\nDate: Tue, 24 Nov 2026 10:00:00 +0000\nMessage-ID: <3@b.example>\n\nThe outstanding amount is $12,500.00.\nCall me back at +44 20 7946 0958 to confirm.\n",
			want: []string{"MW_BEC_MONEY_CALLBACK"},
		},
		{
			name: "structural and links",
			msg:  "From: \"service@paypal.com\" <x@evil.example>\nSubject: ACCOUNT SUSPENDED NOW\nDate: someday\nContent-Type: text/html\n\n<p>Verify at <a href=\"http://203.0.113.9/login.php\">https://www.paypal.com/</a> or <a href=\"https://bit.ly/abc\">here</a></p>\n",
			want: []string{"MW_MISSING_MID", "MW_DATE_INVALID", "MW_FROM_NAME_OTHER_ADDR", "MW_SUBJ_ALL_CAPS", "MW_MIME_HTML_ONLY", "MW_URI_IP_LITERAL", "MW_LINK_TEXT_MISMATCH", "MW_URI_SHORTENER", "MW_URI_LOGIN_PATH", "MW_PHISH_LOGIN_IP", "MW_NO_RECIPIENT_HDR"},
		},
		{
			name: "image spam",
			msg:  "From: a@b.example\nTo: c@d.example\nSubject: hi\nDate: Tue, 24 Nov 2026 10:00:00 +0000\nMessage-ID: <5@b.example>\nContent-Type: text/html\n\n<html><body><a href=\"http://shop.example/\"><img src=\"http://shop.example/offer.gif\"></a><form action=\"http://shop.example/buy\"><input type=submit></form></body></html>\n",
			want: []string{"MW_HTML_IMAGE_ONLY", "MW_HTML_SCRIPT_FORM", "MW_MIME_HTML_ONLY"},
			not:  []string{"MW_HTML_LINK_HEAVY"},
		},
		{
			name: "dates judged against the newest Received stamp, not our clock",
			msg:  "Received: from relay.example by mx.example; Fri, 19 Jul 2002 13:21:31 -0400 (EDT)\nReceived: from a by relay.example; Fri, 19 Jul 2002 10:00:00 -0400\nFrom: a@b.example\nTo: c@d.example\nSubject: hi\nDate: Sun, 21 Jul 2002 09:45:08 +0700\nMessage-ID: <6@b.example>\n\nhello\n",
			want: []string{"MW_DATE_IN_FUTURE"},
			not:  []string{"MW_DATE_IN_PAST_96"},
		},
		{
			name: "date four days before it reached us",
			msg:  "Received: from relay.example by mx.example;\n\tThu, 28 Nov 2002 16:09:42 +0000 (GMT)\nFrom: a@b.example\nTo: c@d.example\nSubject: hi\nDate: Thu, 31 Oct 2002 16:01:32 +0200\nMessage-ID: <7@b.example>\n\nhello\n",
			want: []string{"MW_DATE_IN_PAST_96"},
			not:  []string{"MW_DATE_IN_FUTURE"},
		},
		{
			name: "an old message that arrived on time is neither",
			msg:  "Received: from relay.example by mx.example; Fri, 19 Jul 2002 13:21:31 -0400\nFrom: a@b.example\nTo: c@d.example\nSubject: hi\nDate: Fri, 19 Jul 2002 13:20:00 -0400\nMessage-ID: <8@b.example>\n\nhello\n",
			not:  []string{"MW_DATE_IN_PAST_96", "MW_DATE_IN_FUTURE"},
		},
		{
			name: "yahoo address that no yahoo server relayed",
			msg:  "Received: from dsl-1-2-3-4.isp.example ([198.51.100.4]) by mx.example; Mon, 5 Aug 2002 11:51:40 -0400\nFrom: \"P. C.\" <sweetheart@yahoo.co.uk>\nTo: c@d.example\nSubject: hi\nDate: Mon, 5 Aug 2002 11:50:40 -0400\nMessage-ID: <9@b.example>\n\nhello\n",
			want: []string{"MW_FORGED_FREEMAIL_RCVD"},
		},
		{
			name: "yahoo address relayed by yahoo",
			msg:  "Received: from web40020.mail.yahoo.com (web40020.mail.yahoo.com [66.218.78.60]) by mx.example; Mon, 5 Aug 2002 11:51:40 -0400\nFrom: <someone@yahoo.com>\nTo: c@d.example\nSubject: hi\nDate: Mon, 5 Aug 2002 11:50:40 -0400\nMessage-ID: <10@b.example>\n\nhello\n",
			not:  []string{"MW_FORGED_FREEMAIL_RCVD"},
		},
		{
			name: "a provider not on the list, and a message with no Received field, are not judged",
			msg:  "Received: from home.example by mx.example; Mon, 5 Aug 2002 11:51:40 -0400\nFrom: <someone@gmx.net>\nTo: c@d.example\nSubject: hi\nDate: Mon, 5 Aug 2002 11:50:40 -0400\nMessage-ID: <11@b.example>\n\nhello\n",
			not:  []string{"MW_FORGED_FREEMAIL_RCVD"},
		},
		{
			name: "gmail with no Received field",
			msg:  "From: <someone@gmail.com>\nTo: c@d.example\nSubject: hi\nDate: Mon, 5 Aug 2002 11:50:40 -0400\nMessage-ID: <12@b.example>\n\nhello\n",
			not:  []string{"MW_FORGED_FREEMAIL_RCVD"},
		},
		{
			name: "date in future",
			msg:  "From: a@b.example\nTo: c@d.example\nSubject: hi\nDate: Mon, 30 Nov 2026 10:00:00 +0000\nMessage-ID: <4@b.example>\n\nhello\n",
			want: []string{"MW_DATE_IN_FUTURE"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx := newTx(t, tc.msg)
			tx.Start = now
			got := hitNames(c, c.Evaluate(tx))
			have := map[string]bool{}
			for _, g := range got {
				have[g] = true
			}
			for _, w := range tc.want {
				if !have[w] {
					t.Errorf("missing %s; hits: %v", w, got)
				}
			}
			for _, n := range tc.not {
				if have[n] {
					t.Errorf("unexpected %s; hits: %v", n, got)
				}
			}
		})
	}
}

// TestDatesLiveAndOffline: a live front-end judges the Date by our clock
// (the sender's Received stamps are its own to forge); offline, by the
// newest Received stamp (the message arrived long before it is read).
func TestDatesLiveAndOffline(t *testing.T) {
	msg := "Received: from bot.example by relay.example; Thu, 03 Dec 2026 10:00:00 +0000\nFrom: a@b.example\nTo: c@d.example\nSubject: hi\nDate: Thu, 03 Dec 2026 09:00:00 +0000\nMessage-ID: <14@b.example>\n\nhello\n"
	now := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC) // five days after the Date
	past := builtins["date_in_past"]
	for _, tc := range []struct {
		front string
		want  bool
	}{
		{scoring.FrontMilter, true},
		{scoring.FrontPolicy, true},
		{scoring.FrontCheck, false},
	} {
		tx := newTx(t, msg)
		tx.Front, tx.Start = tc.front, now
		if got := past(tx, nil); got != tc.want {
			t.Errorf("%s: date_in_past = %v, want %v", tc.front, got, tc.want)
		}
	}
}
