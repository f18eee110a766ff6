package spf

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwarden/mailwarden/internal/authresult"
	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/resolver"
	"github.com/mailwarden/mailwarden/scoring"
)

func checkZone(t *testing.T) *dnstest.Server {
	t.Helper()
	s := dnstest.New(t)
	s.AddRR(t,
		`pass.example. TXT "v=spf1 ip4:192.0.2.0/24 -all"`,
		`fail.example. TXT "v=spf1 -all exp=why.fail.example"`,
		`why.fail.example. TXT "%{i} is not one of %{d}'s designated mail servers"`,
		`soft.example. TXT "v=spf1 ~all"`,
		`neutral.example. TXT "v=spf1 ?all"`,
		`broken.example. TXT "v=spf1 ip4:192.0.2.300 -all"`,
		`nospf.example. TXT "just some text"`,
		`mx.helo.example. TXT "v=spf1 a -all"`,
		`mx.helo.example. A 192.0.2.7`,
		`badhelo.example. TXT "v=spf1 -all"`,
		`slow.example. TXT "v=spf1 include:slower.example -all"`,
	)
	s.SetRcode("servfail.example", dns.TypeTXT, dns.RcodeServerFailure)
	s.SetDrop("slower.example")
	return s
}

func runCheck(t *testing.T, c *Check, tx *scoring.Transaction) []string {
	t.Helper()
	e, err := scoring.New(scoring.Options{Levels: scoring.Levels{TagLevel: 5}}, []scoring.Check{c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.RunStage(context.Background(), scoring.StageMail, tx)
	return e.Verdict(tx).SymbolNames()
}

func TestCheck(t *testing.T) {
	s := checkZone(t)
	res := s.ResolverWith(t, resolver.Config{Timeout: 600 * time.Millisecond, Attempts: 1})
	tests := []struct {
		name      string
		ip        string
		from      string
		helo      string
		heloCheck bool
		policy    int
		result    authresult.SPFResult
		scope     string
		domain    string
		symbols   []string
		reject    bool
		exp       string
	}{
		{name: "pass", ip: "192.0.2.7", from: "a@pass.example", result: "pass", scope: "mailfrom", domain: "pass.example", symbols: []string{SymPass}},
		{name: "fail with explanation", ip: "198.51.100.1", from: "a@fail.example", policy: 1, result: "fail", scope: "mailfrom", domain: "fail.example",
			symbols: []string{SymFail}, reject: true, exp: "198.51.100.1 is not one of fail.example's designated mail servers"},
		{name: "fail, policy 0 never rejects", ip: "198.51.100.1", from: "a@fail.example", policy: 0, result: "fail", scope: "mailfrom", domain: "fail.example", symbols: []string{SymFail},
			exp: "198.51.100.1 is not one of fail.example's designated mail servers"},
		{name: "softfail policy 1", ip: "198.51.100.1", from: "a@soft.example", policy: 1, result: "softfail", scope: "mailfrom", symbols: []string{SymSoftFail}},
		{name: "softfail policy 2", ip: "198.51.100.1", from: "a@soft.example", policy: 2, result: "softfail", scope: "mailfrom", symbols: []string{SymSoftFail}, reject: true},
		{name: "neutral policy 3", ip: "198.51.100.1", from: "a@neutral.example", policy: 3, result: "neutral", scope: "mailfrom", symbols: []string{SymNeutral}, reject: true},
		{name: "none policy 3", ip: "198.51.100.1", from: "a@nospf.example", policy: 3, result: "none", scope: "mailfrom", symbols: []string{SymNone}},
		{name: "none policy 4", ip: "198.51.100.1", from: "a@nxdomain.example", policy: 4, result: "none", scope: "mailfrom", symbols: []string{SymNone}, reject: true},
		{name: "permerror", ip: "192.0.2.7", from: "a@broken.example", policy: 4, result: "permerror", scope: "mailfrom", symbols: []string{SymPermError}, reject: true},
		{name: "temperror on SERVFAIL", ip: "192.0.2.7", from: "a@servfail.example", policy: 3, result: "temperror", scope: "mailfrom", symbols: []string{SymTempError}},
		{name: "temperror on timeout", ip: "192.0.2.7", from: "a@slow.example", result: "temperror", scope: "mailfrom", symbols: []string{SymTempError}},
		{name: "helo check too", ip: "192.0.2.7", from: "a@pass.example", helo: "mx.helo.example", heloCheck: true, result: "pass", scope: "mailfrom",
			symbols: []string{SymPass, SymHELOPass}},
		{name: "helo fail, mailfrom pass", ip: "192.0.2.7", from: "a@pass.example", helo: "badhelo.example", heloCheck: true, result: "pass", scope: "mailfrom",
			symbols: []string{SymPass, SymHELOFail}},
		{name: "null sender uses HELO", ip: "192.0.2.7", from: "", helo: "mx.helo.example", result: "pass", scope: "helo", domain: "mx.helo.example", symbols: []string{SymPass}},
		{name: "null sender, HELO fails", ip: "198.51.100.9", from: "", helo: "mx.helo.example", heloCheck: true, policy: 1, result: "fail", scope: "helo",
			symbols: []string{SymFail, SymHELOFail}, reject: true},
		{name: "IPv4-mapped client", ip: "::ffff:192.0.2.9", from: "a@pass.example", result: "pass", scope: "mailfrom", symbols: []string{SymPass}},
	}
	for _, tc := range tests {
		// alone: [dmarc] off, so the SPF check applies reject_policy itself.
		for _, alone := range []bool{false, true} {
			name := tc.name
			if alone {
				name += " (DMARC off)"
				if tc.reject {
					tc.symbols = append(slices.Clone(tc.symbols), SymRejectPolicy)
				}
			}
			t.Run(name, func(t *testing.T) {
				c := New(Config{Resolver: res, HELOCheck: tc.heloCheck, RejectPolicy: tc.policy, RejectWithoutDMARC: alone,
					Receiver: "mx.example.org", Budget: 2 * time.Second})
				tx := &scoring.Transaction{Profile: scoring.ProfileRemote, MailFrom: tc.from,
					Client: scoring.Client{Addr: netip.MustParseAddr(tc.ip), HELO: tc.helo}}
				syms := runCheck(t, c, tx)
				got := authresult.SPFFrom(tx.Value, authresult.KeySPF)
				if got == nil {
					t.Fatal("no SPF result stored")
				}
				if got.Result != tc.result || got.Scope != tc.scope || got.WouldReject != tc.reject {
					t.Fatalf("stored %+v; want result %s scope %s wouldReject %v", got, tc.result, tc.scope, tc.reject)
				}
				if tc.domain != "" && got.Domain != tc.domain {
					t.Errorf("domain %q, want %q", got.Domain, tc.domain)
				}
				if got.Explanation != tc.exp {
					t.Errorf("explanation %q, want %q", got.Explanation, tc.exp)
				}
				if got.ClientIP != netip.MustParseAddr(tc.ip).Unmap() {
					t.Errorf("client IP %v", got.ClientIP)
				}
				slices.Sort(syms)
				want := slices.Clone(tc.symbols)
				slices.Sort(want)
				if !slices.Equal(syms, want) {
					t.Errorf("symbols %v, want %v", syms, want)
				}
				if tc.heloCheck && tc.helo != "" && authresult.SPFFrom(tx.Value, authresult.KeySPFHELO) == nil {
					t.Error("no HELO result stored")
				}
				// With DMARC on, the SPF check never forces an action: DMARC
				// enforces reject_policy. With DMARC off it refuses by itself.
				f := tx.Forced()
				switch {
				case alone && tc.reject:
					if f == nil || f.Action != scoring.Reject || f.Reply.Code != 550 {
						t.Errorf("forced %+v, want a 550 reject", f)
					}
				case f != nil:
					t.Errorf("check forced %v", f.Action)
				}
			})
		}
	}
}

func TestCheckSkipsWithoutClientAddress(t *testing.T) {
	c := New(Config{Resolver: checkZone(t).Resolver(t)})
	tx := &scoring.Transaction{Profile: scoring.ProfileRemote, MailFrom: "a@fail.example"}
	if syms := runCheck(t, c, tx); len(syms) != 0 {
		t.Fatalf("symbols %v for a transaction without client address", syms)
	}
	if _, ok := tx.Value(authresult.KeySPF); ok {
		t.Fatal("result stored without client address")
	}
}

func TestCheckProfiles(t *testing.T) {
	c := New(Config{Resolver: checkZone(t).Resolver(t)})
	e, err := scoring.New(scoring.Options{}, []scoring.Check{c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []scoring.Profile{scoring.ProfileLocal, scoring.ProfileAuthenticated} {
		tx := &scoring.Transaction{Profile: p, MailFrom: "a@fail.example", Client: scoring.Client{Addr: netip.MustParseAddr("198.51.100.1")}}
		e.RunStage(context.Background(), scoring.StageMail, tx)
		if _, ok := tx.Value(authresult.KeySPF); ok {
			t.Errorf("SPF ran for profile %s", p)
		}
	}
}

func TestWouldReject(t *testing.T) {
	results := []authresult.SPFResult{"pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"}
	// rejected[policy] lists the results refused at that SPFRejectPolicy.
	rejected := map[int][]authresult.SPFResult{
		0: nil,
		1: {"fail"},
		2: {"fail", "softfail"},
		3: {"fail", "softfail", "neutral"},
		4: {"fail", "softfail", "neutral", "none", "temperror", "permerror"},
	}
	for policy, want := range rejected {
		for _, r := range results {
			t.Run(string(r), func(t *testing.T) {
				if got := WouldReject(policy, r); got != slices.Contains(want, r) {
					t.Errorf("policy %d %s: %v", policy, r, got)
				}
			})
		}
	}
}
