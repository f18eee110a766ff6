package milter_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/testenv"
)

const e2eConfig = `
[server]
milter_listen = "{{MILTER}}"
state_dir = "{{STATE}}"
[profiles]
local_networks = ["127.0.0.0/8"]
[basic_headers]
required = ["From", "Date"]
action = "reject"
# Postfix's client is 127.0.0.1, so the check runs only if the client's
# address reached mailwarden for every message of the connection.
profiles = ["local"]
[spam]
tag_level = 0.5
reject_level = 12.0
subject_tag = true
[scores]
MISSING_FROM = 0.8
`

func mail(subject string, withDate bool) []byte {
	var b strings.Builder
	b.WriteString("From: sender@example.com\r\nTo: rcpt@example.org\r\n")
	if withDate {
		b.WriteString("Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n")
	}
	fmt.Fprintf(&b, "Subject: %s\r\nMessage-ID: <%d@example.com>\r\n\r\nHello.\r\n", subject, time.Now().UnixNano())
	return []byte(b.String())
}

func TestPostfixEndToEnd(t *testing.T) {
	d := testenv.StartDaemon(t, e2eConfig)
	pf := testenv.StartPostfix(t, testenv.PostfixOptions{Milter: d.Milter})

	t.Run("headers added at the sink", func(t *testing.T) {
		r := pf.Send(t, "sender@example.com", []string{"rcpt@example.org"}, mail("clean", true))
		if r.Code != 250 {
			t.Fatalf("send: %v\n%s", r, pf.Log())
		}
		msgs := pf.Sink.Wait(t, 1, 20*time.Second)
		got := msgs[len(msgs)-1]
		if st := got.Header("X-Spam-Status"); !strings.HasPrefix(st, "No, score=0.0 required=0.5") {
			t.Errorf("X-Spam-Status = %q", st)
		}
		if got.Header("X-Spam-Flag") != "" {
			t.Errorf("X-Spam-Flag on a clean message")
		}
	})

	t.Run("rejected message gets code and text", func(t *testing.T) {
		r := pf.Send(t, "sender@example.com", []string{"rcpt@example.org"}, mail("no date", false))
		if r.Code != 550 || !strings.Contains(r.Text, "5.6.0 Mail with no Date header not accepted here") {
			t.Fatalf("got %v, want 550 5.6.0 ...", r)
		}
	})

	t.Run("two messages on one connection keep the client data", func(t *testing.T) {
		before := len(pf.Sink.Messages())
		rs := pf.SendMany(t, "second.mailwarden.test", []testenv.Mail{
			{From: "a@example.com", Rcpts: []string{"r@example.org"}, Data: mail("first", true)},
			{From: "b@example.com", Rcpts: []string{"r@example.org"}, Data: mail("second, no date", false)},
			{From: "c@example.com", Rcpts: []string{"r@example.org"}, Data: mail("third", true)},
		})
		if rs[0].Code != 250 || rs[2].Code != 250 {
			t.Fatalf("clean messages refused: %v", rs)
		}
		// The second message is refused only if mailwarden still knew the
		// client was 127.0.0.1 (local profile) on the connection's 2nd message.
		if rs[1].Code != 550 {
			t.Fatalf("second message: %v, want 550 (client data lost?)", rs[1])
		}
		pf.Sink.Wait(t, before+2, 20*time.Second)
		log := d.Log()
		for _, from := range []string{"<a@example.com>", "<b@example.com>", "<c@example.com>"} {
			if !strings.Contains(log, "from="+from) {
				t.Errorf("no summary line for %s", from)
			}
		}
		if n := strings.Count(log, "helo=second.mailwarden.test"); n != 3 {
			t.Errorf("%d summary lines carry the HELO name, want 3", n)
		}
	})

	t.Run("reload applies a new config; tagged mail gets flag and subject prefix", func(t *testing.T) {
		good := d.Config(t)
		defer func() { d.WriteConfig(t, good); d.Reload(t) }()
		d.WriteConfig(t, strings.Replace(good, `action = "reject"`, `action = "score"`, 1))
		d.Reload(t)
		if !strings.Contains(d.Log(), "configuration reloaded") {
			t.Fatalf("reload not applied:\n%s", d.Log())
		}
		before := len(pf.Sink.Messages())
		r := pf.Send(t, "sender@example.com", []string{"rcpt@example.org"}, mail("no date but scored", false))
		if r.Code != 250 {
			t.Fatalf("send: %v", r)
		}
		msgs := pf.Sink.Wait(t, before+1, 20*time.Second)
		got := msgs[len(msgs)-1]
		if f := got.Header("X-Spam-Flag"); f != "YES" {
			t.Errorf("X-Spam-Flag = %q, want YES", f)
		}
		if s := got.Header("Subject"); s != "[SPAM] no date but scored" {
			t.Errorf("Subject = %q", s)
		}
		if st := got.Header("X-Spam-Status"); !strings.HasPrefix(st, "Yes, score=1.0 required=0.5 tests=MISSING_DATE") {
			t.Errorf("X-Spam-Status = %q", st)
		}
		if lv := got.Header("X-Spam-Level"); lv != "*" {
			t.Errorf("X-Spam-Level = %q", lv)
		}
	})

	t.Run("SIGHUP with a broken file keeps working", func(t *testing.T) {
		good := d.Config(t)
		d.WriteConfig(t, good+"\n[spam]\nbogus_key = 1\n")
		d.Reload(t)
		if !strings.Contains(d.Log(), "reload failed") {
			t.Fatalf("broken config not reported:\n%s", d.Log())
		}
		before := len(pf.Sink.Messages())
		r := pf.Send(t, "sender@example.com", []string{"rcpt@example.org"}, mail("after bad reload", true))
		if r.Code != 250 {
			t.Fatalf("send after bad reload: %v", r)
		}
		r = pf.Send(t, "sender@example.com", []string{"rcpt@example.org"}, mail("after bad reload, no date", false))
		if r.Code != 550 {
			t.Fatalf("old config not in force after bad reload: %v", r)
		}
		pf.Sink.Wait(t, before+1, 20*time.Second)
		d.WriteConfig(t, good)
	})

	t.Run("mailwarden stopped: Postfix tempfails and loses nothing", func(t *testing.T) {
		before := len(pf.Sink.Messages())
		d.Stop()
		r := pf.Send(t, "sender@example.com", []string{"rcpt@example.org"}, mail("while down", true))
		if r.Code < 400 || r.Code > 499 {
			t.Fatalf("with the milter down got %v, want 4xx (milter_default_action=tempfail)", r)
		}
		time.Sleep(500 * time.Millisecond)
		if n := len(pf.Sink.Messages()); n != before {
			t.Fatalf("a message reached the sink unfiltered while mailwarden was down")
		}
	})
}
