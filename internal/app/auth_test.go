package app

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

// TestAuthWiring runs the wired SPF, DKIM and DMARC checks and the
// Authentication-Results modifier through every stage (app.Judge) against
// the loopback DNS server: SME's SPFRejectPolicy applies only when the
// sender's domain has no DMARC record, and the header reports what was found.
func TestAuthWiring(t *testing.T) {
	dns := dnstest.New(t)
	dns.AddRR(t,
		`nodmarc.example. TXT "v=spf1 -all"`,
		`monitored.example. TXT "v=spf1 -all"`,
		`_dmarc.monitored.example. TXT "v=DMARC1; p=none"`,
		`good.example. TXT "v=spf1 ip4:192.0.2.1 -all"`,
		`_dmarc.good.example. TXT "v=DMARC1; p=reject"`,
		`_dmarc.forged.example. TXT "v=DMARC1; p=reject"`,
	)
	tests := []struct {
		name    string
		domain  string
		action  scoring.Action
		symbols []string
		ar      []string
	}{
		{"no DMARC: SPF reject policy enforced", "nodmarc.example", scoring.Reject, []string{"SPF_POLICY_REJECT", "DMARC_NA"}, nil},
		{"DMARC p=none: SPF policy not applied", "monitored.example", scoring.Accept, []string{"DMARC_FAIL_NONE"},
			[]string{"spf=fail smtp.mailfrom=a@monitored.example", "dmarc=fail", "header.from=monitored.example"}},
		{"aligned SPF pass", "good.example", scoring.Accept, []string{"DMARC_PASS"},
			[]string{"mx.mailwarden.test;", "spf=pass", "dkim=none", "dmarc=pass (p=reject sp=reject dis=none) header.from=good.example"}},
		{"p=reject without SPF record", "forged.example", scoring.Reject, []string{"DMARC_FAIL_REJECT"}, nil},
	}
	cfgText := "[server]\nhostname = \"mx.mailwarden.test\"\n[spf]\nreject_policy = 1\n[dmarc]\nreporting = false\n"
	cfg, err := config.Parse("test.toml", []byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	e, err := BuildEngine(cfg, Deps{Resolver: dns.Resolver(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := fmt.Sprintf("From: a@%s\r\nTo: r@example.org\r\nSubject: s\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@%[1]s>\r\n\r\nhi\r\n", tc.domain)
			msg, err := message.Parse(bytes.NewReader([]byte(raw)), 1<<20, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			_, v, ch := Judge(context.Background(), e, Envelope{
				Client:   scoring.Client{Addr: netip.MustParseAddr("192.0.2.1"), Name: "mail." + tc.domain, HELO: "mail." + tc.domain},
				MailFrom: "a@" + tc.domain, Rcpts: []string{"r@example.org"},
			}, msg)
			if v.Action != tc.action {
				t.Errorf("action %s (%s), want %s; symbols %v", v.Action, v.Reason, tc.action, v.SymbolNames())
			}
			for _, s := range tc.symbols {
				if !slices.Contains(v.SymbolNames(), s) {
					t.Errorf("symbols %v lack %s", v.SymbolNames(), s)
				}
			}
			if tc.ar == nil {
				return
			}
			var ar string
			for _, h := range ch.Headers {
				if h.Name == "Authentication-Results" {
					ar = h.Value
				}
			}
			for _, want := range tc.ar {
				if !strings.Contains(ar, want) {
					t.Errorf("Authentication-Results %q lacks %q", ar, want)
				}
			}
		})
	}
}
