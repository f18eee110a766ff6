package helo

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/envlists/pattern"
)

func names(t *testing.T, l ...string) pattern.List {
	t.Helper()
	p, errs := pattern.ParseHostList(l)
	if errs != nil {
		t.Fatal(errs)
	}
	return p
}

func symbolsOf(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Symbol)
	}
	return strings.Join(out, ",")
}

func TestEvaluate(t *testing.T) {
	srv := dnstest.New(t)
	srv.AddRR(t,
		"mx.good.example. 60 IN A 198.51.100.7",
		"mx.good.example. 60 IN AAAA 2001:db8::7",
		"other.good.example. 60 IN A 203.0.113.1",
		"good.example. 60 IN SOA ns. host. 1 3600 600 86400 60",
		"flaky.example. 60 IN SOA ns. host. 1 3600 600 86400 60",
	)
	srv.SetRcode("mx.flaky.example.", 0, dns.RcodeServerFailure)
	res := srv.Resolver(t)
	const client = "198.51.100.7"
	tests := []struct {
		name, helo, client string
		want               map[Policy]string // symbols per policy
	}{
		{name: "good fqdn", helo: "mx.good.example", want: map[Policy]string{Lenient: "", RFC: "", Strict: ""}},
		{name: "good fqdn trailing dot v6 client", helo: "mx.good.example.", client: "2001:db8::7", want: map[Policy]string{Strict: ""}},
		{name: "our name", helo: "mail.ours.example", want: map[Policy]string{Lenient: SymOurName, RFC: SymOurName}},
		{name: "our name wildcard", helo: "MX2.Ours.Example", want: map[Policy]string{Lenient: SymOurName}},
		{name: "our ip literal", helo: "[192.0.2.25]", want: map[Policy]string{Lenient: SymOurIP, RFC: SymOurIP}},
		{name: "our ip bare", helo: "192.0.2.25", want: map[Policy]string{Lenient: SymOurIP, RFC: SymOurIP + "," + SymBareIP}},
		{name: "daemon address", helo: "[192.0.2.99]", want: map[Policy]string{Lenient: SymOurIP}},
		{name: "localhost from remote", helo: "localhost", want: map[Policy]string{Lenient: SymLocalhost, RFC: SymLocalhost + "," + SymNotFQDN}},
		{name: "localhost.localdomain", helo: "LOCALHOST.localdomain", want: map[Policy]string{Lenient: SymLocalhost}},
		{name: "localhost from loopback", helo: "localhost", client: "127.0.0.1", want: map[Policy]string{Lenient: "", RFC: "", Strict: ""}},
		{name: "literal of client", helo: "[198.51.100.7]", want: map[Policy]string{Lenient: "", RFC: "", Strict: ""}},
		{name: "literal not client", helo: "[203.0.113.5]", want: map[Policy]string{Lenient: SymLiteralMismatch, RFC: SymLiteralMismatch}},
		{name: "ipv6 literal of client", helo: "[IPv6:2001:db8::7]", client: "2001:db8::7", want: map[Policy]string{Lenient: "", RFC: ""}},
		{name: "ipv6 untagged literal", helo: "[2001:db8::7]", client: "2001:db8::7", want: map[Policy]string{Lenient: "", RFC: SymSyntax}},
		{name: "bare ip of client", helo: "198.51.100.7", want: map[Policy]string{Lenient: "", RFC: SymBareIP}},
		{name: "single label", helo: "desktop", want: map[Policy]string{Lenient: "", RFC: SymNotFQDN, Strict: SymNotFQDN}},
		{name: "underscore", helo: "my_pc.example.com", want: map[Policy]string{Lenient: "", RFC: SymSyntax}},
		{name: "leading hyphen", helo: "-bad.example.com", want: map[Policy]string{RFC: SymSyntax}},
		{name: "bad literal", helo: "[300.1.2.3]", want: map[Policy]string{Lenient: "", RFC: SymSyntax}},
		{name: "missing", helo: "", want: map[Policy]string{Lenient: "", RFC: SymMissing}},
		{name: "nxdomain", helo: "nonexistent.good.example", want: map[Policy]string{RFC: "", Strict: SymNXDomain}},
		{name: "resolves elsewhere", helo: "other.good.example", want: map[Policy]string{RFC: "", Strict: SymNoMatch}},
		{name: "servfail not held against", helo: "mx.flaky.example", want: map[Policy]string{Strict: SymDNSFail}},
	}
	for _, tt := range tests {
		for p, want := range tt.want {
			t.Run(tt.name+"/"+[]string{"off", "lenient", "rfc", "strict"}[p], func(t *testing.T) {
				c := New(Config{Policy: p, OurNames: names(t, "mail.ours.example", "*.ours.example"),
					OurAddrs: []netip.Addr{netip.MustParseAddr("192.0.2.25")}, Resolver: res, Budget: time.Second})
				ip := client
				if tt.client != "" {
					ip = tt.client
				}
				fs := c.Evaluate(context.Background(), tt.helo, netip.MustParseAddr(ip), "192.0.2.99:25")
				if got := symbolsOf(fs); got != want {
					t.Errorf("HELO %q from %s: %q, want %q (%+v)", tt.helo, ip, got, want, fs)
				}
			})
		}
	}
}

func TestCheckRejectsAtRcpt(t *testing.T) {
	tests := []struct {
		name, rcpt string
		reject     bool
		action     bool // reject mode
	}{
		{"reject mode", "bob@example.org", true, true},
		{"postmaster exempt", "postmaster@example.org", false, true},
		{"score mode", "bob@example.org", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, _ := pattern.ParseList([]string{"postmaster@"})
			c := New(Config{Policy: Lenient, Reject: tt.action, Exempt: ex})
			e, err := scoring.New(scoring.Options{}, []scoring.Check{c}, nil)
			if err != nil {
				t.Fatal(err)
			}
			tx := &scoring.Transaction{Profile: scoring.ProfileRemote, Rcpt: tt.rcpt}
			tx.Client.Addr = netip.MustParseAddr("198.51.100.7")
			tx.Client.HELO = "localhost"
			o := e.RunStage(context.Background(), scoring.StageRcpt, tx)
			if got := o.Forced != nil; got != tt.reject {
				t.Fatalf("refused = %v, want %v (%+v)", got, tt.reject, o.Forced)
			}
			if tt.reject && o.Forced.Reply.String() != "550 5.7.1 HELO/EHLO localhost refused: you are not localhost" {
				t.Errorf("reply %q", o.Forced.Reply.String())
			}
			if !tt.reject && tt.rcpt == "bob@example.org" && len(o.Symbols) != 1 {
				t.Errorf("score mode symbols %v", o.Symbols)
			}
			// Other profiles are not checked.
			tx2 := &scoring.Transaction{Profile: scoring.ProfileLocal, Rcpt: tt.rcpt}
			tx2.Client = tx.Client
			if o := e.RunStage(context.Background(), scoring.StageRcpt, tx2); o.Forced != nil || len(o.Symbols) > 0 {
				t.Errorf("local profile judged: %+v", o)
			}
		})
	}
}

func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{"mx.example.com", "[192.0.2.1]", "[IPv6:::1]", "localhost", "a..b", "[", "[]", "1.2.3.4", "-x-.y"} {
		f.Add(s)
	}
	c := New(Config{Policy: RFC, OurNames: pattern.List{}})
	f.Fuzz(func(t *testing.T, helo string) {
		fs := c.Evaluate(context.Background(), helo, netip.MustParseAddr("192.0.2.1"), "")
		for _, fi := range fs {
			if fi.Symbol == "" || fi.Reason == "" {
				t.Fatalf("empty finding for %q", helo)
			}
		}
		_ = printable(helo)
	})
}
