package dmarc

import (
	"bytes"
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"github.com/mailwarden/mailwarden/internal/authresult"
	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

// spfResult builds the SPF check's result.
func spfResult(result, domain, scope string, wouldReject bool) *authresult.SPF {
	return &authresult.SPF{Result: authresult.SPFResult(result), Domain: domain, Scope: scope, WouldReject: wouldReject}
}

type memRecorder struct {
	mu  sync.Mutex
	evs []authresult.DMARCEvaluation
}

func (m *memRecorder) Record(_ context.Context, ev authresult.DMARCEvaluation) error {
	m.mu.Lock()
	m.evs = append(m.evs, ev)
	m.mu.Unlock()
	return nil
}

func zone(t *testing.T) *dnstest.Server {
	t.Helper()
	s := dnstest.New(t)
	s.AddRR(t,
		`_dmarc.reject.example. TXT "v=DMARC1; p=reject; rua=mailto:agg@reject.example"`,
		`_dmarc.quar.example. TXT "v=DMARC1; p=quarantine"`,
		`_dmarc.none.example. TXT "v=DMARC1; p=none"`,
		`_dmarc.strict.example. TXT "v=DMARC1; p=reject; adkim=s; aspf=s"`,
		`_dmarc.sub.example. TXT "v=DMARC1; p=none; sp=reject"`,
		`_dmarc.pct.example. TXT "v=DMARC1; p=reject; pct=0"`,
		`_dmarc.bad.example. TXT "v=DMARC1; p=maybe"`,
		`_dmarc.two.example. TXT "v=DMARC1; p=reject"`,
		`_dmarc.two.example. TXT "v=DMARC1; p=none"`,
		`_dmarc.reject.example. TXT "some other TXT record"`,
	)
	s.SetRcode("_dmarc.broken.example", dns.TypeTXT, dns.RcodeServerFailure)
	return s
}

type tcase struct {
	name     string
	from     string
	spf      *authresult.SPF
	dkim     []authresult.DKIM
	reject   bool
	qaction  string
	sample   int
	result   authresult.DMARCResult
	symbols  []string
	action   scoring.Action
	recorded int
}

func pass(d string) []authresult.DKIM {
	return []authresult.DKIM{{Result: authresult.DKIMPass, Domain: d, Selector: "sel"}}
}

func TestCheck(t *testing.T) {
	s := zone(t)
	res := s.Resolver(t)
	tests := []tcase{
		{name: "reject policy fails, reject on", from: "a@reject.example", spf: spfResult("pass", "other.example", "mailfrom", false),
			reject: true, result: authresult.DMARCFail, symbols: []string{SymFailReject}, action: scoring.Reject, recorded: 1},
		{name: "reject policy fails, reject off", from: "a@reject.example", reject: false,
			result: authresult.DMARCFail, symbols: []string{SymFailReject}, action: scoring.Accept, recorded: 1},
		{name: "relaxed dkim alignment passes", from: "a@reject.example", dkim: pass("mail.reject.example"), reject: true,
			result: authresult.DMARCPass, symbols: []string{SymPass}, action: scoring.Accept, recorded: 1},
		{name: "relaxed spf alignment passes", from: "a@reject.example", spf: spfResult("pass", "bounce.reject.example", "mailfrom", false),
			reject: true, result: authresult.DMARCPass, symbols: []string{SymPass}, action: scoring.Accept, recorded: 1},
		{name: "spf fail does not align", from: "a@reject.example", spf: spfResult("fail", "reject.example", "mailfrom", false),
			reject: true, result: authresult.DMARCFail, symbols: []string{SymFailReject}, action: scoring.Reject, recorded: 1},
		{name: "strict dkim alignment fails for a subdomain signature", from: "a@strict.example", dkim: pass("mail.strict.example"),
			reject: true, result: authresult.DMARCFail, symbols: []string{SymFailReject}, action: scoring.Reject, recorded: 1},
		{name: "strict exact match passes", from: "a@strict.example", dkim: pass("strict.example"),
			reject: true, result: authresult.DMARCPass, symbols: []string{SymPass}, action: scoring.Accept, recorded: 1},
		{name: "failing dkim signature does not count", from: "a@reject.example",
			dkim:   []authresult.DKIM{{Result: authresult.DKIMFail, Domain: "reject.example"}},
			reject: true, result: authresult.DMARCFail, symbols: []string{SymFailReject}, action: scoring.Reject, recorded: 1},
		{name: "quarantine held", from: "a@quar.example", reject: true, qaction: QuarantineHold,
			result: authresult.DMARCFail, symbols: []string{SymFailQuarantine}, action: scoring.Quarantine, recorded: 1},
		{name: "quarantine tagged", from: "a@quar.example", reject: true, qaction: QuarantineTag,
			result: authresult.DMARCFail, symbols: []string{SymFailQuarantine}, action: scoring.Tag, recorded: 1},
		{name: "quarantine ignored", from: "a@quar.example", reject: true, qaction: QuarantineNone,
			result: authresult.DMARCFail, symbols: []string{SymFailQuarantine}, action: scoring.Accept, recorded: 1},
		{name: "p=none monitors", from: "a@none.example", reject: true,
			result: authresult.DMARCFail, symbols: []string{SymFailNone}, action: scoring.Accept, recorded: 1},
		{name: "subdomain gets sp= from the org domain", from: "a@x.sub.example", reject: true,
			result: authresult.DMARCFail, symbols: []string{SymFailReject}, action: scoring.Reject, recorded: 1},
		{name: "org domain itself gets p=", from: "a@sub.example", reject: true,
			result: authresult.DMARCFail, symbols: []string{SymFailNone}, action: scoring.Accept, recorded: 1},
		{name: "pct=0 samples out reject to quarantine", from: "a@pct.example", reject: true, qaction: QuarantineHold, sample: 50,
			result: authresult.DMARCFail, symbols: []string{SymFailQuarantine, SymSampledOut}, action: scoring.Quarantine, recorded: 1},
		{name: "no record", from: "a@norecord.example", reject: true,
			result: authresult.DMARCNone, symbols: []string{SymNA}, action: scoring.Accept},
		{name: "no record, SPF reject policy enforced", from: "a@norecord.example", spf: spfResult("fail", "norecord.example", "mailfrom", true),
			reject: true, result: authresult.DMARCNone, symbols: []string{SymNA, SymSPFPolicy}, action: scoring.Reject},
		{name: "record present, SPF reject policy not applied", from: "a@none.example", spf: spfResult("fail", "none.example", "mailfrom", true),
			reject: true, result: authresult.DMARCFail, symbols: []string{SymFailNone}, action: scoring.Accept, recorded: 1},
		{name: "two records count as none", from: "a@two.example", reject: true,
			result: authresult.DMARCNone, symbols: []string{SymNA}, action: scoring.Accept},
		{name: "unusable record", from: "a@bad.example", reject: true,
			result: authresult.DMARCPermError, symbols: []string{SymPermError}, action: scoring.Accept},
		{name: "servfail", from: "a@broken.example", reject: true,
			result: authresult.DMARCTempError, symbols: []string{SymTempError}, action: scoring.Accept},
		{name: "no From domain", from: "undisclosed-recipients:;", reject: true,
			result: authresult.DMARCPermError, symbols: []string{SymPermError}, action: scoring.Accept},
		{name: "two From domains, the failing one decides", from: "a@none.example, b@reject.example", dkim: pass("none.example"), reject: true,
			result: authresult.DMARCFail, symbols: []string{SymFailReject}, action: scoring.Reject, recorded: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &memRecorder{}
			c := New(Config{Resolver: res, Reject: tc.reject, QuarantineAction: tc.qaction, Recorder: rec,
				Sample: func() int { return tc.sample }})
			e, err := scoring.New(scoring.Options{Levels: scoring.Levels{TagLevel: 5}}, []scoring.Check{c}, nil)
			if err != nil {
				t.Fatal(err)
			}
			raw := "From: " + tc.from + "\r\nTo: x@example.org\r\nSubject: t\r\n\r\nbody\r\n"
			m, err := message.Parse(bytes.NewReader([]byte(raw)), 1<<20, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			tx := &scoring.Transaction{Profile: scoring.ProfileRemote, Message: m, MailFrom: "bounce@other.example",
				Rcpts: []string{"x@example.org"}, Client: scoring.Client{Addr: netip.MustParseAddr("192.0.2.7")}}
			if tc.spf != nil {
				tx.SetValue(authresult.KeySPF, tc.spf)
			}
			if tc.dkim != nil {
				tx.SetValue(authresult.KeyDKIM, tc.dkim)
			}
			e.RunStage(context.Background(), scoring.StageEOM, tx)
			v := e.Verdict(tx)
			got := authresult.DMARCFrom(tx.Value)
			if got == nil || got.Result != tc.result {
				t.Fatalf("result %+v, want %s", got, tc.result)
			}
			names := v.SymbolNames()
			for _, s := range tc.symbols {
				if !slices.Contains(names, s) {
					t.Errorf("symbols %v lack %s", names, s)
				}
			}
			if v.Action != tc.action {
				t.Errorf("action %s (%s), want %s", v.Action, v.Reason, tc.action)
			}
			if tc.action == scoring.Reject && (v.Reply.Code != 550 || v.Reply.Enhanced != "5.7.1") {
				t.Errorf("reply %v, want 550 5.7.1", v.Reply)
			}
			if len(rec.evs) != tc.recorded {
				t.Fatalf("%d evaluations recorded, want %d", len(rec.evs), tc.recorded)
			}
			for _, ev := range rec.evs {
				if ev.SourceIP.String() != "192.0.2.7" || ev.EnvelopeFrom != "other.example" || ev.EnvelopeTo != "example.org" || ev.Published.P == "" {
					t.Errorf("recorded evaluation lacks details: %+v", ev)
				}
			}
		})
	}
}

// TestRecordedDisposition: what reports say was applied follows [dmarc] reject.
func TestRecordedDisposition(t *testing.T) {
	s := zone(t)
	for _, reject := range []bool{true, false} {
		rec := &memRecorder{}
		c := New(Config{Resolver: s.Resolver(t), Reject: reject, Recorder: rec})
		e, _ := scoring.New(scoring.Options{}, []scoring.Check{c}, nil)
		m, _ := message.Parse(bytes.NewReader([]byte("From: a@reject.example\r\n\r\nx\r\n")), 1<<20, t.TempDir())
		tx := &scoring.Transaction{Profile: scoring.ProfileRemote, Message: m}
		tx.SetValue(authresult.KeyDKIM, []authresult.DKIM{{Result: authresult.DKIMFail, Domain: "reject.example", Selector: "s1"}})
		e.RunStage(context.Background(), scoring.StageEOM, tx)
		if len(rec.evs) != 1 {
			t.Fatalf("%d evaluations", len(rec.evs))
		}
		ev := rec.evs[0]
		want, reason := authresult.DispositionReject, ""
		if !reject {
			want, reason = authresult.DispositionNone, "local_policy"
		}
		if ev.Disposition != want || ev.Reason != reason {
			t.Errorf("reject=%v: disposition %s reason %q, want %s %q", reject, ev.Disposition, ev.Reason, want, reason)
		}
		if len(ev.DKIM) != 1 || ev.DKIM[0].Selector != "s1" || ev.DKIM[0].Result != "fail" {
			t.Errorf("dkim auth results %+v", ev.DKIM)
		}
	}
}
