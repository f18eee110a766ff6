package config

import (
	"strings"
	"testing"
)

// TestOutboundSections covers the [dkim], [disclaimer] and [bcc] sections:
// defaults load, and each bad value is reported with its key and line.
func TestOutboundSections(t *testing.T) {
	if _, err := Parse("ok.toml", []byte("[dkim]\ndomains = [\"example.com\"]\n[dkim.senders]\nalice = [\"example.com\", \"bob@example.org\"]\n[dkim.domain.\"example.org\"]\nsigning = false\n[disclaimer]\nenabled = true\ntext = \"Confidential.\"\n[bcc]\nenabled = true\nmailbox = \"archive@example.com\"\nmode = \"cc\"\nscope = \"outgoing\"\n")); err != nil {
		t.Fatalf("valid file refused: %v", err)
	}
	tests := []struct {
		name, text, want string
	}{
		{"relative keys dir", "[dkim]\nkeys_dir = \"keys\"\n", "ok.toml:2: dkim.keys_dir: path \"keys\" must be absolute"},
		{"headers without From", "[dkim]\nheaders = [\"Subject\"]\n", "dkim.headers: must include From"},
		{"bad unlisted", "[dkim]\nunlisted_users = \"all\"\n", "dkim.unlisted_users: invalid value \"all\""},
		{"bad sender", "[dkim.senders]\nalice = [\"not a domain\"]\n", "dkim.senders.alice"},
		{"selector without key", "[dkim.domain.\"example.com\"]\nselector = \"s1\"\n", "selector and key_file go together"},
		{"bad dmarc policy", "[dkim]\ndmarc_policy = \"block\"\n", "dkim.dmarc_policy"},
		{"bad spf", "[dkim]\nspf = \"mx a -all\"\n", "dkim.spf"},
		{"disclaimer without text", "[disclaimer]\nenabled = true\n", "disclaimer.enabled"},
		{"disclaimer bad domain", "[disclaimer.domains]\n\"ex ample\" = \"x\"\n", "is not a domain name"},
		{"bcc without mailbox", "[bcc]\nenabled = true\n", "bcc.mailbox"},
		{"bcc bad mode", "[bcc]\nmode = \"copy\"\n", "ok.toml:2: bcc.mode"},
		{"bcc bad scope", "[bcc]\nscope = \"incoming\"\n", "bcc.scope"},
		{"unknown key", "[dkim]\nselector = \"x\"\n", "dkim.selector: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("ok.toml", []byte(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}
