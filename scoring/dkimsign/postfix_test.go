package dkimsign

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/testenv"
)

// e2eConfig: outbound = local networks (first phase) and, always, mail
// submitted with sendmail(1) (Postfix non_smtpd_milters).
const e2eConfig = `
[server]
state_dir = "{{STATE}}"
[dns]
# The loopback test server: example.com/.org resolve, the DKIM keys are there.
servers = [%q]
[profiles]
local_networks = [%s]
submission_daemons = ["ORIGINATING"]
[dkim]
keys_dir = %q
domains = ["example.com"]
[disclaimer]
enabled = true
text = "This message is confidential – Vertraulich."
local_domains = ["example.com"]
[bcc]
enabled = true
mailbox = "archive@example.com"
mode = "cc"
scope = "outgoing"
`

func e2eMail(subject string) []byte {
	return []byte(fmt.Sprintf("From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: %s\r\n"+
		"Date: Wed, 25 Nov 2026 17:00:00 +0000\r\nMessage-ID: <%d@example.com>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nHello Bob, Grüße.\r\n", subject, time.Now().UnixNano()))
}

// byHeader finds the sink message(s) with a Subject.
func byHeader(msgs []testenv.SinkMessage, subject string) []testenv.SinkMessage {
	var out []testenv.SinkMessage
	for _, m := range msgs {
		if m.Header("Subject") == subject {
			out = append(out, m)
		}
	}
	return out
}

func rcptsOf(msgs []testenv.SinkMessage) string {
	var r []string
	for _, m := range msgs {
		r = append(r, m.Rcpts...)
	}
	return strings.Join(r, ",")
}

// TestPostfixOutbound drives a real Postfix: a local-network SMTP client and
// a sendmail(1) submission get the disclaimer, a DKIM signature that
// go-msgauth and OpenDKIM verify and an archive copy; inbound mail gets none
// of these.
func TestPostfixOutbound(t *testing.T) {
	keys, srv := keyDir(t)
	// Sender domains that resolve, so that inbound checks let the test mail in.
	srv.AddRR(t, "example.com. 300 IN MX 10 mx.example.com.", "mx.example.com. 300 IN A 192.0.2.25",
		"example.org. 300 IN MX 10 mx.example.org.", "mx.example.org. 300 IN A 192.0.2.26")
	d := testenv.StartDaemon(t, fmt.Sprintf(e2eConfig, srv.Addr(), `"127.0.0.0/8"`, keys))
	pf := testenv.StartPostfix(t, testenv.PostfixOptions{Milter: d.Milter, NonSMTPDMilter: d.Milter})

	check := func(t *testing.T, subject string) {
		t.Helper()
		var got []testenv.SinkMessage
		deadline := time.Now().Add(30 * time.Second)
		for {
			got = byHeader(pf.Sink.Messages(), subject)
			if r := rcptsOf(got); strings.Contains(r, "bob@example.org") && strings.Contains(r, "archive@example.com") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("sink has %d copies of %q for %q\npostfix log:\n%s\nqueue:\n%s", len(got), subject, rcptsOf(got), pf.Log(), pf.Queue())
			}
			pf.Flush()
			time.Sleep(200 * time.Millisecond)
		}
		m := got[0]
		if !bytes.Contains(m.Raw, []byte("This message is confidential =E2=80=93 Vertraulich.")) && !bytes.Contains(m.Raw, []byte("This message is confidential – Vertraulich.")) {
			t.Errorf("no disclaimer in the delivered body:\n%s", m.Raw)
		}
		if m.Header("X-Copied-To") != "archive@example.com" {
			t.Errorf("X-Copied-To = %q", m.Header("X-Copied-To"))
		}
		vs := verifyGo(t, srv, m.Raw)
		if len(vs) != 2 {
			t.Fatalf("%d DKIM signatures, want 2 (RSA and Ed25519):\n%s", len(vs), m.Raw)
		}
		for _, v := range vs {
			if v.Err != nil || v.Domain != "example.com" {
				t.Errorf("go-msgauth: d=%s err=%v", v.Domain, v.Err)
			}
		}
		OpenDKIMVerify(t, srv, m.Raw)
		if !strings.Contains(d.Log(), `dkim="signed d=example.com s=nov2026,ed2026"`) {
			t.Errorf("summary log lacks the dkim= field:\n%s", d.Log())
		}
	}

	t.Run("local network SMTP client", func(t *testing.T) {
		r := pf.Send(t, "alice@example.com", []string{"bob@example.org"}, e2eMail("smtp outbound"))
		if r.Code != 250 {
			t.Fatalf("send: %v\n%s", r, pf.Log())
		}
		check(t, "smtp outbound")
	})

	// 127.0.0.1 is no longer local: SMTP from it is inbound; sendmail(1)
	// mail stays outbound because the milter recognises non-SMTP mail.
	d.WriteConfig(t, strings.Replace(d.Config(t), `local_networks = ["127.0.0.0/8"]`, `local_networks = ["192.0.2.0/24"]`, 1))
	d.Reload(t)

	t.Run("sendmail(1) submission", func(t *testing.T) {
		if err := pf.Sendmail(t, "alice@example.com", []string{"bob@example.org"}, bytes.ReplaceAll(e2eMail("sendmail outbound"), []byte("\r\n"), []byte("\n"))); err != nil {
			t.Fatal(err)
		}
		check(t, "sendmail outbound")
	})

	// A sender that SMTP checks would refuse at RCPT (its domain does not
	// resolve): from sendmail(1) it must still be accepted (Postfix cannot
	// refuse a recipient of non-SMTP mail; it would defer the whole message).
	t.Run("sendmail(1) is never refused before end of data", func(t *testing.T) {
		msg := bytes.Replace(e2eMail("sendmail unresolvable"), []byte("alice@example.com"), []byte("nobody@unresolvable.invalid"), 1)
		if err := pf.Sendmail(t, "nobody@unresolvable.invalid", []string{"bob@example.org"}, bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for len(byHeader(pf.Sink.Messages(), "sendmail unresolvable")) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("not delivered:\n%s\nqueue:\n%s", pf.Log(), pf.Queue())
			}
			pf.Flush()
			time.Sleep(200 * time.Millisecond)
		}
		for _, l := range strings.Split(d.Log(), "\n") {
			if strings.Contains(l, "not refusing locally submitted mail") {
				t.Logf("engine: %s", l) // a check wanted to refuse; the engine did not
			}
		}
		if strings.Contains(pf.Log(), "can't reject recipient in non-smtpd") {
			t.Errorf("the milter tried to refuse a recipient of non-SMTP mail:\n%s", pf.Log())
		}
	})

	t.Run("inbound is left alone", func(t *testing.T) {
		r := pf.Send(t, "someone@example.org", []string{"alice@example.com"}, e2eMail("inbound"))
		if r.Code != 250 {
			t.Fatalf("send: %v\n%s", r, pf.Log())
		}
		var got []testenv.SinkMessage
		deadline := time.Now().Add(30 * time.Second)
		for len(got) == 0 {
			got = byHeader(pf.Sink.Messages(), "inbound")
			if time.Now().After(deadline) {
				t.Fatalf("inbound message not delivered:\n%s", pf.Log())
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // an archive copy would come with it
		got = byHeader(pf.Sink.Messages(), "inbound")
		m := got[0]
		if bytes.Contains(m.Raw, []byte("DKIM-Signature")) {
			t.Errorf("inbound mail was signed")
		}
		if bytes.Contains(m.Raw, []byte("confidential")) {
			t.Errorf("inbound mail got the disclaimer")
		}
		if strings.Contains(rcptsOf(got), "archive") || m.Header("X-Copied-To") != "" {
			t.Errorf("inbound mail archived with scope=outgoing: %s", rcptsOf(got))
		}
	})

	// A submission service: Postfix names it with milter_macro_daemon_name
	// (master.cf -o on a real server; here the whole instance), listed in
	// [profiles] submission_daemons: its clients are outbound.
	t.Run("submission service by daemon name", func(t *testing.T) {
		for _, args := range [][]string{{"postconf", "-c", pf.Dir, "-e", "milter_macro_daemon_name=ORIGINATING"}, {"postfix", "-c", pf.Dir, "reload"}} {
			if out, err := exec.Command(testenv.RequireBinary(t, args[0]), args[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %v %s", args, err, out)
			}
		}
		time.Sleep(time.Second) // smtpd processes restart after reload
		r := pf.Send(t, "alice@example.com", []string{"bob@example.org"}, e2eMail("submission outbound"))
		if r.Code != 250 {
			t.Fatalf("send: %v\n%s", r, pf.Log())
		}
		check(t, "submission outbound")
		if !strings.Contains(d.Log(), "profile=authenticated from=<alice@example.com>") {
			t.Errorf("submission client not classified as authenticated:\n%s", d.Log())
		}
	})
}
