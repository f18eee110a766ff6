package karma_test

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/mailwarden/mailwarden/internal/store/storetest"
	"github.com/mailwarden/mailwarden/milter"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/basicheaders"
	"github.com/mailwarden/mailwarden/scoring/karma"
)

// TestThroughMilter drives karma through the real milter front-end with
// go-milter's client: verdicts at end of message feed the history (via
// Engine.Observe), and a host in the penalty box is refused at MAIL FROM.
func TestThroughMilter(t *testing.T) {
	st := storetest.Bolt(t)
	checks := []scoring.Check{
		karma.New(karma.Config{Store: st, Negative: 2, Strikes: 3, Penalty: 24 * time.Hour, Expiry: 48 * time.Hour}),
		basicheaders.New(basicheaders.Config{Required: []string{"From", "Date"}, Reject: true, Profiles: []scoring.Profile{scoring.ProfileRemote}}),
	}
	e, err := scoring.New(scoring.Options{Levels: scoring.Levels{TagLevel: 5}}, checks, nil)
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

	// send returns the first refusing action (or the end-of-message one).
	send := func(t *testing.T, ip string, withDate bool) *gomilter.Action {
		t.Helper()
		s, err := gomilter.NewClient("unix", sock).Session(gomilter.NewMacroBag())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, step := range []func() (*gomilter.Action, error){
			func() (*gomilter.Action, error) { return s.Conn("client.example.net", gomilter.FamilyInet, 25, ip) },
			func() (*gomilter.Action, error) { return s.Helo("client.example.net") },
			func() (*gomilter.Action, error) { return s.Mail("a@example.com", "") },
			func() (*gomilter.Action, error) { return s.Rcpt("b@example.org", "") },
			func() (*gomilter.Action, error) { return s.DataStart() },
			func() (*gomilter.Action, error) { return s.HeaderField("From", " a@example.com", nil) },
		} {
			act, err := step()
			if err != nil {
				t.Fatal(err)
			}
			if act.StopProcessing() {
				return act
			}
		}
		if withDate {
			if _, err := s.HeaderField("Date", " Wed, 25 Nov 2026 10:00:00 +0000", nil); err != nil {
				t.Fatal(err)
			}
		}
		if act, err := s.HeaderEnd(); err != nil {
			t.Fatal(err)
		} else if act.StopProcessing() {
			return act // refused at end of headers, as the MTA would stop here
		}
		_, act, err := s.BodyReadFrom(bytes.NewReader([]byte("hello\r\n")))
		if err != nil {
			t.Fatal(err)
		}
		return act
	}
	const bad, good = "192.0.2.9", "198.51.100.9"
	steps := []struct {
		name     string
		ip       string
		withDate bool
		wantCode uint16 // 0: accepted
		wantText string
	}{
		{"naughty 1", bad, false, 550, "no Date"},
		{"nice from another host", good, true, 0, ""},
		{"naughty 2: penalty earned", bad, false, 550, "no Date"},
		{"refused at MAIL from the penalty box", bad, true, 550, "You were naughty"},
	}
	for _, stp := range steps {
		t.Run(stp.name, func(t *testing.T) {
			act := send(t, stp.ip, stp.withDate)
			if stp.wantCode == 0 {
				if act.StopProcessing() {
					t.Fatalf("refused: %+v", act)
				}
				return
			}
			if act.SMTPCode != stp.wantCode || !strings.Contains(act.SMTPReply, stp.wantText) {
				t.Fatalf("got %d %q, want %d ...%s...", act.SMTPCode, act.SMTPReply, stp.wantCode, stp.wantText)
			}
		})
	}
	for _, c := range []struct {
		ip            string
		nice, naughty int
	}{{bad, 0, 2}, {good, 1, 0}} {
		r, err := karma.Lookup(context.Background(), st, netip.MustParseAddr(c.ip))
		if err != nil || r.Nice != c.nice || r.Naughty != c.naughty {
			t.Errorf("%s: history %+v %v, want nice=%d naughty=%d", c.ip, r, err, c.nice, c.naughty)
		}
	}
}
