package app

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

// TestDisclaimerKnowsSigningDomains: the domains we sign for are internal to
// the disclaimer too, so mail between their users gets none even when
// [disclaimer] local_domains is left empty; mail leaving them does.
func TestDisclaimerKnowsSigningDomains(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeTemp(t, dir, "cfg.toml", fmt.Sprintf(`
[server]
state_dir = %q
[virus]
enabled = false
[disclaimer]
enabled = true
text = "Confidential."
[dkim]
keys_dir = %q
domains = ["example.com"]
`, dir, dir))
	_, e, err := LoadEngine(cfgPath, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		rcpt string
		want bool
	}{
		{"bob@example.com", false},
		{"someone@other.example", true},
	} {
		msg, err := message.Parse(strings.NewReader("From: alice@example.com\r\nTo: "+tt.rcpt+"\r\nSubject: hi\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\nHello.\r\n"), 0, "")
		if err != nil {
			t.Fatal(err)
		}
		env := Envelope{MailFrom: "alice@example.com", Rcpts: []string{tt.rcpt},
			Client: scoring.Client{Addr: netip.MustParseAddr("127.0.0.1"), Name: "localhost"}}
		_, _, ch := Judge(context.Background(), e, env, msg)
		if got := ch.NewBody != nil; got != tt.want {
			t.Errorf("to %s: disclaimer added = %v, want %v", tt.rcpt, got, tt.want)
		}
		msg.Close()
	}
}
