package spf_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// spfConfig runs the daemon with its resolver on the loopback test server;
// 127.0.0.1 (Postfix's client address) is not a local network, so the
// client is remote and SPF runs. SME SPFRejectPolicy 1: refuse on fail when
// the sender publishes no DMARC policy.
const spfConfig = `
[server]
milter_listen = "{{MILTER}}"
state_dir = "{{STATE}}"
[log]
level = "debug"
[profiles]
local_networks = ["192.0.2.0/24"]
[dns]
servers = ["%s"]
cache_size = 0
[spf]
reject_policy = 1
[load]
enabled = false
[karma]
enabled = false
`

func spfZones(t *testing.T) *dnstest.Server {
	t.Helper()
	s := dnstest.New(t)
	s.SetNegativeTTL(0)
	s.AddRR(t,
		"mailwarden.test. 0 IN SOA ns. host. 1 3600 600 86400 0",
		"client.mailwarden.test. 0 IN A 127.0.0.1",
		`client.mailwarden.test. 0 IN TXT "v=spf1 a -all"`,
		"pass.mailwarden.test. 0 IN MX 10 client.mailwarden.test.",
		`pass.mailwarden.test. 0 IN TXT "v=spf1 mx -all"`,
		"fail.mailwarden.test. 0 IN MX 10 mx.fail.mailwarden.test.",
		"mx.fail.mailwarden.test. 0 IN A 192.0.2.25",
		`fail.mailwarden.test. 0 IN TXT "v=spf1 ip4:192.0.2.25 -all"`,
		"dmarc.mailwarden.test. 0 IN MX 10 mx.fail.mailwarden.test.",
		`dmarc.mailwarden.test. 0 IN TXT "v=spf1 ip4:192.0.2.25 -all"`,
		`_dmarc.dmarc.mailwarden.test. 0 IN TXT "v=DMARC1; p=none"`,
	)
	return s
}

func spfMsg(from string) []byte {
	return []byte("From: <" + from + ">\r\nTo: <bob@example.org>\r\nDate: " + time.Now().Format(time.RFC1123Z) +
		"\r\nSubject: spf test\r\nMessage-ID: <" + fmt.Sprint(time.Now().UnixNano()) + "@mailwarden.test>\r\n\r\nHello.\r\n")
}

// TestPostfixSPF drives a private Postfix with mailwarden as its milter:
// an SPF pass is delivered with spf=pass in Authentication-Results; an SPF
// fail from a domain without DMARC is refused (SPFRejectPolicy 1, enforced
// by the DMARC check); an SPF fail from a domain with a DMARC policy is not
// refused by the SPF policy (SME applies SPFRejectPolicy only without DMARC).
func TestPostfixSPF(t *testing.T) {
	testenv.RequireLong(t)
	zones := spfZones(t)
	d := testenv.StartDaemon(t, fmt.Sprintf(spfConfig, zones.Addr()))
	pf := testenv.StartPostfix(t, testenv.PostfixOptions{Milter: d.Milter})
	defer func() {
		if t.Failed() {
			t.Logf("postfix log:\n%s\nmailwarden log:\n%s", pf.Log(), d.Log())
		}
	}()

	pass := pf.Send(t, "alice@pass.mailwarden.test", []string{"bob@example.org"}, spfMsg("alice@pass.mailwarden.test"))
	if pass.Code != 250 {
		t.Fatalf("SPF pass: %v, want delivery", pass)
	}
	got := pf.Sink.Wait(t, 1, 30*time.Second)
	if len(got) != 1 {
		t.Fatalf("sink got %d messages", len(got))
	}
	if raw := string(got[0].Raw); !strings.Contains(raw, "spf=pass") {
		t.Errorf("delivered message lacks spf=pass:\n%s", raw)
	}

	fail := pf.Send(t, "mallory@fail.mailwarden.test", []string{"bob@example.org"}, spfMsg("mallory@fail.mailwarden.test"))
	t.Logf("SPF fail without DMARC: %v", fail)
	if fail.Code/100 != 5 || !strings.Contains(fail.Text, "SPF") {
		t.Errorf("SPF fail without DMARC, SPFRejectPolicy 1: %v, want a 5xx refusal", fail)
	}

	withDMARC := pf.Send(t, "mallory@dmarc.mailwarden.test", []string{"bob@example.org"}, spfMsg("mallory@dmarc.mailwarden.test"))
	if withDMARC.Code != 250 {
		t.Errorf("SPF fail with a DMARC p=none policy: %v, want delivery (SPFRejectPolicy not applied)", withDMARC)
	}
}
