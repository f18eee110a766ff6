package rules_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// e2eConfig: Postfix's client is 127.0.0.1 (the local profile), so the rules
// run for "local" here; the repo's contrib/rules plus testdata/e2e.cf.
const e2eConfig = `
[server]
milter_listen = "{{MILTER}}"
state_dir = "{{STATE}}"
[spam]
sensitivity = "custom"
tag_level = 4.0
reject_level = 12.0
subject_tag = true
subject_prefix = "[SPAM]"
[rules]
paths = [%q, %q]
profiles = ["local"]
[wblist]
whitelist_from = ["*@friends.example"]
[sorting]
opt_out = ["nosort@example.org"]
[virus]
enabled = false
[load]
enabled = false
[karma]
enabled = false
`

func e2eMail(from, subject, body string) []byte {
	// Dated now: the default rules judge the Date against the time the
	// message arrives (MW_DATE_IN_PAST_96, MW_DATE_IN_FUTURE).
	return []byte(fmt.Sprintf("From: %s\r\nTo: rcpt@example.org\r\nDate: %s\r\nSubject: %s\r\nMessage-ID: <%d@example.com>\r\n\r\n%s\r\n",
		from, time.Now().Format(time.RFC1123Z), subject, time.Now().UnixNano(), body))
}

func TestPostfixSpamLevels(t *testing.T) {
	root := testenv.RepoRoot()
	cfg := fmt.Sprintf(e2eConfig, filepath.Join(root, "contrib", "rules"), filepath.Join(root, "scoring", "rules", "testdata", "e2e.cf"))
	d := testenv.StartDaemon(t, cfg)
	pf := testenv.StartPostfix(t, testenv.PostfixOptions{Milter: d.Milter})

	t.Run("over the reject level gets 5xx", func(t *testing.T) {
		r := pf.Send(t, "sender@example.com", []string{"rcpt@example.org"}, e2eMail("sender@example.com", "hello", "mailwarden reject me please"))
		if r.Code < 500 || r.Code > 599 {
			t.Fatalf("got %v, want 5xx", r)
		}
	})
	t.Run("GTUBE gets 5xx", func(t *testing.T) {
		r := pf.Send(t, "sender@example.com", []string{"rcpt@example.org"}, e2eMail("sender@example.com", "gtube", "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"))
		if r.Code != 550 {
			t.Fatalf("got %v, want 550", r)
		}
	})
	t.Run("between the levels arrives tagged and sorted", func(t *testing.T) {
		before := len(pf.Sink.Messages())
		r := pf.Send(t, "sender@example.com", []string{"rcpt@example.org"}, e2eMail("sender@example.com", "offer", "mailwarden tag me please"))
		if r.Code != 250 {
			t.Fatalf("send: %v", r)
		}
		got := pf.Sink.Wait(t, before+1, 20*time.Second)[before]
		if s := got.Header("Subject"); s != "[SPAM] offer" {
			t.Errorf("Subject = %q", s)
		}
		if got.Header("X-Mailwarden-Sort") != "Junk" || got.Header("X-Spam-Flag") != "YES" {
			t.Errorf("sort %q flag %q", got.Header("X-Mailwarden-Sort"), got.Header("X-Spam-Flag"))
		}
		if st := got.Header("X-Spam-Status"); !strings.HasPrefix(st, "Yes, score=6.0") || !strings.Contains(st, "E2E_TAG_PHRASE") {
			t.Errorf("X-Spam-Status = %q", st)
		}
	})
	t.Run("opted-out recipient is tagged but not sorted", func(t *testing.T) {
		before := len(pf.Sink.Messages())
		r := pf.Send(t, "sender@example.com", []string{"nosort@example.org"}, e2eMail("sender@example.com", "offer", "mailwarden tag me please"))
		if r.Code != 250 {
			t.Fatalf("send: %v", r)
		}
		got := pf.Sink.Wait(t, before+1, 20*time.Second)[before]
		if got.Header("X-Mailwarden-Sort") != "" || got.Header("X-Spam-Flag") != "YES" {
			t.Errorf("sort %q flag %q", got.Header("X-Mailwarden-Sort"), got.Header("X-Spam-Flag"))
		}
	})
	t.Run("whitelisted sender passes", func(t *testing.T) {
		before := len(pf.Sink.Messages())
		r := pf.Send(t, "pal@friends.example", []string{"rcpt@example.org"}, e2eMail("Pal <pal@friends.example>", "hi", "mailwarden reject me please"))
		if r.Code != 250 {
			t.Fatalf("whitelisted sender refused: %v", r)
		}
		got := pf.Sink.Wait(t, before+1, 20*time.Second)[before]
		if got.Header("X-Spam-Flag") != "" || got.Header("X-Mailwarden-Sort") != "" || !strings.Contains(got.Header("X-Spam-Status"), "USER_IN_WHITELIST") {
			t.Errorf("whitelisted message: status %q flag %q sort %q", got.Header("X-Spam-Status"), got.Header("X-Spam-Flag"), got.Header("X-Mailwarden-Sort"))
		}
	})
	t.Run("forged sort header is removed from ham", func(t *testing.T) {
		before := len(pf.Sink.Messages())
		msg := append([]byte("X-Mailwarden-Sort: Junk\r\n"), e2eMail("sender@example.com", "lunch", "see you at noon")...)
		r := pf.Send(t, "sender@example.com", []string{"rcpt@example.org"}, msg)
		if r.Code != 250 {
			t.Fatalf("send: %v", r)
		}
		got := pf.Sink.Wait(t, before+1, 20*time.Second)[before]
		if got.Header("X-Mailwarden-Sort") != "" {
			t.Errorf("forged X-Mailwarden-Sort kept")
		}
	})
}

// rdnsConfig: the client is remote (XCLIENT gives it a public address), the
// default rules run for it, and the checks that would resolve names are
// off; [dns] points at the loopback test server all the same.
const rdnsConfig = `
[server]
milter_listen = "{{MILTER}}"
state_dir = "{{STATE}}"
[dns]
servers = ["%s"]
[spam]
sensitivity = "custom"
tag_level = 4.0
reject_level = 12.0
[rules]
paths = [%q]
profiles = ["remote"]
[envelope.dnsbl]
enabled = false
[envelope.uribl]
enabled = false
[envelope.helo]
policy = "off"
[envelope.resolvable_fromhost]
enabled = false
[spf]
enabled = false
[dmarc]
enabled = false
[greylist]
enabled = false
[virus]
enabled = false
[load]
enabled = false
[karma]
enabled = false
`

// TestPostfixClient: the rules that judge the SMTP client, through a real
// Postfix. XCLIENT makes the session's client a public address, with or
// without a reverse name; the milter must see what Postfix knows of it.
// MW_RDNS_NONE: no verified name. MW_FORGED_FREEMAIL_RCVD: a Gmail From
// from a client that is not Google's (the message has no Received field of
// its own, so the client is the only hop).
func TestPostfixClient(t *testing.T) {
	dns := dnstest.New(t)
	d := testenv.StartDaemon(t, fmt.Sprintf(rdnsConfig, dns.Addr(), filepath.Join(testenv.RepoRoot(), "contrib", "rules")))
	pf := testenv.StartPostfix(t, testenv.PostfixOptions{Milter: d.Milter, MainCF: map[string]string{
		"smtpd_authorized_xclient_hosts": "127.0.0.0/8",
		"relay_domains":                  "example.org",
	}})
	for _, tc := range []struct {
		xclient, from string
		want, not     []string
	}{
		{"ADDR=198.51.100.7 NAME=[UNAVAILABLE]", "sender@example.com", []string{"MW_RDNS_NONE"}, nil},
		{"ADDR=198.51.100.8 NAME=mail.sender.example", "sender@example.com", nil, []string{"MW_RDNS_NONE"}},
		{"ADDR=198.51.100.9 NAME=dsl.isp.example", "someone@gmail.com", []string{"MW_FORGED_FREEMAIL_RCVD"}, []string{"MW_RDNS_NONE"}},
		{"ADDR=209.85.167.45 NAME=mail-lf1-f45.google.com", "someone@gmail.com", nil, []string{"MW_FORGED_FREEMAIL_RCVD", "MW_RDNS_NONE"}},
	} {
		t.Run(tc.xclient+" "+tc.from, func(t *testing.T) {
			before := len(pf.Sink.Messages())
			r := pf.SendAs(t, tc.xclient, tc.from, []string{"rcpt@example.org"}, e2eMail(tc.from, "hello", "see you at noon"))
			if r.Code != 250 {
				t.Fatalf("send: %v\n%s", r, d.Log())
			}
			st := pf.Sink.Wait(t, before+1, 20*time.Second)[before].Header("X-Spam-Status")
			if !strings.Contains(st, "tests=") {
				t.Fatalf("X-Spam-Status = %q: the message was not scanned\n%s", st, d.Log())
			}
			for _, w := range tc.want {
				if !strings.Contains(st, w) {
					t.Errorf("X-Spam-Status = %q: want %s", st, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(st, n) {
					t.Errorf("X-Spam-Status = %q: want no %s", st, n)
				}
			}
		})
	}
}
