package dmarc_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// e2eConfig runs DKIM and DMARC for Postfix's client (127.0.0.1, the local
// profile) against the test DNS server.
const e2eConfig = `
[server]
milter_listen = "{{MILTER}}"
state_dir = "{{STATE}}"
hostname = "mx.mailwarden.test"
[dns]
servers = ["%s"]
[dmarc]
reject = %v
profiles = ["local", "remote"]
authserv_id = "mx.mailwarden.test"
[spam]
tag_level = 5.0
reject_level = 50.0
`

func e2eMail(from, subject string) []byte {
	return []byte(fmt.Sprintf("Authentication-Results: mx.mailwarden.test; dmarc=pass header.from=%[1]s\r\n"+
		"Authentication-Results: elsewhere.example; spf=pass smtp.mailfrom=x@%[1]s\r\n"+
		"From: Boss <boss@%[1]s>\r\nTo: rcpt@example.org\r\nSubject: %[2]s\r\n"+
		"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%[3]d@%[1]s>\r\n\r\nPlease pay the invoice.\r\n",
		from, subject, time.Now().UnixNano()))
}

// TestPostfixDMARC: with [dmarc] reject on, Postfix refuses at end of data a
// message whose From domain publishes p=reject and that has no aligned
// pass; with it off (after a reload) the message is delivered with our
// Authentication-Results saying dmarc=fail and the forged copy claiming our
// authserv-id removed. A message with an aligned DKIM signature passes.
func TestPostfixDMARC(t *testing.T) {
	dns := dnstest.New(t)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dns.AddRR(t,
		`_dmarc.bank.example. TXT "v=DMARC1; p=reject"`,
		`bank.example. TXT "v=spf1 ip4:192.0.2.1 -all"`,
		`_dmarc.signed.example. TXT "v=DMARC1; p=reject; adkim=s"`,
		fmt.Sprintf(`mw._domainkey.signed.example. TXT "v=DKIM1; k=ed25519; p=%s"`, base64.StdEncoding.EncodeToString(pub)),
	)
	d := testenv.StartDaemon(t, fmt.Sprintf(e2eConfig, dns.Addr(), true))
	pf := testenv.StartPostfix(t, testenv.PostfixOptions{Milter: d.Milter})

	t.Run("p=reject failure refused at end of data", func(t *testing.T) {
		r := pf.Send(t, "boss@bank.example", []string{"rcpt@example.org"}, e2eMail("bank.example", "forged"))
		if r.Stage != "data" || r.Code != 550 || !strings.Contains(r.Text, "5.7.1") {
			t.Fatalf("got %v, want 550 5.7.1 at end of data\n%s", r, d.Log())
		}
	})

	t.Run("aligned DKIM signature passes", func(t *testing.T) {
		var signed bytes.Buffer
		if err := dkim.Sign(&signed, bytes.NewReader(e2eMail("signed.example", "signed")),
			&dkim.SignOptions{Domain: "signed.example", Selector: "mw", Signer: priv}); err != nil {
			t.Fatal(err)
		}
		before := len(pf.Sink.Messages())
		r := pf.Send(t, "boss@signed.example", []string{"rcpt@example.org"}, signed.Bytes())
		if r.Code != 250 {
			t.Fatalf("signed message refused: %v\n%s", r, d.Log())
		}
		got := pf.Sink.Wait(t, before+1, 20*time.Second)[before]
		ar := got.Header("Authentication-Results")
		if !strings.Contains(ar, "dkim=pass") || !strings.Contains(ar, "dmarc=pass") {
			t.Errorf("Authentication-Results = %q, want dkim=pass and dmarc=pass", ar)
		}
	})

	t.Run("reject off: delivered with dmarc=fail", func(t *testing.T) {
		d.WriteConfig(t, strings.Replace(d.Config(t), "reject = true", "reject = false", 1))
		d.Reload(t)
		before := len(pf.Sink.Messages())
		r := pf.Send(t, "boss@bank.example", []string{"rcpt@example.org"}, e2eMail("bank.example", "forged, reject off"))
		if r.Code != 250 {
			t.Fatalf("got %v, want delivery with DMARCReject off\n%s", r, d.Log())
		}
		got := pf.Sink.Wait(t, before+1, 20*time.Second)[before]
		hdr, _, _ := bytes.Cut(got.Raw, []byte("\r\n\r\n"))
		var ours, others int
		for _, f := range strings.Split(strings.ReplaceAll(string(hdr), "\r\n\t", " "), "\r\n") {
			name, value, ok := strings.Cut(f, ":")
			if !ok || !strings.EqualFold(name, "Authentication-Results") {
				continue
			}
			id, results, err := authres.Parse(strings.TrimSpace(value))
			if err != nil {
				t.Errorf("unparsable Authentication-Results %q: %v", value, err)
				continue
			}
			if id != "mx.mailwarden.test" {
				others++
				continue
			}
			ours++
			found := false
			for _, res := range results {
				if dm, ok := res.(*authres.DMARCResult); ok {
					found = true
					if dm.Value != authres.ResultFail || dm.From != "bank.example" {
						t.Errorf("dmarc result %+v, want fail for bank.example", dm)
					}
				}
			}
			if !found {
				t.Errorf("no dmarc result in %q", value)
			}
		}
		if ours != 1 || others != 1 {
			t.Errorf("%d Authentication-Results of ours (want 1: the forged one removed), %d of others (want 1)\n%s", ours, others, hdr)
		}
		if !strings.Contains(got.Header("X-Spam-Status"), "DMARC_FAIL_REJECT") {
			t.Errorf("X-Spam-Status = %q lacks DMARC_FAIL_REJECT", got.Header("X-Spam-Status"))
		}
	})
}
