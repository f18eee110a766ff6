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
