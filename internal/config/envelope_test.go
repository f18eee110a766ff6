package config

import (
	"strings"
	"testing"
)

func TestEnvelopeValidation(t *testing.T) {
	tests := []struct {
		name, toml, want string
	}{
		{"bad dnsbl mode", "[envelope.dnsbl]\nmode = \"block\"\n", "x.toml:2: envelope.dnsbl.mode: invalid mode \"block\""},
		{"enabled without zones", "[envelope.rhsbl]\nenabled = true\nzones = []\n", "envelope.rhsbl.zones: enabled with no zones"},
		{"bad zone", "[envelope.dnsbl]\nzones = [\"not a zone\"]\n", "envelope.dnsbl.zones: invalid zone"},
		{"budget too long", "[envelope.uribl]\nbudget = \"40s\"\n", "envelope.uribl.budget: must be between"},
		{"zone settings for unlisted zone", "[envelope.dnsbl]\nzones = [\"zen.spamhaus.org\"]\n[envelope.dnsbl.zone.\"bl.example.org\"]\nmode = \"score\"\n", "x.toml:3: envelope.dnsbl.zone.bl.example.org: settings for zone"},
		{"bad return code", "[envelope.dnsbl.zone.\"zen.spamhaus.org\"]\ncodes = { \"127.0.0.x\" = \"SBL\" }\n", "envelope.dnsbl.zone.zen.spamhaus.org.codes: return code \"127.0.0.x\""},
		{"budget set over check timeout", "[engine]\ncheck_timeout = \"3s\"\n[envelope.dnsbl]\nbudget = \"4s\"\n", "envelope.dnsbl.budget: budget 4s must be shorter than engine.check_timeout 3s"},
		{"helo policy", "[envelope.helo]\npolicy = \"paranoid\"\n", "envelope.helo.policy: invalid policy \"paranoid\""},
		{"badmailfrom pattern", "[envelope.lists]\nbadmailfrom = [\"ok@example.com\", \"no-at-sign\"]\n", "x.toml:2: envelope.lists.badmailfrom: entry 2: pattern \"no-at-sign\" has no '@'"},
		{"badmailfromto pair", "[envelope.lists]\nbadmailfromto = [[\"a@b\"]]\n", "envelope.lists.badmailfromto: entry 1: want a [sender, recipient] pair"},
		{"whitelisthosts", "[envelope.lists]\nwhitelisthosts = [\"192.0.2.0/33\"]\n", "envelope.lists.whitelisthosts: invalid network"},
		{"internal", "[envelope.internal]\nrecipients = [\"a@b@c\"]\n", "envelope.internal.recipients: entry 1"},
		{"unknown key with SME hint", "[envelope.dnsbl]\nrbllist = [\"x.y\"]\n", "envelope.dnsbl.rbllist: unknown key (SME's rbllist is \"envelope.dnsbl.zones\" here)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.toml", []byte(tt.toml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEnvelopeDefaults(t *testing.T) {
	cfg, err := Parse("x.toml", []byte("[envelope.dnsbl]\nenabled = true\n[envelope.dnsbl.zone.\"zen.spamhaus.org\"]\nweight = 2.0\nignore = [\"127.0.0.10\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Envelope
	if !e.DNSBL.Enabled || e.DNSBL.Mode != "reject" || len(e.DNSBL.Zones) != 1 || e.HELO.Policy != "lenient" || !e.ResolvableFromHost.Enabled {
		t.Errorf("defaults not applied: %+v", e)
	}
	if z := e.DNSBL.Zone["zen.spamhaus.org"]; z.Weight == nil || *z.Weight != 2 || len(z.Ignore) != 1 {
		t.Errorf("zone settings %+v", z)
	}
}

func TestHostPrefixes(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "192.168.1.", want: "192.168.1.0/24"},
		{in: "10.", want: "10.0.0.0/8"},
		{in: "172.16.5.0/24", want: "172.16.5.0/24"},
		{in: "192.0.2.7", want: "192.0.2.7/32"},
		{in: "2001:db8::/32", want: "2001:db8::/32"},
		{in: "300.1.", bad: true},
		{in: "1.2.3.4.", bad: true},
		{in: "nonsense", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ps, err := HostPrefixes([]string{tt.in})
			if tt.bad {
				if err == nil {
					t.Fatalf("HostPrefixes(%q) = %v, want an error", tt.in, ps)
				}
				return
			}
			if err != nil || len(ps) != 1 || ps[0].String() != tt.want {
				t.Fatalf("HostPrefixes(%q) = %v, %v; want %s", tt.in, ps, err, tt.want)
			}
		})
	}
}

func TestDefaultBudgetUnderShortCheckTimeout(t *testing.T) {
	// A short check timeout with default list budgets is not an error: the
	// budgets are capped when the engine is built.
	// (Other sections may object to the short timeout; ours must not.)
	if _, err := Parse("x.toml", []byte("[engine]\ncheck_timeout = \"3s\"\n")); err != nil && strings.Contains(err.Error(), "envelope") {
		t.Fatal(err)
	}
}
