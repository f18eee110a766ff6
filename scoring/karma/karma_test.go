package karma

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/storetest"
	"github.com/mailwarden/mailwarden/scoring"
)

func TestJudge(t *testing.T) {
	c := New(Config{Negative: 2, Strikes: 3})
	sym := func(w float64) scoring.Symbol { return scoring.Symbol{Name: "X", Score: w} }
	tests := []struct {
		name string
		v    scoring.Verdict
		want int
	}{
		{"delivered ham", scoring.Verdict{Action: scoring.Accept, Score: 1, Required: 4, Scanned: true}, +1},
		{"accepted at rcpt only (policy)", scoring.Verdict{Action: scoring.Accept, Required: 4}, 0},
		{"rejected", scoring.Verdict{Action: scoring.Reject, Required: 4, Forced: &scoring.Forced{Check: "dnsbl"}}, -1},
		{"discarded", scoring.Verdict{Action: scoring.Discard, Required: 4, Scanned: true}, -1},
		{"spam tagged", scoring.Verdict{Action: scoring.Tag, Score: 6, Required: 4, Scanned: true}, -1},
		{"tempfailed", scoring.Verdict{Action: scoring.Tempfail, Required: 4}, 0},
		{"three strikes", scoring.Verdict{Action: scoring.Accept, Score: 3.5, Required: 4, Scanned: true,
			Symbols: []scoring.Symbol{sym(1), sym(1.5), sym(1)}}, -1},
		{"two strikes", scoring.Verdict{Action: scoring.Accept, Score: 2.5, Required: 4, Scanned: true,
			Symbols: []scoring.Symbol{sym(1), sym(1.5), sym(0.5)}}, +1},
		{"own refusal", scoring.Verdict{Action: scoring.Reject, Required: 4, Forced: &scoring.Forced{Check: "karma"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Judge(&scoring.Transaction{}, &tt.v); got != tt.want {
				t.Fatalf("Judge = %d, want %d", got, tt.want)
			}
		})
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// run runs the connect stage for a client and returns the outcome.
func connect(t *testing.T, e *scoring.Engine, ip string) (*scoring.Transaction, *scoring.Outcome) {
	t.Helper()
	tx := &scoring.Transaction{Client: scoring.Client{Addr: netip.MustParseAddr(ip)}, Profile: scoring.ProfileRemote}
	return tx, e.RunStage(context.Background(), scoring.StageConnect, tx)
}

func TestPenaltyBox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		clk := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
		c := New(Config{Store: s, Negative: 2, Strikes: 3, Penalty: 24 * time.Hour, Expiry: 60 * 24 * time.Hour, Now: clk.now})
		e, err := scoring.New(scoring.Options{Levels: scoring.Levels{TagLevel: 4}}, []scoring.Check{c}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rejected := &scoring.Verdict{Action: scoring.Reject, Required: 4, Forced: &scoring.Forced{Check: "dnsbl"}}
		ham := &scoring.Verdict{Action: scoring.Accept, Required: 4, Scanned: true}
		const bad, good = "192.0.2.7", "198.51.100.8"

		steps := []struct {
			name        string
			ip          string
			observe     *scoring.Verdict
			advance     time.Duration
			wantRefused bool
			wantSymbol  string
		}{
			{"unknown host passes", bad, rejected, 0, false, ""},
			{"one naughty: leaning naughty", bad, ham, 0, false, SymNaughty},
			{"nice evens it out", bad, rejected, 0, false, ""},
			{"still below the threshold", bad, rejected, 0, false, SymNaughty},
			{"naughty-nice = 2: refused", bad, nil, time.Hour, true, SymPenalty},
			{"still refused after 23h", bad, nil, 22 * time.Hour, true, SymPenalty},
			{"free after a day", bad, nil, 2 * time.Hour, false, SymNaughty},
			{"another host is unaffected", good, nil, 0, false, ""},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				clk.t = clk.t.Add(st.advance)
				tx, o := connect(t, e, st.ip)
				refused := o.Forced != nil && o.Forced.Action == scoring.Reject
				if refused != st.wantRefused {
					t.Fatalf("refused = %v, want %v (forced %+v)", refused, st.wantRefused, o.Forced)
				}
				if st.wantSymbol != "" && !tx.HasSymbol(st.wantSymbol) {
					t.Fatalf("symbols %v lack %s", tx.Symbols(), st.wantSymbol)
				}
				if st.wantSymbol == "" && len(tx.Symbols()) != 0 {
					t.Fatalf("unexpected symbols %v", tx.Symbols())
				}
				if st.observe != nil {
					e.Observe(context.Background(), tx, st.observe)
				}
			})
		}
		rec, err := Lookup(context.Background(), s, netip.MustParseAddr(bad))
		if err != nil || rec.Naughty != 3 || rec.Nice != 1 {
			t.Fatalf("record = %+v, %v", rec, err)
		}
	})
}

func TestNiceHistory(t *testing.T) {
	s := storetest.Bolt(t)
	c := New(Config{Store: s, Negative: 2, Strikes: 3, Penalty: time.Hour, Expiry: time.Hour})
	e, _ := scoring.New(scoring.Options{}, []scoring.Check{c}, nil)
	ham := &scoring.Verdict{Action: scoring.Accept, Required: 4, Scanned: true}
	for range 3 {
		tx, _ := connect(t, e, "203.0.113.5")
		e.Observe(context.Background(), tx, ham)
	}
	tx, _ := connect(t, e, "203.0.113.5")
	if !tx.HasSymbol(SymNice) {
		t.Fatalf("symbols %v lack %s", tx.Symbols(), SymNice)
	}
	// Local clients are not judged by karma (remote profile only).
	ltx := &scoring.Transaction{Client: scoring.Client{Addr: netip.MustParseAddr("203.0.113.5")}, Profile: scoring.ProfileLocal}
	e.RunStage(context.Background(), scoring.StageConnect, ltx)
	if len(ltx.Symbols()) != 0 {
		t.Fatalf("local profile got %v", ltx.Symbols())
	}
}

func TestCorruptRecord(t *testing.T) {
	s := storetest.Bolt(t)
	ip := netip.MustParseAddr("192.0.2.99")
	s.Put(context.Background(), Key(ip), []byte("{not json"), 0)
	c := New(Config{Store: s, Negative: 2, Strikes: 3, Penalty: time.Hour, Expiry: time.Hour})
	e, _ := scoring.New(scoring.Options{}, []scoring.Check{c}, nil)
	tx, o := connect(t, e, ip.String())
	if o.Forced != nil || !tx.HasSymbol(scoring.SymCheckError) {
		t.Fatalf("corrupt record: forced %+v symbols %v; want a check error and no refusal", o.Forced, tx.Symbols())
	}
	// Observing starts the history over.
	e.Observe(context.Background(), tx, &scoring.Verdict{Action: scoring.Reject, Required: 4})
	if rec, err := Lookup(context.Background(), s, ip); err != nil || rec.Naughty != 1 {
		t.Fatalf("after observe: %+v %v", rec, err)
	}
}

// TestAsyncNice: with AsyncNice (the daemon's setting) nice judgements are
// written by the background writer, every one of them, even when many clients
// report at once; naughty ones are in the store when Observe returns; Close
// writes what is still queued, and judgements after Close are written at once.
func TestAsyncNice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		c := New(Config{Store: s, Negative: 2, Strikes: 3, Penalty: time.Hour, Expiry: time.Hour, AsyncNice: true})
		e, err := scoring.New(scoring.Options{Levels: scoring.Levels{TagLevel: 4}}, []scoring.Check{c}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		ham := &scoring.Verdict{Action: scoring.Accept, Required: 4, Scanned: true}
		rejected := &scoring.Verdict{Action: scoring.Reject, Required: 4, Forced: &scoring.Forced{Check: "dnsbl"}}
		clients := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::4"}
		const perClient = 50
		var wg sync.WaitGroup
		for _, ip := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perClient {
					tx := &scoring.Transaction{Client: scoring.Client{Addr: netip.MustParseAddr(ip)}, Profile: scoring.ProfileRemote}
					e.Observe(ctx, tx, ham)
				}
			}()
		}
		wg.Wait()

		// Naughty: written before Observe returns.
		bad := netip.MustParseAddr("198.51.100.9")
		for range 2 {
			e.Observe(ctx, &scoring.Transaction{Client: scoring.Client{Addr: bad}, Profile: scoring.ProfileRemote}, rejected)
		}
		if rec, err := Lookup(ctx, s, bad); err != nil || rec.Naughty != 2 || rec.PenaltyUntil == 0 {
			t.Fatalf("naughty record right after Observe = %+v, %v; want 2 naughty and a penalty", rec, err)
		}

		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		for _, ip := range clients {
			rec, err := Lookup(ctx, s, netip.MustParseAddr(ip))
			if err != nil || rec.Nice != perClient || rec.Naughty != 0 {
				t.Fatalf("%s after Close: %+v, %v; want %d nice", ip, rec, err, perClient)
			}
		}
		// After Close: written on the caller's path, nothing lost.
		a := netip.MustParseAddr(clients[0])
		e.Observe(ctx, &scoring.Transaction{Client: scoring.Client{Addr: a}, Profile: scoring.ProfileRemote}, ham)
		if rec, _ := Lookup(ctx, s, a); rec.Nice != perClient+1 {
			t.Fatalf("nice after Close = %d, want %d", rec.Nice, perClient+1)
		}
	})
}
