package dkimsign

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/testenv"
)

// saslPostfix starts a Postfix whose smtpd offers AUTH PLAIN for
// alice/secret, with the milter on. Authentication goes to a small server
// speaking Dovecot's auth protocol (Postfix smtpd_sasl_type = dovecot over
// inet:), so the test needs no SASL daemon or password database.
func saslPostfix(t *testing.T, milter string) *testenv.Postfix {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go dovecotAuth(c, map[string]string{"alice": "secret"})
		}
	}()
	return testenv.StartPostfix(t, testenv.PostfixOptions{Milter: milter, MainCF: map[string]string{
		"smtpd_sasl_auth_enable":      "yes",
		"smtpd_sasl_type":             "dovecot",
		"smtpd_sasl_path":             "inet:" + ln.Addr().String(),
		"smtpd_sasl_security_options": "noanonymous",
	}})
}

// dovecotAuth answers one client of the Dovecot authentication protocol
// (version 1.1: handshake, then AUTH lines for PLAIN).
func dovecotAuth(c net.Conn, users map[string]string) {
	defer c.Close()
	fmt.Fprintf(c, "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nSPID\t%d\nCUID\t1\nCOOKIE\t0123456789abcdef0123456789abcdef\nDONE\n", os.Getpid())
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if f[0] != "AUTH" || len(f) < 3 {
			continue
		}
		id, resp := f[1], ""
		for _, kv := range f[3:] {
			if strings.HasPrefix(kv, "resp=") {
				resp = kv[5:]
			}
		}
		raw, _ := base64.StdEncoding.DecodeString(resp)
		parts := strings.Split(string(raw), "\x00") // authzid, authcid, password
		if len(parts) == 3 && users[parts[1]] != "" && users[parts[1]] == parts[2] {
			fmt.Fprintf(c, "OK\t%s\tuser=%s\n", id, parts[1])
		} else {
			fmt.Fprintf(c, "FAIL\t%s\treason=bad password\n", id)
		}
	}
}

// sendAuth submits a message after AUTH PLAIN.
func sendAuth(t *testing.T, addr, user, pass, from, rcpt string, msg []byte) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.mailwarden.test"); err != nil {
		return err
	}
	if err := c.Auth(smtp.PlainAuth("", user, pass, "127.0.0.1")); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	w.Write(msg)
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// TestPostfixAuthenticatedSubmission: a SASL-authenticated client (not in
// the local networks) gets its own domain signed, and not a domain it may
// not send as.
func TestPostfixAuthenticatedSubmission(t *testing.T) {
	keys, srv := keyDir(t)
	srv.AddRR(t, "example.com. 300 IN MX 10 mx.example.com.", "mx.example.com. 300 IN A 192.0.2.25",
		"example.net. 300 IN MX 10 mx.example.net.", "mx.example.net. 300 IN A 192.0.2.27")
	conf := fmt.Sprintf(e2eConfig, srv.Addr(), `"192.0.2.0/24"`, keys)
	conf = strings.Replace(conf, `domains = ["example.com"]`, `domains = ["example.com", "example.net"]`, 1)
	conf += "[dkim.senders]\nalice = [\"example.com\"]\n"
	d := testenv.StartDaemon(t, conf)
	pf := saslPostfix(t, d.Milter)

	mail := func(from, subject string) []byte {
		return bytes.Replace(e2eMail(subject), []byte("From: Alice <alice@example.com>"), []byte("From: "+from), 1)
	}
	if err := sendAuth(t, pf.SMTPAddr, "alice", "secret", "alice@example.com", "bob@example.org", mail("Alice <alice@example.com>", "auth own domain")); err != nil {
		t.Fatalf("submission: %v\n%s", err, pf.Log())
	}
	if err := sendAuth(t, pf.SMTPAddr, "alice", "secret", "mallory@example.net", "bob@example.org", mail("Mallory <mallory@example.net>", "auth other domain")); err != nil {
		t.Fatalf("submission: %v\n%s", err, pf.Log())
	}
	deadline := time.Now().Add(30 * time.Second)
	var own, other []testenv.SinkMessage
	for len(own) == 0 || len(other) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not delivered (own %d, other %d)\n%s", len(own), len(other), pf.Log())
		}
		time.Sleep(100 * time.Millisecond)
		own, other = byHeader(pf.Sink.Messages(), "auth own domain"), byHeader(pf.Sink.Messages(), "auth other domain")
	}
	vs := verifyGo(t, srv, own[0].Raw)
	if len(vs) != 2 {
		t.Fatalf("own domain: %d signatures, want 2\n%s", len(vs), own[0].Raw)
	}
	for _, v := range vs {
		if v.Err != nil {
			t.Errorf("own domain: %v", v.Err)
		}
	}
	OpenDKIMVerify(t, srv, own[0].Raw)
	if !bytes.Contains(own[0].Raw, []byte("confidential")) {
		t.Errorf("authenticated submission without the disclaimer")
	}
	if bytes.Contains(other[0].Raw, []byte("DKIM-Signature")) {
		t.Errorf("alice got example.net signed")
	}
	log := d.Log()
	for _, want := range []string{
		`profile=authenticated from=<alice@example.com>`,
		`dkim="signed d=example.com s=nov2026,ed2026"`,
		`dkim="not signed: From domain example.net not allowed for user alice"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("daemon log lacks %q:\n%s", want, log)
		}
	}
}
