package dkimverify

import (
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"

	"github.com/mailwarden/mailwarden/internal/authresult"
	"github.com/mailwarden/mailwarden/internal/dnstest"
)

const plainMsg = "From: Joe <joe@example.com>\r\nTo: x@example.org\r\nSubject: hi\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nHello.\r\n"

// TestCheckSymbols runs the check through the engine for each outcome.
func TestCheckSymbols(t *testing.T) {
	s := dnstest.New(t)
	addTXT(t, s, "test._domainkey.example.com", strings.TrimSpace(string(readShared(t, "test.txt"))))
	addTXT(t, s, "test._domainkey.other.example", strings.TrimSpace(string(readShared(t, "test.txt"))))
	s.SetRcode("test._domainkey.broken.example", dns.TypeTXT, dns.RcodeServerFailure)
	key := rsaKey(t)
	signAs := func(domain string) []byte {
		return sign(t, []byte(plainMsg), &dkim.SignOptions{Domain: domain, Selector: "test", Signer: key})
	}
	tests := []struct {
		name     string
		raw      []byte
		want     []string
		dontWant []string
		result   string
	}{
		{"unsigned", []byte(plainMsg), []string{SymNone}, []string{SymSigned, SymValid}, ""},
		{"author signature", signAs("example.com"), []string{SymSigned, SymValid, SymValidAU}, []string{SymInvalid}, "pass"},
		{"third-party signature", signAs("other.example"), []string{SymSigned, SymValid}, []string{SymValidAU, SymInvalid}, "pass"},
		{"tampered", append(signAs("example.com"), "more\r\n"...), []string{SymSigned, SymInvalid}, []string{SymValid}, "fail"},
		{"no key", signAs("nokey.example"), []string{SymInvalid, SymPermError}, []string{SymValid}, "permerror"},
		{"servfail", signAs("broken.example"), []string{SymTempError}, []string{SymValid, SymInvalid}, "temperror"},
	}
	c := New(Config{Resolver: s.Resolver(t)})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			names, tx := runCheck(t, c, tc.raw)
			for _, w := range tc.want {
				if !slices.Contains(names, w) {
					t.Errorf("symbols %v lack %s", names, w)
				}
			}
			for _, w := range tc.dontWant {
				if slices.Contains(names, w) {
					t.Errorf("symbols %v have %s", names, w)
				}
			}
			res := authresult.DKIMFrom(tx.Value)
			if tc.result == "" {
				if len(res) != 0 {
					t.Errorf("results %v for an unsigned message", res)
				}
				return
			}
			if len(res) != 1 || string(res[0].Result) != tc.result {
				t.Fatalf("results %+v, want one %s", res, tc.result)
			}
			if res[0].Selector != "test" || res[0].Algorithm != "rsa-sha256" || res[0].HeaderB == "" {
				t.Errorf("signature details not kept: %+v", res[0])
			}
		})
	}
}

// TestTooManySignatures: signatures past MaxSignatures are not verified.
func TestTooManySignatures(t *testing.T) {
	s := dnstest.New(t)
	addTXT(t, s, "test._domainkey.example.com", strings.TrimSpace(string(readShared(t, "test.txt"))))
	raw := []byte(plainMsg)
	for i := 0; i < MaxSignatures+2; i++ {
		raw = sign(t, raw, &dkim.SignOptions{Domain: "example.com", Selector: "test", Signer: rsaKey(t)})
	}
	got := verify(t, s, raw)
	if len(got) != MaxSignatures+2 {
		t.Fatalf("%d results, want %d", len(got), MaxSignatures+2)
	}
	if got[0] != "pass" || got[len(got)-1] != "permerror" {
		t.Errorf("results %v: want the first verified and the extra ones permerror", got)
	}
	if s.Queries("test._domainkey.example.com.", dns.TypeTXT) > MaxSignatures {
		t.Errorf("%d key queries for %d allowed signatures", s.Queries("test._domainkey.example.com.", dns.TypeTXT), MaxSignatures)
	}
}

func FuzzDescribe(f *testing.F) {
	f.Add("v=1; a=rsa-sha256; d=example.com; s=sel; b=abc")
	f.Add(";;==;")
	f.Fuzz(func(t *testing.T, s string) {
		d := describe(s)
		if len(d.HeaderB) > 8 {
			t.Fatalf("header.b too long: %q", d.HeaderB)
		}
	})
}
