package fromhost

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/scoring"
)

func TestResolvableFromHost(t *testing.T) {
	srv := dnstest.New(t)
	srv.AddRR(t,
		"example. 60 IN SOA ns. host. 1 3600 600 86400 60",
		"withmx.example. 60 IN MX 10 mx.withmx.example.",
		"mx.withmx.example. 60 IN A 192.0.2.10",
		"aonly.example. 60 IN A 192.0.2.11",
		"v6only.example. 60 IN AAAA 2001:db8::11",
		"nullmx.example. 60 IN MX 0 .",
		"txtonly.example. 60 IN TXT \"v=spf1 -all\"",
		"broken.example. 60 IN A 192.0.2.12",
		"slow.example. 60 IN A 192.0.2.13",
	)
	srv.SetRcode("broken.example.", 0, dns.RcodeServerFailure)
	srv.SetDelay("slow.example.", 3*time.Second)
	res := srv.Resolver(t)
	tests := []struct {
		name, from string
		action     scoring.Action // Accept: not forced
		reply      string
		symbol     string
	}{
		{"mx", "a@withmx.example", scoring.Accept, "", ""},
		{"address only", "a@aonly.example", scoring.Accept, "", ""},
		{"ipv6 only", "a@v6only.example", scoring.Accept, "", ""},
		{"null sender", "", scoring.Accept, "", ""},
		{"address literal", "a@[192.0.2.1]", scoring.Accept, "", ""},
		{"nxdomain", "a@nonexistent.example", scoring.Reject, "550 5.1.8 <a@nonexistent.example>: Sender address rejected: Domain not found", SymUnresolvable},
		{"no mx nor address", "a@txtonly.example", scoring.Reject, "550 5.1.8 <a@txtonly.example>: Sender address rejected: Domain not found", SymUnresolvable},
		{"null mx", "a@nullmx.example", scoring.Reject, "550 5.1.8 <a@nullmx.example>: Sender address rejected: Domain does not accept mail", SymNullMX},
		{"servfail defers", "a@broken.example", scoring.Tempfail, "451 4.1.8 <a@broken.example>: Sender address rejected: Domain lookup failed, try again later", SymDNSFail},
		{"timeout defers", "a@slow.example", scoring.Tempfail, "451 4.1.8 <a@slow.example>: Sender address rejected: Domain lookup failed, try again later", SymDNSFail},
	}
	c := New(Config{Resolver: res, Budget: 700 * time.Millisecond})
	e, err := scoring.New(scoring.Options{CheckTimeout: 5 * time.Second}, []scoring.Check{c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := &scoring.Transaction{Profile: scoring.ProfileRemote, MailFrom: tt.from, Rcpt: "bob@example.org"}
			tx.Client.Addr = netip.MustParseAddr("198.51.100.1")
			start := time.Now()
			o := e.RunStage(context.Background(), scoring.StageRcpt, tx)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v with a 700ms budget", d)
			}
			if tt.action == scoring.Accept {
				if o.Forced != nil || len(o.Symbols) > 0 {
					t.Fatalf("outcome %+v, want nothing", o)
				}
				return
			}
			if o.Forced == nil || o.Forced.Action != tt.action || o.Forced.Reply.String() != tt.reply {
				t.Fatalf("forced %+v, want %v %q", o.Forced, tt.action, tt.reply)
			}
			if len(o.Symbols) != 1 || o.Symbols[0].Name != tt.symbol {
				t.Errorf("symbols %v, want %s", o.Symbols, tt.symbol)
			}
		})
	}
}

// TestOncePerMessage: several recipients, one lookup.
func TestOncePerMessage(t *testing.T) {
	srv := dnstest.New(t)
	srv.AddRR(t, "aonly.example. 60 IN A 192.0.2.11")
	c := New(Config{Resolver: srv.Resolver(t)})
	e, _ := scoring.New(scoring.Options{}, []scoring.Check{c}, nil)
	tx := &scoring.Transaction{Profile: scoring.ProfileRemote, MailFrom: "a@aonly.example"}
	for _, r := range []string{"x@example.org", "y@example.org"} {
		tx.Rcpt = r
		e.RunStage(context.Background(), scoring.StageRcpt, tx)
	}
	if n := srv.Queries("aonly.example.", dns.TypeMX); n != 1 {
		t.Errorf("MX queries = %d, want 1", n)
	}
}
