package app

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/scoring"
)

func envelopeEngine(t *testing.T, text string, deps Deps) (*scoring.Engine, error) {
	t.Helper()
	cfg, err := config.Parse("test.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return BuildEngine(cfg, deps)
}

// TestEnvelopeWiring: the envelope checks come first in their stages, in
// the documented order; disabled ones are listed but run for no profile, so
// [scores] may still name their symbols (and `config check`, which has no
// resolver, accepts them).
func TestEnvelopeWiring(t *testing.T) {
	e, err := envelopeEngine(t, "[envelope.lists]\nwhitelisthosts = [\"192.0.2.0/24\"]\nbadmailfrom = [\"@spam.example\"]\n[envelope.internal]\nrecipients = [\"everyone@\"]\n[scores]\nRBL_LISTED = 5.0\nURIBL_LISTED = 2.0\n", Deps{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range e.Checks() {
		names = append(names, c.Name())
	}
	got := strings.Join(names, ",")
	want := "whitelisthosts,dnsbl,rhsbl,helo,resolvable_fromhost,badmailfrom,internal_recipients,uribl"
	if !strings.HasPrefix(got, want) {
		t.Errorf("checks %s, want them to start with %s", got, want)
	}
	if w, _ := e.Weight("RBL_LISTED"); w != 5 {
		t.Errorf("RBL_LISTED weight %v", w)
	}
}

// TestEnvelopeEngine runs the wired checks through the engine's stages as
// a front-end does, against the loopback DNS server.
func TestEnvelopeEngine(t *testing.T) {
	dns := dnstest.New(t)
	dns.AddRR(t,
		"bl.example. 60 IN SOA ns. host. 1 3600 600 86400 60",
		"9.113.0.203.bl.example. 60 IN A 127.0.0.2",
		"good.example. 60 IN MX 10 mx.good.example.",
		"spam.example. 60 IN A 192.0.2.66",
	)
	text := `
[envelope.dnsbl]
enabled = true
zones = ["bl.example"]
[envelope.lists]
whitelisthosts = ["192.0.2.0/24"]
badmailfrom = ["@spam.example"]
[envelope.internal]
recipients = ["everyone@"]
`
	e, err := envelopeEngine(t, text, Deps{Resolver: dns.Resolver(t)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ip, helo, from, rcpt string
		reply                      string // "" = accepted
	}{
		{"clean", "198.51.100.1", "mx.good.example", "a@good.example", "bob@example.org", ""},
		{"listed client", "203.0.113.9", "mx.good.example", "a@good.example", "bob@example.org", "554 5.7.1 Blocked by bl.example: client IP 203.0.113.9 is listed (listed 127.0.0.2)"},
		{"listed client to postmaster", "203.0.113.9", "mx.good.example", "a@good.example", "postmaster@example.org", ""},
		{"badmailfrom", "198.51.100.1", "mx.good.example", "x@spam.example", "bob@example.org", "550 5.7.1 <x@spam.example>: Sender address rejected: not accepted here"},
		{"unresolvable sender", "198.51.100.1", "mx.good.example", "x@nowhere.example", "bob@example.org", "550 5.1.8 <x@nowhere.example>: Sender address rejected: Domain not found"},
		{"forged helo", "198.51.100.1", "localhost", "a@good.example", "bob@example.org", "550 5.7.1 HELO/EHLO localhost refused: you are not localhost"},
		{"whitelisted host skips badmailfrom", "192.0.2.7", "localhost", "x@spam.example", "bob@example.org", ""},
		{"whitelisted host still not to internal list", "192.0.2.7", "mx.good.example", "a@good.example", "everyone@example.org", "550 5.7.1 <everyone@example.org>: Recipient address rejected: accepts mail from internal senders only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := &scoring.Transaction{Profile: scoring.ProfileRemote, MailFrom: tt.from}
			tx.Client.Addr = netip.MustParseAddr(tt.ip)
			tx.Client.HELO = tt.helo
			ctx := context.Background()
			for _, st := range []scoring.Stage{scoring.StageConnect, scoring.StageHelo, scoring.StageMail} {
				e.RunStage(ctx, st, tx)
			}
			tx.Rcpt = tt.rcpt
			o := e.RunStage(ctx, scoring.StageRcpt, tx)
			got := ""
			if o.Forced != nil {
				got = o.Forced.Reply.String()
			}
			if got != tt.reply {
				t.Errorf("reply %q, want %q (symbols %v)", got, tt.reply, o.Symbols)
			}
		})
	}
}
