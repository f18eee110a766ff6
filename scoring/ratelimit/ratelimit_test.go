package ratelimit

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

// send runs a message with n recipients through the rcpt stage and returns
// how many recipients were accepted.
func send(t *testing.T, e *scoring.Engine, user, from string, profile scoring.Profile, n int) int {
	t.Helper()
	tx := &scoring.Transaction{
		Client:   scoring.Client{Addr: netip.MustParseAddr("10.0.0.5"), AuthUser: user},
		Profile:  profile,
		MailFrom: from,
	}
	ok := 0
	for i := range n {
		tx.Rcpt = fmt.Sprintf("r%d@example.org", i)
		o := e.RunStage(context.Background(), scoring.StageRcpt, tx)
		if o.Forced != nil && o.Forced.Action == scoring.Tempfail {
			continue
		}
		tx.AcceptRcpt(tx.Rcpt, o)
		ok++
	}
	return ok
}

func newEngine(t *testing.T, s store.Store, clk *clock, msgs, rcpts int) *scoring.Engine {
	t.Helper()
	c := New(Config{Store: s, MessagesPerHour: msgs, RecipientsPerHour: rcpts, Exempt: []string{"Backup", "noreply@example.com"}, Now: clk.now})
	e, err := scoring.New(scoring.Options{}, []scoring.Check{c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestMessageLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		clk := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
		e := newEngine(t, s, clk, 5, 0)
		for i := range 5 {
			if got := send(t, e, "alice", "alice@example.com", scoring.ProfileAuthenticated, 3); got != 3 {
				t.Fatalf("message %d: %d of 3 recipients accepted", i+1, got)
			}
		}
		if got := send(t, e, "alice", "alice@example.com", scoring.ProfileAuthenticated, 3); got != 0 {
			t.Fatalf("6th message: %d recipients accepted, want deferred", got)
		}
		// Another user has its own budget; so does an exempt one.
		if got := send(t, e, "bob", "bob@example.com", scoring.ProfileAuthenticated, 1); got != 1 {
			t.Fatal("bob was limited by alice's count")
		}
		for range 10 {
			if got := send(t, e, "backup", "backup@example.com", scoring.ProfileAuthenticated, 1); got != 1 {
				t.Fatal("exempt user limited")
			}
		}
		// Halfway through the next hour, half of the last hour still counts:
		// 5*0.5 = 2.5, so two more messages fit (3.5, 4.5) and the third not.
		clk.t = clk.t.Add(90 * time.Minute)
		for i, want := range []int{1, 1, 0} {
			if got := send(t, e, "alice", "alice@example.com", scoring.ProfileAuthenticated, 1); got != want {
				t.Fatalf("next hour message %d: accepted %d, want %d", i+1, got, want)
			}
		}
		// Two hours later the slate is clean.
		clk.t = clk.t.Add(2 * time.Hour)
		if got := send(t, e, "alice", "alice@example.com", scoring.ProfileAuthenticated, 1); got != 1 {
			t.Fatal("still limited two hours later")
		}
	})
}

func TestRecipientLimitPerSender(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		clk := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
		e := newEngine(t, s, clk, 0, 10)
		tests := []struct {
			name       string
			user, from string
			profile    scoring.Profile
			rcpts      int
			want       int
		}{
			{"web form, first batch", "", "www-data@example.com", scoring.ProfileLocal, 8, 8},
			{"web form, over the limit", "", "WWW-DATA@example.com", scoring.ProfileLocal, 5, 2},
			{"other local sender", "", "script@example.com", scoring.ProfileLocal, 5, 5},
			{"bounces are not counted", "", "", scoring.ProfileLocal, 20, 20},
			{"exempt sender", "", "noreply@example.com", scoring.ProfileLocal, 20, 20},
			{"remote mail is not counted", "", "www-data@example.com", scoring.ProfileRemote, 20, 20},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := send(t, e, tt.user, tt.from, tt.profile, tt.rcpts); got != tt.want {
					t.Fatalf("accepted %d of %d, want %d", got, tt.rcpts, tt.want)
				}
			})
		}
	})
}

// TestPolicyThenMilter: Postfix asks the policy server, then the milter,
// about each recipient; what the policy server counted the milter does not
// count again, per recipient event (two identical messages count twice),
// and a milter-only message still counts.
func TestPolicyThenMilter(t *testing.T) {
	s := storetest.Bolt(t)
	clk := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	e := newEngine(t, s, clk, 3, 0)
	both := func(from string, rcpts ...string) (policy, milter int) {
		ptx := &scoring.Transaction{Front: scoring.FrontPolicy, Client: scoring.Client{Addr: netip.MustParseAddr("10.0.0.5"), AuthUser: "alice"},
			Profile: scoring.ProfileAuthenticated, MailFrom: from}
		mtx := &scoring.Transaction{Front: scoring.FrontMilter, Client: ptx.Client, Profile: ptx.Profile, MailFrom: from}
		for _, r := range rcpts {
			ptx.Rcpt = r
			if o := e.RunStage(context.Background(), scoring.StageRcpt, ptx); o.Forced != nil {
				continue // deferred by the policy server: Postfix never asks the milter
			}
			policy++
			ptx.AcceptRcpt(r, nil)
			mtx.Rcpt = r
			if o := e.RunStage(context.Background(), scoring.StageRcpt, mtx); o.Forced == nil {
				milter++
				mtx.AcceptRcpt(r, nil)
			}
		}
		return policy, milter
	}
	for i, want := range []int{2, 2, 2, 0} {
		p, m := both("alice@example.com", "a@example.org", "b@example.org")
		if p != want || m != want {
			t.Fatalf("message %d through both: policy accepted %d, milter %d; want %d (limit 3 messages)", i+1, p, m, want)
		}
	}
	// Milter only (no policy service for this client): counted there.
	e2 := newEngine(t, storetest.Bolt(t), clk, 1, 0)
	mtx := func() *scoring.Transaction {
		return &scoring.Transaction{Front: scoring.FrontMilter, Client: scoring.Client{Addr: netip.MustParseAddr("10.0.0.5"), AuthUser: "bob"},
			Profile: scoring.ProfileAuthenticated, MailFrom: "bob@example.com", Rcpt: "x@example.org"}
	}
	if o := e2.RunStage(context.Background(), scoring.StageRcpt, mtx()); o.Forced != nil {
		t.Fatal("first milter-only message deferred")
	}
	if o := e2.RunStage(context.Background(), scoring.StageRcpt, mtx()); o.Forced == nil {
		t.Fatal("second milter-only message not deferred at 1/hour")
	}
}

// TestHandoffForgets: recipients only the policy server saw (no milter, or
// Postfix refused them afterwards) are forgotten after the TTL, so the map
// stays small on a policy-only server, and a stale entry is not taken.
func TestHandoffForgets(t *testing.T) {
	c := New(Config{})
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := range 1000 {
		c.notePolicyCount(fmt.Sprint("k", i), t0)
	}
	if c.takePolicyCount("k1", t0.Add(handoffTTL+time.Second)) {
		t.Fatal("a stale hand-off was taken")
	}
	c.notePolicyCount("new", t0.Add(handoffTTL+handoffPrune+time.Second))
	if n := len(c.policyCounted); n != 1 {
		t.Fatalf("%d entries after the sweep, want 1", n)
	}
	if !c.takePolicyCount("new", t0.Add(handoffTTL+handoffPrune+2*time.Second)) {
		t.Fatal("a fresh hand-off was not taken")
	}
}
