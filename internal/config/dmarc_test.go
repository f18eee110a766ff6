package config

import (
	"strings"
	"testing"
)

func TestDMARCSection(t *testing.T) {
	tests := []struct {
		name, toml, wantErr string
	}{
		{"defaults", "", ""},
		{"all keys", "[dmarc]\nenabled = true\nreject = false\nquarantine_action = \"tag\"\nprofiles = [\"remote\"]\nauthserv_id = \"mx.example.org\"\n" +
			"reporting = true\nreport_interval = \"24h\"\nreport_org_name = \"Example\"\nreport_email = \"dmarc@example.org\"\nreport_smtp = \"127.0.0.1:25\"\nreport_retention = \"72h\"\n", ""},
		{"bad quarantine action", "[dmarc]\n\nquarantine_action = \"hold\"\n", "x.toml:3: dmarc.quarantine_action: invalid action"},
		{"bad profile", "[dmarc]\nprofiles = [\"everyone\"]\n", "x.toml:2: dmarc.profiles: unknown profile"},
		{"bad authserv-id", "[dmarc]\nauthserv_id = \"mx; evil\"\n", "x.toml:2: dmarc.authserv_id"},
		{"short interval", "[dmarc]\nreport_interval = \"5m\"\n", "x.toml:2: dmarc.report_interval"},
		{"retention below interval", "[dmarc]\nreport_retention = \"2h\"\n", "x.toml:2: dmarc.report_retention"},
		{"bad report email", "[dmarc]\nreport_email = \"DMARC <d@example.org>\"\n", "x.toml:2: dmarc.report_email"},
		{"bad smtp", "[dmarc]\nreport_smtp = \"localhost\"\n", "x.toml:2: dmarc.report_smtp"},
		{"missing psl", "[dmarc]\npsl_file = \"/nonexistent/psl.dat\"\n", "x.toml:2: dmarc.psl_file"},
		{"unknown key with SME name", "[dmarc]\nDMARCReject = true\n", "dmarc.DMARCReject: unknown key (SME's DMARCReject is \"dmarc.reject\" here)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("x.toml", []byte(tc.toml))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.name == "defaults" && (!cfg.DMARC.Reject || !cfg.DMARC.Reporting || cfg.EffectiveAuthservID() == "") {
					t.Errorf("defaults: %+v authserv-id %q", cfg.DMARC, cfg.EffectiveAuthservID())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestAuthservID(t *testing.T) {
	cfg := Defaults()
	cfg.Server.Hostname = "mx.example.org"
	if got := cfg.EffectiveAuthservID(); got != "mx.example.org" {
		t.Errorf("default authserv-id %q", got)
	}
	cfg.DMARC.AuthservID = "none"
	if got := cfg.EffectiveAuthservID(); got != "" {
		t.Errorf("none: %q", got)
	}
	org, email := cfg.EffectiveReportIdentity()
	if org != "mx.example.org" || email != "noreply-dmarc@mx.example.org" {
		t.Errorf("report identity %q %q", org, email)
	}
}
