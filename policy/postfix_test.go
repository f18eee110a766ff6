package policy_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// The end-to-end test: a private Postfix whose smtpd_recipient_restrictions
// say `check_policy_service inet:127.0.0.1:PORT`, a real mailwarden process
// serving that port, and a loopback DNS server carrying the test DNSBL zone.
// Postfix's client is always 127.0.0.1, treated as remote here
// (local_networks = []); the DNSBL entry for it is added and removed
// between messages (the resolver cache is off).
const policyE2EConfig = `
[server]
policy_listen = "{{POLICY}}"
state_dir = "{{STATE}}"
[profiles]
local_networks = []
[dns]
servers = ["%s"]
cache_size = 0
[envelope.dnsbl]
enabled = true
zones = ["bl.mailwarden.test"]
mode = "reject"
budget = "3s"
[envelope.lists]
badmailfrom = ["spammer@bad.example"]
[karma]
enabled = true
negative = 2
`

func mail(subject string) []byte {
	return fmt.Appendf(nil, "From: sender@example.com\r\nTo: rcpt@example.org\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n"+
		"Subject: %s\r\nMessage-ID: <%d@example.com>\r\n\r\nHello.\r\n", subject, time.Now().UnixNano())
}

func TestPostfixPolicyEndToEnd(t *testing.T) {
	dns := dnstest.New(t)
	// Sender domains resolve (SME resolvable_fromhost is on by default).
	dns.AddRR(t, "example.com. 60 IN A 192.0.2.1", "bad.example. 60 IN A 192.0.2.2")
	d := testenv.StartDaemon(t, fmt.Sprintf(policyE2EConfig, dns.Addr()))
	pf := testenv.StartPostfix(t, testenv.PostfixOptions{PolicyService: d.Policy})
	const listed = "1.0.0.127.bl.mailwarden.test." // 127.0.0.1 reversed

	steps := []struct {
		name      string
		listed    bool
		from      string
		rcpts     []string
		wantCode  int
		wantStage string
		wantText  string
		delivered bool
	}{
		{"clean mail is accepted", false, "alice@example.com", []string{"bob@example.org", "carol@example.org"}, 250, "done", "", true},
		{"bad sender refused at RCPT", false, "spammer@bad.example", []string{"bob@example.org"}, 554, "rcpt",
			"<spammer@bad.example>: Sender address rejected: not accepted here", false},
		{"listed client refused at RCPT naming the list", true, "alice@example.com", []string{"bob@example.org"}, 554, "rcpt",
			"Blocked by bl.mailwarden.test: listed for testing", false},
		// Two refusals, no nice mail seen through the policy path:
		// naughty - nice = 2 >= KarmaNegative, so the client is in the
		// penalty box even though it is no longer listed.
		{"karma penalty after two naughty messages", false, "alice@example.com", []string{"bob@example.org"}, 554, "rcpt",
			"You were naughty", false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.listed {
				dns.AddRR(t, listed+" 60 IN A 127.0.0.2", listed+" 60 IN TXT \"listed for testing\"")
			} else {
				dns.Remove(listed, 0)
			}
			before := len(pf.Sink.Messages())
			r := pf.Send(t, st.from, st.rcpts, mail(st.name))
			// Postfix answers REJECT with access_map_reject_code (554), our
			// enhanced code, its "Recipient address rejected:" and our text.
			if r.Code != st.wantCode || r.Stage != st.wantStage || !strings.Contains(r.Text, st.wantText) ||
				(st.wantCode >= 500 && !strings.HasPrefix(r.Text, "5.7.1 ")) {
				t.Fatalf("got %v, want %s: %d %q\npostfix log:\n%s", r, st.wantStage, st.wantCode, st.wantText, pf.Log())
			}
			if strings.Contains(r.Text, "action=") {
				t.Fatalf("policy protocol leaked into the SMTP reply: %q", r.Text)
			}
			if st.delivered {
				msgs := pf.Sink.Wait(t, before+1, 20*time.Second)
				if got := msgs[len(msgs)-1].Rcpts; len(got) != len(st.rcpts) {
					t.Fatalf("sink got recipients %v, want %v", got, st.rcpts)
				}
			}
		})
	}
	log := d.Log()
	if !strings.Contains(log, "policy refusal") || !strings.Contains(log, "karma penalty box") {
		t.Errorf("daemon log lacks the refusal / penalty lines:\n%s", log)
	}
}

// TestPostfixGreylisting: DEFER_IF_PERMIT through a real Postfix, then the
// retry after the delay passes.
func TestPostfixGreylisting(t *testing.T) {
	dns := dnstest.New(t)
	dns.AddRR(t, "example.com. 60 IN A 192.0.2.1")
	d := testenv.StartDaemon(t, fmt.Sprintf(`
[server]
policy_listen = "{{POLICY}}"
state_dir = "{{STATE}}"
[profiles]
local_networks = []
[dns]
servers = ["%s"]
[greylist]
enabled = true
delay = "2s"
retry_window = "1h"
`, dns.Addr()))
	pf := testenv.StartPostfix(t, testenv.PostfixOptions{PolicyService: d.Policy})
	send := func(rcpt string) testenv.SendResult {
		return pf.Send(t, "alice@example.com", []string{rcpt}, mail("greylist "+rcpt))
	}
	steps := []struct {
		name  string
		sleep time.Duration
		rcpt  string
		code  int
	}{
		{"first attempt deferred", 0, "bob@example.org", 450},
		{"immediate retry deferred", 0, "bob@example.org", 450},
		{"retry after the delay accepted", 2500 * time.Millisecond, "bob@example.org", 250},
		{"known triplet accepted at once", 0, "bob@example.org", 250},
		{"new recipient deferred", 0, "carol@example.org", 450},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			time.Sleep(st.sleep)
			r := send(st.rcpt)
			if r.Code != st.code {
				t.Fatalf("got %v, want %d\n%s", r, st.code, pf.Log())
			}
			if r.Code == 450 && (r.Stage != "rcpt" || !strings.Contains(r.Text, "4.7.1") || !strings.Contains(r.Text, "Greylisted, please try again in")) {
				t.Fatalf("deferral reply %v", r)
			}
		})
	}
}

// TestPostfixRateLimit: a local sender over its hourly message limit is
// deferred at RCPT, loudly; other senders are not.
func TestPostfixRateLimit(t *testing.T) {
	// With the milter too, Postfix asks both front-ends about every
	// recipient (its restrictions first, then the milter): a message must
	// still count once.
	for _, withMilter := range []bool{false, true} {
		name := "policy only"
		if withMilter {
			name = "policy and milter"
		}
		t.Run(name, func(t *testing.T) {
			d := testenv.StartDaemon(t, `
[server]
policy_listen = "{{POLICY}}"
state_dir = "{{STATE}}"
[profiles]
local_networks = ["127.0.0.0/8"]
[rate_limit]
enabled = true
messages_per_hour = 2
recipients_per_hour = 0
`)
			o := testenv.PostfixOptions{PolicyService: d.Policy}
			if withMilter {
				o.Milter = d.Milter
			}
			pf := testenv.StartPostfix(t, o)
			steps := []struct {
				from string
				code int
			}{
				{"www-data@example.com", 250},
				{"www-data@example.com", 250},
				{"www-data@example.com", 450},
				{"www-data@example.com", 450},
				{"alice@example.com", 250},
			}
			for i, st := range steps {
				t.Run(fmt.Sprintf("%d_%s", i+1, st.from), func(t *testing.T) {
					r := pf.Send(t, st.from, []string{"someone@example.org"}, mail(fmt.Sprint("form ", i)))
					if r.Code != st.code {
						t.Fatalf("got %v, want %d\n%s\nmailwarden:\n%s", r, st.code, pf.Log(), d.Log())
					}
					if r.Code == 450 && !strings.Contains(r.Text, "4.7.1 ") {
						t.Fatalf("deferral reply %v", r)
					}
				})
			}
			if log := d.Log(); !strings.Contains(log, "OUTBOUND RATE LIMIT EXCEEDED") || !strings.Contains(log, "account=sender:www-data@example.com") {
				t.Errorf("no loud log line naming the account:\n%s", log)
			}
		})
	}
}
