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
