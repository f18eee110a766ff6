package envlists

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/envlists/pattern"
)

func mustList(t *testing.T, entries ...string) pattern.List {
	t.Helper()
	l, errs := pattern.ParseList(entries)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return l
}

// probe is a check at the rcpt stage that records whether it ran: it shows
// whether the whitelists made the engine skip the checks after them.
type probe struct{ ran *bool }

func (probe) Name() string                 { return "probe" }
func (probe) Stage() scoring.Stage         { return scoring.StageRcpt }
func (probe) Symbols() []scoring.SymbolDef { return nil }
func (p probe) Run(context.Context, *scoring.Transaction, *scoring.Result) error {
	*p.ran = true
	return nil
}

type session struct {
	ip, helo, from, rcpt string
	profile              scoring.Profile
}

// run drives the engine through every envelope stage as a front-end does and
// returns the rcpt stage's outcome and whether the probe ran.
func run(t *testing.T, cfg Config, s session) (*scoring.Outcome, *scoring.Transaction, bool) {
	t.Helper()
	ran := false
	checks := append(Checks(cfg), probe{&ran})
	e, err := scoring.New(scoring.Options{}, checks, nil)
	if err != nil {
		t.Fatal(err)
	}
	tx := &scoring.Transaction{Profile: s.profile, MailFrom: s.from}
	if tx.Profile == "" {
		tx.Profile = scoring.ProfileRemote
	}
	tx.Client.Addr = netip.MustParseAddr(s.ip)
	tx.Client.HELO = s.helo
	ctx := context.Background()
	for _, st := range []scoring.Stage{scoring.StageConnect, scoring.StageHelo, scoring.StageMail} {
		if o := e.RunStage(ctx, st, tx); o.Forced != nil {
			t.Fatalf("stage %s forced %v", st, o.Forced)
		}
	}
	tx.Rcpt = s.rcpt
	o := e.RunStage(ctx, scoring.StageRcpt, tx)
	return o, tx, ran
}

func TestLists(t *testing.T) {
	cfg := Config{
		WhitelistHosts:   []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")},
		WhitelistHelo:    func() pattern.List { l, _ := pattern.ParseHostList([]string{"*.partner.example"}); return l }(),
		WhitelistSenders: mustList(t, "friend@trusted.example"),
		BadMailFrom:      mustList(t, "@spam.example", "*@*.xyz", "bulk*@"),
		BadRcptTo:        mustList(t, "nobody@example.org", "old-*@example.org"),
		BadMailFromTo:    []pattern.Pair{{From: mustList(t, "@ex.example")[0], To: mustList(t, "boss@example.org")[0]}},
	}
	tests := []struct {
		name      string
		s         session
		code      int    // 0: not refused
		enhanced  string // expected enhanced status
		text      string // part of the reply text
		symbol    string
		whitelist bool
	}{
		{name: "clean", s: session{ip: "198.51.100.7", helo: "mx.clean.example", from: "a@clean.example", rcpt: "bob@example.org"}},
		{name: "badmailfrom domain", s: session{ip: "198.51.100.7", helo: "h.example", from: "x@spam.example", rcpt: "bob@example.org"},
			code: 550, enhanced: "5.7.1", text: "<x@spam.example>: Sender address rejected", symbol: SymBadMailFrom},
		{name: "badmailfrom wildcard", s: session{ip: "198.51.100.7", helo: "h.example", from: "x@a.b.xyz", rcpt: "bob@example.org"},
			code: 550, enhanced: "5.7.1", symbol: SymBadMailFrom},
		{name: "badmailfrom local part", s: session{ip: "198.51.100.7", helo: "h.example", from: "bulkmail@any.example", rcpt: "bob@example.org"},
			code: 550, symbol: SymBadMailFrom},
		{name: "null sender not matched", s: session{ip: "198.51.100.7", helo: "h.example", from: "", rcpt: "bob@example.org"}},
		{name: "badrcptto", s: session{ip: "198.51.100.7", helo: "h.example", from: "a@clean.example", rcpt: "NOBODY@example.org"},
			code: 550, enhanced: "5.7.1", text: "Recipient address rejected", symbol: SymBadRcptTo},
		{name: "badrcptto wildcard", s: session{ip: "198.51.100.7", helo: "h.example", from: "a@clean.example", rcpt: "old-sales@example.org"},
			code: 550, symbol: SymBadRcptTo},
		{name: "badmailfromto pair", s: session{ip: "198.51.100.7", helo: "h.example", from: "ex@ex.example", rcpt: "boss@example.org"},
			code: 550, enhanced: "5.1.1", text: "User unknown", symbol: SymBadMailFromTo},
		{name: "badmailfromto other rcpt", s: session{ip: "198.51.100.7", helo: "h.example", from: "ex@ex.example", rcpt: "bob@example.org"}},
		{name: "whitelisthosts v4 skips badmailfrom", s: session{ip: "192.0.2.55", helo: "h.example", from: "x@spam.example", rcpt: "bob@example.org"},
			whitelist: true},
		{name: "whitelisthosts v6", s: session{ip: "2001:db8::25", helo: "h.example", from: "x@spam.example", rcpt: "bob@example.org"},
			whitelist: true},
		{name: "whitelisthosts v4-mapped v6", s: session{ip: "::ffff:192.0.2.9", helo: "h.example", from: "x@spam.example", rcpt: "bob@example.org"},
			whitelist: true},
		{name: "whitelisthelo", s: session{ip: "198.51.100.7", helo: "MX1.partner.example", from: "x@spam.example", rcpt: "nobody@example.org"},
			whitelist: true},
		{name: "whitelistsenders", s: session{ip: "198.51.100.7", helo: "h.example", from: "friend@trusted.example", rcpt: "nobody@example.org"},
			whitelist: true},
		{name: "local profile unaffected", s: session{ip: "198.51.100.7", helo: "h.example", from: "x@spam.example", rcpt: "bob@example.org", profile: scoring.ProfileLocal}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, tx, ran := run(t, cfg, tt.s)
			if tt.code == 0 {
				if o.Forced != nil {
					t.Fatalf("refused: %+v", o.Forced)
				}
			} else {
				if o.Forced == nil || o.Forced.Action != scoring.Reject {
					t.Fatalf("not refused; outcome %+v", o)
				}
				rp := o.Forced.Reply
				if rp.Code != tt.code || (tt.enhanced != "" && rp.Enhanced != tt.enhanced) || !strings.Contains(rp.Text, tt.text) {
					t.Errorf("reply %q, want %d %s ...%s...", rp.String(), tt.code, tt.enhanced, tt.text)
				}
			}
			if tt.symbol != "" && !hasSymbol(o.Symbols, tt.symbol) {
				t.Errorf("symbols %v lack %s", o.Symbols, tt.symbol)
			}
			if tx.Whitelisted() != tt.whitelist {
				t.Errorf("whitelisted = %v, want %v", tx.Whitelisted(), tt.whitelist)
			}
			if ran == tt.whitelist {
				t.Errorf("later check ran = %v with whitelisted = %v", ran, tt.whitelist)
			}
		})
	}
}

func hasSymbol(syms []scoring.Symbol, name string) bool {
	for _, s := range syms {
		if s.Name == name {
			return true
		}
	}
	return false
}

func TestChecksOnlyForNonEmptyLists(t *testing.T) {
	if n := len(Checks(Config{})); n != 0 {
		t.Fatalf("empty config gave %d checks", n)
	}
	got := Checks(Config{BadRcptTo: mustList(t, "a@b")})
	if len(got) != 1 || got[0].Name() != "badrcptto" {
		t.Fatalf("checks = %v", got)
	}
}

// TestPolicyWording: through the policy server Postfix prefixes
// "<rcpt>: Recipient address rejected: " itself; the milter shows our text as is.
func TestPolicyWording(t *testing.T) {
	c := &BadMailFromTo{Pairs: []pattern.Pair{{From: mustList(t, "@ex.example")[0], To: mustList(t, "boss@")[0]}}}
	for front, want := range map[string]string{
		"milter": "<boss@example.org>: Recipient address rejected: User unknown",
		"policy": "User unknown",
	} {
		t.Run(front, func(t *testing.T) {
			e, err := scoring.New(scoring.Options{}, []scoring.Check{c}, nil)
			if err != nil {
				t.Fatal(err)
			}
			tx := &scoring.Transaction{Front: front, Profile: scoring.ProfileRemote, MailFrom: "x@ex.example", Rcpt: "boss@example.org"}
			o := e.RunStage(context.Background(), scoring.StageRcpt, tx)
			if o.Forced == nil || o.Forced.Reply.Text != want || o.Forced.Reply.Enhanced != "5.1.1" {
				t.Fatalf("forced %+v, want text %q", o.Forced, want)
			}
		})
	}
}
