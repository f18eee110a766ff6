package milter_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// sendmailTagConfig scores a missing Date for the local profile (the test
// client is 127.0.0.1) with a tag level of 0.5, so a message without Date is
// tagged; the same config with action "reject" refuses it.
const sendmailTagConfig = `
[server]
milter_listen = "{{MILTER}}"
state_dir = "{{STATE}}"
[profiles]
local_networks = ["127.0.0.0/8"]
# Sendmail's submission daemon is Name=MSA (deploy/sendmail.mc).
submission_daemons = ["MSA"]
[basic_headers]
required = ["From", "Date"]
action = "score"
profiles = ["local"]
[spam]
tag_level = 0.5
reject_level = 12.0
subject_tag = true
`

// TestSendmailEndToEnd drives mail through a real Sendmail (Debian's
// sendmail-bin, unpacked into a temp dir) with mailwarden as its
// INPUT_MAIL_FILTER, as deploy/sendmail.mc configures it.
func TestSendmailEndToEnd(t *testing.T) {
	tagD := testenv.StartDaemon(t, sendmailTagConfig)
	rejD := testenv.StartDaemon(t, strings.Replace(sendmailTagConfig, `action = "score"`, `action = "reject"`, 1))
	tagSM := testenv.StartSendmail(t, testenv.SendmailOptions{MilterAddr: tagD.MilterAddr})
	rejSM := testenv.StartSendmail(t, testenv.SendmailOptions{MilterAddr: rejD.MilterAddr})
	msaSM := testenv.StartSendmail(t, testenv.SendmailOptions{MilterAddr: rejD.MilterAddr, DaemonName: "MSA"})

	t.Run("clean message gets status headers", func(t *testing.T) {
		before := len(tagSM.Sink.Messages())
		r := tagSM.Send(t, "sender@example.com", []string{"rcpt@example.org"}, mail("clean via sendmail", true))
		if r.Code != 250 {
			t.Fatalf("send: %v\n%s", r, tagSM.Log())
		}
		msgs := tagSM.Sink.Wait(t, before+1, 30*time.Second)
		got := msgs[len(msgs)-1]
		if st := got.Header("X-Spam-Status"); !strings.HasPrefix(st, "No, score=0.0 required=0.5") {
			t.Errorf("X-Spam-Status = %q\n%s", st, got.Raw)
		}
		if got.Header("X-Spam-Flag") != "" {
			t.Errorf("X-Spam-Flag on a clean message")
		}
		if s := got.Header("Subject"); s != "clean via sendmail" {
			t.Errorf("Subject = %q", s)
		}
	})

	t.Run("tagged message gets flag and subject prefix", func(t *testing.T) {
		before := len(tagSM.Sink.Messages())
		r := tagSM.Send(t, "sender@example.com", []string{"rcpt@example.org"}, mail("no date via sendmail", false))
		if r.Code != 250 {
			t.Fatalf("send: %v\n%s", r, tagSM.Log())
		}
		msgs := tagSM.Sink.Wait(t, before+1, 30*time.Second)
		got := msgs[len(msgs)-1]
		if f := got.Header("X-Spam-Flag"); f != "YES" {
			t.Errorf("X-Spam-Flag = %q, want YES\n%s", f, got.Raw)
		}
		// Sendmail writes added values verbatim after the colon (we ask for
		// SMFIP_HDR_LEADSPC), so the space must come from mailwarden.
		for _, want := range []string{"\r\nX-Spam-Flag: YES\r\n", "\r\nSubject: [SPAM] no date via sendmail\r\n", "\r\nX-Spam-Status: Yes, "} {
			if !strings.Contains(string(got.Raw), want) {
				t.Errorf("message lacks %q as written:\n%s", want, got.Raw)
			}
		}
		if s := got.Header("Subject"); s != "[SPAM] no date via sendmail" {
			t.Errorf("Subject = %q", s)
		}
		if st := got.Header("X-Spam-Status"); !strings.HasPrefix(st, "Yes, score=1.0 required=0.5 tests=MISSING_DATE") {
			t.Errorf("X-Spam-Status = %q", st)
		}
	})

	t.Run("rejected message gets 5xx at the client", func(t *testing.T) {
		before := len(rejSM.Sink.Messages())
		r := rejSM.Send(t, "sender@example.com", []string{"rcpt@example.org"}, mail("no date, refused", false))
		if r.Code != 550 || !strings.Contains(r.Text, "5.6.0 Mail with no Date header not accepted here") {
			t.Fatalf("got %v, want 550 5.6.0 ...\n%s", r, rejSM.Log())
		}
		time.Sleep(time.Second)
		if n := len(rejSM.Sink.Messages()); n != before {
			t.Fatalf("refused message reached the sink")
		}
	})

	t.Run("two messages on one connection keep the client data", func(t *testing.T) {
		before := len(rejSM.Sink.Messages())
		rs := rejSM.SendMany(t, "second.mailwarden.test", []testenv.Mail{
			{From: "a@example.com", Rcpts: []string{"r@example.org"}, Data: mail("first", true)},
			{From: "b@example.com", Rcpts: []string{"r@example.org"}, Data: mail("second, no date", false)},
			{From: "c@example.com", Rcpts: []string{"r@example.org"}, Data: mail("third", true)},
		})
		if rs[0].Code != 250 || rs[2].Code != 250 {
			t.Fatalf("clean messages refused: %v", rs)
		}
		// Refused only if mailwarden still knew the client was 127.0.0.1
		// (local profile) on the connection's second message.
		if rs[1].Code != 550 {
			t.Fatalf("second message: %v, want 550 (client data lost?)", rs[1])
		}
		rejSM.Sink.Wait(t, before+2, 30*time.Second)
		log := rejD.Log()
		for _, from := range []string{"<a@example.com>", "<b@example.com>", "<c@example.com>"} {
			if !strings.Contains(log, "from="+from) {
				t.Errorf("no summary line for %s", from)
			}
		}
		if n := strings.Count(log, "helo=second.mailwarden.test"); n != 3 {
			t.Errorf("%d summary lines carry the HELO name, want 3\n%s", n, log)
		}
	})

	t.Run("daemon name MSA makes the client a submission client", func(t *testing.T) {
		// basic_headers runs for the local profile only: through the MSA
		// daemon the client is "authenticated" (submission_daemons), so a
		// message without Date passes, which it would not through Name=MTA.
		before := len(msaSM.Sink.Messages())
		r := msaSM.Send(t, "sender@example.com", []string{"rcpt@example.org"}, mail("no date via MSA", false))
		if r.Code != 250 {
			t.Fatalf("via the MSA daemon got %v, want 250 ({daemon_name} lost?)\n%s", r, msaSM.Log())
		}
		msgs := msaSM.Sink.Wait(t, before+1, 30*time.Second)
		if st := msgs[len(msgs)-1].Header("X-Spam-Status"); strings.Contains(st, "MISSING_DATE") {
			t.Errorf("X-Spam-Status = %q: basic_headers ran for a submission client", st)
		}
	})

	t.Run("mailwarden stopped: Sendmail tempfails (F=T)", func(t *testing.T) {
		before := len(tagSM.Sink.Messages())
		tagD.Stop()
		r := tagSM.Send(t, "sender@example.com", []string{"rcpt@example.org"}, mail("while down", true))
		if r.Code < 400 || r.Code > 499 {
			t.Fatalf("with the milter down got %v, want 4xx (F=T)", r)
		}
		time.Sleep(500 * time.Millisecond)
		if n := len(tagSM.Sink.Messages()); n != before {
			t.Fatalf("a message reached the sink unfiltered while mailwarden was down")
		}
	})
}

const sendmailDKIMConfig = `
[server]
milter_listen = "{{MILTER}}"
state_dir = "{{STATE}}"
hostname = "mx.mailwarden.test"
[dns]
servers = ["%s"]
[dmarc]
reject = false
profiles = ["local", "remote"]
authserv_id = "mx.mailwarden.test"
[spam]
tag_level = 5.0
reject_level = 50.0
`

// TestSendmailHeadersAsReceived: mailwarden asks Sendmail for header values
// with their leading space (SMFIP_HDR_LEADSPC), so a DKIM signature with
// simple header canonicalization (every byte of the signed fields counts:
// the space after the colon, extra spaces, folding) verifies through a real
// Sendmail; the same message changed in one signed field fails, which shows
// the check is real. A forged Authentication-Results claiming our authserv-id
// is deleted (a change-header with an empty value, which Sendmail must
// apply by index).
func TestSendmailHeadersAsReceived(t *testing.T) {
	dns := dnstest.New(t)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dns.AddRR(t,
		`_dmarc.signed.example. TXT "v=DMARC1; p=reject; adkim=s"`,
		fmt.Sprintf(`mw._domainkey.signed.example. TXT "v=DKIM1; k=ed25519; p=%s"`, base64.StdEncoding.EncodeToString(pub)),
	)
	d := testenv.StartDaemon(t, fmt.Sprintf(sendmailDKIMConfig, dns.Addr()))
	sm := testenv.StartSendmail(t, testenv.SendmailOptions{MilterAddr: d.MilterAddr})

	body := func(subject string) []byte {
		return []byte("Authentication-Results: mx.mailwarden.test; dkim=pass header.d=signed.example\r\n" +
			"From: Boss <boss@signed.example>\r\nTo: rcpt@example.org\r\n" +
			"Subject: " + subject + ",\r\n\tfolded onto a second line\r\n" +
			"X-Spacing:    four spaces before, two after  \r\n" +
			"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n" +
			fmt.Sprintf("Message-ID: <%d@signed.example>\r\n\r\nPlease pay the invoice.\r\n", time.Now().UnixNano()))
	}
	sign := func(t *testing.T, msg []byte) []byte {
		t.Helper()
		var out bytes.Buffer
		err := dkim.Sign(&out, bytes.NewReader(msg), &dkim.SignOptions{
			Domain: "signed.example", Selector: "mw", Signer: priv,
			HeaderCanonicalization: dkim.CanonicalizationSimple,
			BodyCanonicalization:   dkim.CanonicalizationSimple,
			HeaderKeys:             []string{"From", "To", "Subject", "X-Spacing", "Date", "Message-ID"},
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}

	tests := []struct {
		name     string
		tamper   func([]byte) []byte
		wantDKIM string
	}{
		{"as signed", func(b []byte) []byte { return b }, "dkim=pass"},
		{"one space less in a signed field", func(b []byte) []byte {
			return bytes.Replace(b, []byte("X-Spacing:    four"), []byte("X-Spacing:   four"), 1)
		}, "dkim=fail"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(sm.Sink.Messages())
			msg := tc.tamper(sign(t, body(tc.name)))
			r := sm.Send(t, "boss@signed.example", []string{"rcpt@example.org"}, msg)
			if r.Code != 250 {
				t.Fatalf("send: %v\n%s", r, sm.Log())
			}
			got := sm.Sink.Wait(t, before+1, 30*time.Second)[before]
			hdr, _, _ := bytes.Cut(got.Raw, []byte("\r\n\r\n"))
			var ours []string
			for _, f := range strings.Split(strings.ReplaceAll(string(hdr), "\r\n\t", " "), "\r\n") {
				if name, value, ok := strings.Cut(f, ":"); ok && strings.EqualFold(name, "Authentication-Results") &&
					strings.HasPrefix(strings.TrimSpace(value), "mx.mailwarden.test") {
					ours = append(ours, value)
				}
			}
			if len(ours) != 1 {
				t.Fatalf("%d Authentication-Results with our authserv-id, want 1 (ours; the forged one deleted):\n%s", len(ours), hdr)
			}
			if !strings.Contains(ours[0], tc.wantDKIM) || !strings.Contains(ours[0], "header.d=signed.example") {
				t.Errorf("Authentication-Results:%s\nwant %s for signed.example", ours[0], tc.wantDKIM)
			}
			if strings.Contains(ours[0], "dkim=pass") == (tc.wantDKIM != "dkim=pass") {
				t.Errorf("Authentication-Results:%s\nwant only %s", ours[0], tc.wantDKIM)
			}
		})
	}
}
