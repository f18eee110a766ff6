package greylist

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/storetest"
	"github.com/mailwarden/mailwarden/scoring"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func attempt(t *testing.T, e *scoring.Engine, ip, from, rcpt string) (deferred bool, tx *scoring.Transaction) {
	t.Helper()
	tx = &scoring.Transaction{Client: scoring.Client{Addr: netip.MustParseAddr(ip)}, Profile: scoring.ProfileRemote, MailFrom: from, Rcpt: rcpt}
	o := e.RunStage(context.Background(), scoring.StageRcpt, tx)
	tx.AcceptRcpt(rcpt, o)
	return o.Forced != nil && o.Forced.Action == scoring.Tempfail, tx
}

func TestGreylisting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		clk := &clock{t: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)}
		c := New(Config{Store: s, Delay: 5 * time.Minute, RetryWindow: 24 * time.Hour, Expiry: 35 * 24 * time.Hour, AutoWhitelist: 3, Now: clk.now})
		e, err := scoring.New(scoring.Options{}, []scoring.Check{c}, nil)
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name         string
			advance      time.Duration
			ip, from, to string
			wantDeferred bool
			wantSym      string
		}{
			{"first attempt deferred", 0, "192.0.2.10", "a@example.com", "u@example.org", true, SymGreylist},
			{"retry too early", 2 * time.Minute, "192.0.2.10", "a@example.com", "u@example.org", true, SymGreylist},
			{"retry after the delay passes", 4 * time.Minute, "192.0.2.10", "a@example.com", "u@example.org", false, SymPassed},
			{"known triplet passes at once", time.Hour, "192.0.2.10", "a@example.com", "u@example.org", false, SymPassed},
			{"same /24, case differs: known", 0, "192.0.2.99", "A@Example.com", "U@example.org", false, SymPassed},
			{"other recipient is new", 0, "192.0.2.10", "a@example.com", "v@example.org", true, SymGreylist},
			{"other network is new", 0, "198.51.100.1", "a@example.com", "u@example.org", true, SymGreylist},
			{"null sender greylisted too", 0, "203.0.113.1", "", "u@example.org", true, SymGreylist},
			{"ipv6 /64", 0, "2001:db8:1:2::1", "a@example.com", "u@example.org", true, SymGreylist},
			{"ipv6 same /64 retry passes", 6 * time.Minute, "2001:db8:1:2::ffff", "a@example.com", "u@example.org", false, SymPassed},
			{"stale pending triplet starts over", 25 * time.Hour, "192.0.2.10", "a@example.com", "v@example.org", true, SymGreylist},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				clk.t = clk.t.Add(st.advance)
				deferred, tx := attempt(t, e, st.ip, st.from, st.to)
				if deferred != st.wantDeferred {
					t.Fatalf("deferred = %v, want %v (symbols %v)", deferred, st.wantDeferred, tx.Symbols())
				}
				if !tx.HasSymbol(st.wantSym) {
					t.Fatalf("symbols %v lack %s", tx.Symbols(), st.wantSym)
				}
			})
		}
	})
}

func TestAutoWhitelist(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		clk := &clock{t: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)}
		c := New(Config{Store: s, Delay: time.Minute, RetryWindow: time.Hour, Expiry: 24 * time.Hour, AutoWhitelist: 2, Now: clk.now})
		e, _ := scoring.New(scoring.Options{}, []scoring.Check{c}, nil)
		for i := range 2 {
			rcpt := fmt.Sprintf("user%d@example.org", i)
			if d, _ := attempt(t, e, "192.0.2.50", "list@example.com", rcpt); !d {
				t.Fatalf("triplet %d not greylisted", i)
			}
			clk.t = clk.t.Add(2 * time.Minute)
			if d, _ := attempt(t, e, "192.0.2.50", "list@example.com", rcpt); d {
				t.Fatalf("triplet %d retry deferred", i)
			}
		}
		d, tx := attempt(t, e, "192.0.2.51", "other@example.net", "new@example.org")
		if d || !tx.HasSymbol(SymAWL) {
			t.Fatalf("after 2 passed triplets the network is not whitelisted: deferred=%v symbols=%v", d, tx.Symbols())
		}
	})
}

func TestNetwork(t *testing.T) {
	tests := map[string]string{
		"192.0.2.77":        "192.0.2.0/24",
		"::ffff:192.0.2.77": "192.0.2.0/24",
		"2001:db8:a:b:c::1": "2001:db8:a:b::/64",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := Network(netip.MustParseAddr(in)); got != want {
				t.Fatalf("Network(%s) = %s, want %s", in, got, want)
			}
		})
	}
}
