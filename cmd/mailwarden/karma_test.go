package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/testenv"
	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/karma"
)

func TestKarmaCommand(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "mailwarden.toml")
	os.WriteFile(cfgPath, fmt.Appendf(nil, "[server]\nstate_dir = %q\n", dir), 0o600)
	st, err := store.OpenBolt(filepath.Join(dir, "state.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := karma.New(karma.Config{Store: st, Negative: 2, Strikes: 3, Penalty: 24 * time.Hour, Expiry: 48 * time.Hour})
	bad, good := netip.MustParseAddr("192.0.2.66"), netip.MustParseAddr("198.51.100.5")
	for range 2 {
		c.Observe(context.Background(), &scoring.Transaction{Client: scoring.Client{Addr: bad}}, &scoring.Verdict{Action: scoring.Reject})
	}
	c.Observe(context.Background(), &scoring.Transaction{Client: scoring.Client{Addr: good}}, &scoring.Verdict{Action: scoring.Accept, Scanned: true, Required: 4})
	st.Close()

	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := dispatch(append([]string{"karma", "-c", cfgPath}, args...), &out, &errb)
		return out.String() + errb.String(), code
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		want    []string
		notWant []string
	}{
		{"list shows the penalized host only", []string{"list"}, 0, []string{"192.0.2.66", "naughty=2", "PENALIZED"}, []string{"198.51.100.5"}},
		{"list --all shows both", []string{"list", "--all"}, 0, []string{"192.0.2.66", "198.51.100.5 ", "nice=1"}, nil},
		{"show", []string{"show", "198.51.100.5"}, 0, []string{"nice=1 naughty=0", " ok"}, nil},
		{"forget", []string{"forget", "192.0.2.66"}, 0, []string{"history deleted"}, nil},
		{"list after forget is empty", []string{"list"}, 0, nil, []string{"192.0.2.66"}},
		{"bad address", []string{"show", "nope"}, 2, []string{"not an IP address"}, nil},
		{"bad subcommand", []string{"zap", "192.0.2.1"}, 2, []string{"unknown subcommand"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := run(tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestDaemonKarmaCountsEveryMessage: a real daemon with karma on (its nice
// judgements written behind the replies) counts every delivered message of a
// remote client, none lost at shutdown, as `mailwarden karma` then shows.
func TestDaemonKarmaCountsEveryMessage(t *testing.T) {
	d := testenv.StartDaemon(t, `
[server]
state_dir = "{{STATE}}"
[profiles]
local_networks = []
[karma]
enabled = true
[virus]
enabled = false
[spf]
enabled = false
[dmarc]
enabled = false
[envelope.resolvable_fromhost]
enabled = false
`)
	const n = 40
	hdr := [][2]string{{"From", " Alice <sender@example.com>"}, {"To", " rcpt@example.org"}, {"Subject", " hello"},
		{"Date", " Mon, 7 Dec 2026 10:00:00 +0000"}, {"Message-ID", " <1@example.com>"}}
	for i := range n {
		r := testenv.MilterSend(t, d.MilterAddr, "192.0.2.77", hdr, "Lunch at noon?\r\n")
		if r.Action.Type != gomilter.ActionAccept && r.Action.Type != gomilter.ActionContinue {
			t.Fatalf("message %d: %+v\n%s", i, r.Action, d.Log())
		}
	}
	d.Stop() // SIGTERM: the daemon drains and closes its checks before the store
	var out, errb bytes.Buffer
	if code := dispatch([]string{"karma", "-c", d.ConfigPath, "show", "192.0.2.77"}, &out, &errb); code != 0 {
		t.Fatalf("karma show: exit %d: %s", code, errb.String())
	}
	if want := fmt.Sprintf("nice=%d naughty=0", n); !strings.Contains(out.String(), want) {
		t.Fatalf("karma show: %q, want %q\n%s", out.String(), want, d.Log())
	}
}
