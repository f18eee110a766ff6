package greylist_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/mailwarden/mailwarden/internal/store/storetest"
	"github.com/mailwarden/mailwarden/milter"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/greylist"
)

// TestThroughMilter: the milter front-end (the Sendmail path) greylists at
// RCPT with a 451 for that recipient only, and lets the retry through.
func TestThroughMilter(t *testing.T) {
	st := storetest.Bolt(t)
	g := greylist.New(greylist.Config{Store: st, Delay: 300 * time.Millisecond, RetryWindow: time.Hour, Expiry: 24 * time.Hour})
	e, err := scoring.New(scoring.Options{}, []scoring.Check{g}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cur scoring.Current
	cur.Store(e)
	sock := filepath.Join(t.TempDir(), "milter.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := milter.New(&cur, milter.Options{IdleTimeout: time.Minute, SpoolThreshold: 1 << 20}, nil)
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	rcpt := func(t *testing.T, to string) *gomilter.Action {
		t.Helper()
		s, err := gomilter.NewClient("unix", sock).Session(gomilter.NewMacroBag())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, f := range []func() (*gomilter.Action, error){
			func() (*gomilter.Action, error) {
				return s.Conn("mx.example.net", gomilter.FamilyInet, 25, "203.0.113.4")
			},
			func() (*gomilter.Action, error) { return s.Helo("mx.example.net") },
			func() (*gomilter.Action, error) { return s.Mail("list@example.net", "") },
		} {
			if act, err := f(); err != nil || act.StopProcessing() {
				t.Fatalf("before RCPT: %+v %v", act, err)
			}
		}
		act, err := s.Rcpt(to, "")
		if err != nil {
			t.Fatal(err)
		}
		return act
	}
	steps := []struct {
		name     string
		sleep    time.Duration
		to       string
		deferred bool
	}{
		{"first attempt", 0, "u@example.org", true},
		{"too early", 0, "u@example.org", true},
		{"after the delay", 400 * time.Millisecond, "u@example.org", false},
		{"other recipient", 0, "v@example.org", true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			time.Sleep(st.sleep)
			act := rcpt(t, st.to)
			if got := act.StopProcessing(); got != st.deferred {
				t.Fatalf("deferred = %v (%+v), want %v", got, act, st.deferred)
			}
			if st.deferred && (act.SMTPCode != 451 || !strings.Contains(act.SMTPReply, "4.7.1 Greylisted")) {
				t.Fatalf("reply %d %q", act.SMTPCode, act.SMTPReply)
			}
		})
	}
}
