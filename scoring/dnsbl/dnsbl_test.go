package dnsbl

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/resolver"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/envlists/pattern"
)

func TestReverseIP(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"192.0.2.1", "1.2.0.192"},
		{"127.0.0.2", "2.0.0.127"},
		{"::ffff:198.51.100.7", "7.100.51.198"},
		// RFC 5782 2.4's example.
		{"2001:db8:1:2:3:4:567:89ab", "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2"},
		{"::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			if got := ReverseIP(netip.MustParseAddr(tt.ip)); got != tt.want {
				t.Errorf("ReverseIP(%s) = %s, want %s", tt.ip, got, tt.want)
			}
		})
	}
}

func mustZone(t *testing.T, name string, s ZoneSettings) Zone {
	t.Helper()
	z, err := NewZone(name, s)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestInterpret(t *testing.T) {
	zen := mustZone(t, "zen.spamhaus.org", ZoneSettings{Ignore: []string{"127.0.0.11"}})
	uri := mustZone(t, "multi.uribl.com", ZoneSettings{})
	custom := mustZone(t, "bl.example", ZoneSettings{Codes: map[string]string{"127.0.0.5": "five"}})
	tests := []struct {
		name    string
		z       *Zone
		addrs   []string
		listed  bool
		meaning string
		err     bool
	}{
		{"zen SBL", &zen, []string{"127.0.0.2"}, true, "SBL", false},
		{"zen XBL+PBL", &zen, []string{"127.0.0.4", "127.0.0.10"}, true, "XBL,PBL ISP", false},
		{"zen ignored PBL", &zen, []string{"127.0.0.11"}, false, "", false},
		{"zen public resolver refused", &zen, []string{"127.255.255.254"}, false, "", true},
		{"non-127 answer", &custom, []string{"203.0.113.9"}, false, "", true},
		{"custom code", &custom, []string{"127.0.0.5"}, true, "five", false},
		{"custom unknown code", &custom, []string{"127.0.0.9"}, true, "listed 127.0.0.9", false},
		{"uribl bits black+red", &uri, []string{"127.0.0.10"}, true, "black,red", false},
		{"uribl refused", &uri, []string{"127.0.0.1"}, false, "", true},
		{"uribl unknown bit", &uri, []string{"127.0.0.16"}, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var as []netip.Addr
			for _, a := range tt.addrs {
				as = append(as, netip.MustParseAddr(a))
			}
			v := tt.z.Interpret(as)
			if v.Listed != tt.listed || strings.Join(v.Meanings, ",") != tt.meaning || (v.Error != "") != tt.err {
				t.Errorf("Interpret(%v) = %+v, want listed=%v meaning=%q error=%v", tt.addrs, v, tt.listed, tt.meaning, tt.err)
			}
		})
	}
}

// env is a loopback DNS server with test zones.
type env struct {
	dns *dnstest.Server
	res *resolver.Resolver
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s := dnstest.New(t)
	s.AddRR(t,
		// zen.spamhaus.org: 192.0.2.1 in SBL with a TXT explanation; 192.0.2.2 in XBL.
		"1.2.0.192.zen.spamhaus.org. 60 IN A 127.0.0.2",
		`1.2.0.192.zen.spamhaus.org. 60 IN TXT "https://www.spamhaus.org/query/ip/192.0.2.1"`,
		"2.2.0.192.zen.spamhaus.org. 60 IN A 127.0.0.4",
		// IPv6 2001:db8::25 listed.
		"5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org. 60 IN A 127.0.0.3",
		// A second list, scoring only, lists 192.0.2.1 too; a third lists nothing.
		"1.2.0.192.score.example. 60 IN A 127.0.0.2",
		"zen.spamhaus.org. 60 IN SOA ns. host. 1 3600 600 86400 60",
		"score.example. 60 IN SOA ns. host. 1 3600 600 86400 60",
		"slow.example. 60 IN SOA ns. host. 1 3600 600 86400 60",
		"broken.example. 60 IN SOA ns. host. 1 3600 600 86400 60",
		// DBL: the registered domain of the sender is listed.
		"spammy.example.dbl.spamhaus.org. 60 IN A 127.0.1.2",
		"dbl.spamhaus.org. 60 IN SOA ns. host. 1 3600 600 86400 60",
		// URI list.
		"spamlink.example.multi.uribl.com. 60 IN A 127.0.0.2",
		"multi.uribl.com. 60 IN SOA ns. host. 1 3600 600 86400 60",
	)
	return &env{dns: s, res: s.Resolver(t)}
}

// rcpt runs the check at the rcpt stage through a real engine, as a
// front-end does, and returns the outcome.
func rcpt(t *testing.T, c scoring.Check, tx *scoring.Transaction) *scoring.Outcome {
	t.Helper()
	e, err := scoring.New(scoring.Options{CheckTimeout: 5 * time.Second}, []scoring.Check{c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tx.Profile == "" {
		tx.Profile = scoring.ProfileRemote
	}
	return e.RunStage(context.Background(), c.Stage(), tx)
}

func symbol(o *scoring.Outcome, name string) *scoring.Symbol {
	for i := range o.Symbols {
		if o.Symbols[i].Name == name {
			return &o.Symbols[i]
		}
	}
	return nil
}

func exempt(t *testing.T) pattern.List {
	l, errs := pattern.ParseList([]string{"postmaster@", "abuse@"})
	if errs != nil {
		t.Fatal(errs)
	}
	return l
}

func TestDNSBL(t *testing.T) {
	e := newEnv(t)
	e.dns.SetRcode("1.2.0.192.broken.example.", 0, dns.RcodeServerFailure)
	e.dns.SetDelay("1.2.0.192.slow.example.", 2*time.Second)
	zen := mustZone(t, "zen.spamhaus.org", ZoneSettings{Reject: true})
	score := mustZone(t, "score.example", ZoneSettings{Weight: 0.5})
	tests := []struct {
		name     string
		zones    []Zone
		ip, rcpt string
		reject   string // expected reply text prefix; "" = not refused
		listed   float64
		symbols  []string
	}{
		{name: "listed v4 rejected with TXT", zones: []Zone{zen}, ip: "192.0.2.1",
			reject: "Blocked by zen.spamhaus.org: https://www.spamhaus.org/query/ip/192.0.2.1", listed: 3, symbols: []string{SymRBLListed}},
		{name: "listed v4 without TXT names code", zones: []Zone{zen}, ip: "192.0.2.2",
			reject: "Blocked by zen.spamhaus.org: client IP 192.0.2.2 is listed (XBL)", listed: 3, symbols: []string{SymRBLListed}},
		{name: "listed v6", zones: []Zone{zen}, ip: "2001:db8::25", reject: "Blocked by zen.spamhaus.org:", listed: 3, symbols: []string{SymRBLListed}},
		{name: "unlisted (NXDOMAIN)", zones: []Zone{zen, score}, ip: "198.51.100.7"},
		{name: "score mode weighted", zones: []Zone{score}, ip: "192.0.2.1", listed: 1.5, symbols: []string{SymRBLListed}},
		{name: "two lists: reject wins, weights add", zones: []Zone{score, zen}, ip: "192.0.2.1",
			reject: "Blocked by zen.spamhaus.org:", listed: 4.5, symbols: []string{SymRBLListed}},
		{name: "postmaster exempt", zones: []Zone{zen}, ip: "192.0.2.1", rcpt: "postmaster@example.org"},
		{name: "SERVFAIL skipped with symbol", zones: []Zone{mustZone(t, "broken.example", ZoneSettings{Reject: true})}, ip: "192.0.2.1",
			symbols: []string{SymRBLError}},
		{name: "timeout skipped with symbol", zones: []Zone{mustZone(t, "slow.example", ZoneSettings{Reject: true}), zen}, ip: "192.0.2.1",
			reject: "Blocked by zen.spamhaus.org:", listed: 3, symbols: []string{SymRBLTimeout, SymRBLListed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.res.Flush()
			c := NewDNSBL(Config{Zones: tt.zones, Resolver: e.res, Budget: 300 * time.Millisecond, Exempt: exempt(t)})
			r := tt.rcpt
			if r == "" {
				r = "bob@example.org"
			}
			tx := &scoring.Transaction{Rcpt: r, MailFrom: "a@b.example"}
			tx.Client.Addr = netip.MustParseAddr(tt.ip)
			start := time.Now()
			o := rcpt(t, c, tx)
			if took := time.Since(start); took > time.Second {
				t.Errorf("took %v, budget 300ms", took)
			}
			if tt.reject == "" {
				if o.Forced != nil {
					t.Fatalf("refused: %+v", o.Forced)
				}
			} else if o.Forced == nil || o.Forced.Action != scoring.Reject || !strings.HasPrefix(o.Forced.Reply.Text, tt.reject) || o.Forced.Reply.Code != 554 {
				t.Fatalf("forced %+v, want reject %q", o.Forced, tt.reject)
			}
			for _, s := range tt.symbols {
				if symbol(o, s) == nil {
					t.Errorf("symbols %v lack %s", o.Symbols, s)
				}
			}
			if s := symbol(o, SymRBLListed); tt.listed == 0 && s != nil || tt.listed != 0 && (s == nil || s.Score != tt.listed) {
				t.Errorf("RBL_LISTED = %+v, want score %v", s, tt.listed)
			}
			if tt.listed == 0 && len(tt.symbols) == 0 && len(o.Symbols) != 0 {
				t.Errorf("unexpected symbols %v", o.Symbols)
			}
		})
	}
}

// TestDNSBLParallel: three lists answering after 300 ms each take about one
// answer's time (300 ms), not three (900 ms), nor two (a TXT query after the
// A query: scoring lists need no reject text); the bound leaves room for a
// loaded test machine.
func TestDNSBLParallel(t *testing.T) {
	e := newEnv(t)
	var zones []Zone
	for _, z := range []string{"a.example", "b.example", "c.example"} {
		e.dns.AddRR(t, z+". 60 IN SOA ns. host. 1 3600 600 86400 60", "1.2.0.192."+z+". 60 IN A 127.0.0.2")
		e.dns.SetDelay("1.2.0.192."+z+".", time.Second)
		zones = append(zones, mustZone(t, z, ZoneSettings{}))
	}
	res := e.dns.ResolverWith(t, resolver.Config{Timeout: 5 * time.Second, Attempts: 1})
	c := NewDNSBL(Config{Zones: zones, Resolver: res, Budget: 5 * time.Second})
	tx := &scoring.Transaction{Rcpt: "bob@example.org"}
	tx.Client.Addr = netip.MustParseAddr("192.0.2.1")
	start := time.Now()
	o := rcpt(t, c, tx)
	took := time.Since(start)
	s := symbol(o, SymRBLListed)
	if s == nil || len(s.Options) != 3 {
		t.Fatalf("RBL_LISTED = %+v, want three lists", s)
	}
	// One round trip is 1 s, three in a row 3 s; the margin absorbs a
	// loaded CI machine under -race.
	if took > 2500*time.Millisecond {
		t.Errorf("three lists took %v: not queried in parallel", took)
	}
}

// TestDNSBLOncePerMessage: Postfix asks once per recipient; the lists are
// asked once per message.
func TestDNSBLOncePerMessage(t *testing.T) {
	e := newEnv(t)
	res := e.dns.ResolverWith(t, resolver.Config{CacheSize: -1, Timeout: time.Second, Attempts: 1})
	c := NewDNSBL(Config{Zones: []Zone{mustZone(t, "zen.spamhaus.org", ZoneSettings{Reject: true})}, Resolver: res, Budget: time.Second, Exempt: exempt(t)})
	tx := &scoring.Transaction{}
	tx.Client.Addr = netip.MustParseAddr("192.0.2.1")
	for _, r := range []string{"a@example.org", "postmaster@example.org", "b@example.org"} {
		tx.Rcpt = r
		o := rcpt(t, c, tx)
		if refused := o.Forced != nil; refused == strings.HasPrefix(r, "postmaster") {
			t.Errorf("rcpt %s: refused = %v", r, refused)
		}
	}
	if n := e.dns.Queries("1.2.0.192.zen.spamhaus.org.", dns.TypeA); n != 1 {
		t.Errorf("A queries = %d, want 1", n)
	}
}

func TestRHSBL(t *testing.T) {
	e := newEnv(t)
	dbl := mustZone(t, "dbl.spamhaus.org", ZoneSettings{Reject: true})
	tests := []struct {
		name, from string
		reject     bool
	}{
		{"registered domain listed", "x@mail.spammy.example", true},
		{"domain listed", "x@spammy.example", true},
		{"clean", "x@clean.example", false},
		{"null sender", "", false},
		{"address literal", "x@[192.0.2.1]", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewRHSBL(Config{Zones: []Zone{dbl}, Resolver: e.res, Budget: time.Second, Exempt: exempt(t)})
			tx := &scoring.Transaction{MailFrom: tt.from, Rcpt: "bob@example.org"}
			tx.Client.Addr = netip.MustParseAddr("198.51.100.1")
			o := rcpt(t, c, tx)
			if got := o.Forced != nil; got != tt.reject {
				t.Fatalf("refused = %v (%+v), want %v", got, o.Forced, tt.reject)
			}
			if tt.reject {
				if want := "Blocked by dbl.spamhaus.org: sender domain spammy.example is listed (spam domain)"; o.Forced.Reply.Text != want || o.Forced.Reply.Code != 550 {
					t.Errorf("reply %q, want 550 %q", o.Forced.Reply.String(), want)
				}
			}
		})
	}
}

func TestURIBL(t *testing.T) {
	e := newEnv(t)
	zone := mustZone(t, "multi.uribl.com", ZoneSettings{})
	tests := []struct {
		name, body string
		listed     bool
	}{
		{"listed link", "Buy now: https://www.spamlink.example/offer?id=1\r\n", true},
		{"clean link", "See https://docs.example.org/page\r\n", false},
		{"ip link ignored", "http://192.0.2.1/x\r\n", false},
		{"no links", "Hello\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := message.New(1<<20, "")
			m.AddField("From", " a@b.example")
			m.AddField("Content-Type", " text/plain")
			if _, err := m.Body.Write([]byte(tt.body)); err != nil {
				t.Fatal(err)
			}
			tx := &scoring.Transaction{Message: m}
			c := NewURIBL(Config{Zones: []Zone{zone}, Resolver: e.res, Budget: time.Second})
			o := rcpt(t, c, tx)
			s := symbol(o, SymURIBLListed)
			if (s != nil) != tt.listed {
				t.Fatalf("URIBL_LISTED = %+v, want listed=%v", s, tt.listed)
			}
			if s != nil && !strings.Contains(strings.Join(s.Options, " "), "spamlink.example:black") {
				t.Errorf("options %v", s.Options)
			}
			if o.Forced != nil {
				t.Errorf("score mode refused: %+v", o.Forced)
			}
		})
	}
}

func TestURLDomains(t *testing.T) {
	got := URLDomains([]string{"www.a.example.co.uk", "b.a.example.co.uk", "192.0.2.1", "[2001:db8::1]", "x.test", "bad_host!", "c.example"}, 2)
	if strings.Join(got, ",") != "example.co.uk,x.test" {
		t.Errorf("URLDomains = %v", got)
	}
}
