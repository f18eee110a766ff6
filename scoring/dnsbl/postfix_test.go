package dnsbl_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// envelopeConfig is the daemon's config for the end-to-end tests: its DNS
// lists and sender checks resolve against the loopback test server, and
// 127.0.0.1 (Postfix's client address) is not a local network, so the
// client is remote.
const envelopeConfig = `
[server]
milter_listen = "{{MILTER}}"
policy_listen = "{{POLICY}}"
state_dir = "{{STATE}}"
[log]
level = "debug"
[profiles]
local_networks = ["192.0.2.0/24"]
[dns]
servers = ["%s"]
cache_size = 0
[envelope.dnsbl]
enabled = true
zones = ["bl.mailwarden.test"]
budget = "2s"
[envelope.uribl]
enabled = true
zones = ["uri.mailwarden.test"]
mode = "reject"
[envelope.lists]
badmailfrom = ["@spam.mailwarden.test"]
[envelope.resolvable_fromhost]
enabled = true
# Other engineers' stateful checks stay out of this test's way: the shared
# test machine's load is high, and our refusals would earn 127.0.0.1 karma.
[load]
enabled = false
[karma]
enabled = false
`

func testZones(t *testing.T) *dnstest.Server {
	t.Helper()
	s := dnstest.New(t)
	s.SetNegativeTTL(0)
	s.AddRR(t,
		"mailwarden.test. 0 IN SOA ns. host. 1 3600 600 86400 0",
		"clean.mailwarden.test. 0 IN MX 10 mx.clean.mailwarden.test.",
		"mx.clean.mailwarden.test. 0 IN A 192.0.2.5",
		"spam.mailwarden.test. 0 IN A 192.0.2.6",
		"bl.mailwarden.test. 0 IN SOA ns. host. 1 3600 600 86400 0",
		"uri.mailwarden.test. 0 IN SOA ns. host. 1 3600 600 86400 0",
		"spamlink.example.uri.mailwarden.test. 0 IN A 127.0.0.2",
	)
	return s
}

// listLoopback puts Postfix's client address, 127.0.0.1, on the test list.
func listLoopback(t *testing.T, s *dnstest.Server) {
	t.Helper()
	s.AddRR(t,
		"1.0.0.127.bl.mailwarden.test. 0 IN A 127.0.0.2",
		`1.0.0.127.bl.mailwarden.test. 0 IN TXT "test listing of 127.0.0.1"`,
	)
}

func msg(from string) []byte {
	return []byte("From: <" + from + ">\r\nTo: <bob@example.org>\r\nDate: " + time.Now().Format(time.RFC1123Z) +
		"\r\nSubject: envelope test\r\nMessage-ID: <" + fmt.Sprint(time.Now().UnixNano()) + "@clean.mailwarden.test>\r\n\r\nHello.\r\n")
}

// TestPostfixEnvelope drives a private Postfix through both front-ends: with
// check_policy_service pointing at mailwarden's policy server, and with
// mailwarden as its milter. Either way a bad sender and a listed client are
// refused at RCPT with the configured text, and clean mail is delivered.
func TestPostfixEnvelope(t *testing.T) {
	testenv.RequireLong(t)
	for _, front := range []string{"policy", "milter"} {
		t.Run(front, func(t *testing.T) {
			zones := testZones(t)
			d := testenv.StartDaemon(t, fmt.Sprintf(envelopeConfig, zones.Addr()))
			opts := testenv.PostfixOptions{}
			if front == "policy" {
				opts.PolicyService = d.Policy
			} else {
				opts.Milter = d.Milter
			}
			pf := testenv.StartPostfix(t, opts)
			defer func() {
				if t.Failed() {
					t.Logf("postfix log:\n%s", pf.Log())
				}
			}()

			clean := pf.Send(t, "alice@clean.mailwarden.test", []string{"bob@example.org"}, msg("alice@clean.mailwarden.test"))
			if clean.Code != 250 {
				t.Fatalf("clean mail: %v, want delivery", clean)
			}
			got := pf.Sink.Wait(t, 1, 20*time.Second)
			if len(got) != 1 {
				t.Fatalf("sink got %d messages", len(got))
			}

			// The milter's reply code reaches the client as is; a policy
			// REJECT gets Postfix's access_map_reject_code (554) and its
			// "Recipient address rejected:" prefix around our text.
			code := 550
			if front == "policy" {
				code = 554
			}
			bad := pf.Send(t, "x@spam.mailwarden.test", []string{"bob@example.org"}, msg("x@spam.mailwarden.test"))
			if bad.Stage != "rcpt" || bad.Code != code || !strings.Contains(bad.Text, "<x@spam.mailwarden.test>: Sender address rejected: not accepted here") {
				t.Errorf("badmailfrom: %v, want %d at rcpt with the sender text", bad, code)
			}

			unres := pf.Send(t, "x@nowhere.mailwarden.test", []string{"bob@example.org"}, msg("x@nowhere.mailwarden.test"))
			if unres.Stage != "rcpt" || unres.Code != code || !strings.Contains(unres.Text, "Sender address rejected: Domain not found") {
				t.Errorf("unresolvable sender: %v, want %d at rcpt", unres, code)
			}

			// URIBL looks at the body: through the milter a listed link is
			// refused at end of data; the policy server never sees a body.
			linked := append(msg("alice@clean.mailwarden.test"), []byte("Offer: https://www.spamlink.example/buy\r\n")...)
			uri := pf.Send(t, "alice@clean.mailwarden.test", []string{"bob@example.org"}, linked)
			if front == "milter" {
				if uri.Stage != "data" || uri.Code != 550 || !strings.Contains(uri.Text, "Blocked by uri.mailwarden.test") {
					t.Errorf("listed link through the milter: %v, want 550 at end of data", uri)
				}
			} else if uri.Code != 250 {
				t.Errorf("listed link through the policy server: %v, want delivery", uri)
			}

			// HELO policy (lenient): an address literal that is not the
			// client's address is forged.
			forged := pf.SendMany(t, "[10.9.9.9]", []testenv.Mail{{From: "alice@clean.mailwarden.test", Rcpts: []string{"bob@example.org"}, Data: msg("alice@clean.mailwarden.test")}})[0]
			if forged.Stage != "rcpt" || forged.Code != code || !strings.Contains(forged.Text, "HELO/EHLO [10.9.9.9] refused: address 10.9.9.9 is not yours (127.0.0.1)") {
				t.Errorf("forged HELO: %v, want %d at rcpt", forged, code)
			}

			listLoopback(t, zones)
			listed := pf.Send(t, "alice@clean.mailwarden.test", []string{"bob@example.org"}, msg("alice@clean.mailwarden.test"))
			if listed.Stage != "rcpt" || listed.Code != 554 || !strings.Contains(listed.Text, "Blocked by bl.mailwarden.test: test listing of 127.0.0.1") {
				t.Errorf("listed client: %v, want 5xx at rcpt naming the list", listed)
			}
			// postmaster@ is exempt from the DNS list.
			pm := pf.Send(t, "alice@clean.mailwarden.test", []string{"postmaster@example.org"}, msg("alice@clean.mailwarden.test"))
			if pm.Code != 250 {
				t.Errorf("listed client to postmaster: %v, want delivery", pm)
			}
		})
	}
}
