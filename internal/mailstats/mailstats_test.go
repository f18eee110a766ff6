package mailstats

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/scoring"
)

func TestCategory(t *testing.T) {
	remote := &scoring.Transaction{Profile: scoring.ProfileRemote}
	auth := &scoring.Transaction{Profile: scoring.ProfileAuthenticated}
	forced := func(a scoring.Action, check, reason string) *scoring.Verdict {
		return &scoring.Verdict{Action: a, Forced: &scoring.Forced{Action: a, Check: check, Reason: reason}}
	}
	tests := []struct {
		name string
		tx   *scoring.Transaction
		v    *scoring.Verdict
		want string
	}{
		{"clean", remote, &scoring.Verdict{Action: scoring.Accept}, "ham"},
		{"outbound", auth, &scoring.Verdict{Action: scoring.Accept}, "outbound"},
		{"tagged", remote, &scoring.Verdict{Action: scoring.Tag, Score: 6, Required: 4}, "spam-tagged"},
		{"score reject", remote, &scoring.Verdict{Action: scoring.Reject, Score: 15}, "spam-rejected"},
		{"virus", remote, forced(scoring.Reject, "virus", "Eicar"), "virus"},
		{"attachment", remote, forced(scoring.Reject, "attachments", "x.exe"), "attachment"},
		{"dnsbl", remote, forced(scoring.Reject, "dnsbl", "listed"), "dnsbl"},
		{"rhsbl", remote, forced(scoring.Reject, "rhsbl", "listed"), "dnsbl"},
		{"spf policy", remote, forced(scoring.Reject, "dmarc", "SPF fail under SPFRejectPolicy 1"), "spf"},
		{"dmarc", remote, forced(scoring.Reject, "dmarc", "p=reject"), "dmarc"},
		{"karma", remote, forced(scoring.Reject, "karma", "naughty"), "karma"},
		{"greylist", remote, forced(scoring.Tempfail, "greylist", "new triplet"), "greylisted"},
		{"helo", remote, forced(scoring.Reject, "helo", "forged"), "rejected-other"},
		{"clamd down", remote, forced(scoring.Tempfail, "virus", "clamd: refused"), "virus"},
		{"other tempfail", remote, forced(scoring.Tempfail, "resolvable_fromhost", "dns"), "tempfail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Category(tt.tx, tt.v); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "state.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestRecordLoadRender(t *testing.T) {
	st := openStore(t)
	r := NewRecorder(st, 31)
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.Local)
	at := func(h int) { r.now = func() time.Time { return day.Add(time.Duration(h)*time.Hour + 10*time.Minute) } }
	ctx := context.Background()
	remote := &scoring.Transaction{Profile: scoring.ProfileRemote, Rcpts: []string{"Alice@example.org", "bob@example.org"}}
	at(9)
	for i := 0; i < 4; i++ {
		r.Observe(ctx, remote, &scoring.Verdict{Action: scoring.Accept})
	}
	at(10)
	r.Observe(ctx, remote, &scoring.Verdict{Action: scoring.Tag, Score: 5, Required: 4})
	r.Observe(ctx, remote, &scoring.Verdict{Action: scoring.Reject, Forced: &scoring.Forced{Check: "virus"},
		Symbols: []scoring.Symbol{{Name: "CLAM_VIRUS", Options: []string{"Eicar-Test-Signature"}}}})
	r.Observe(ctx, remote, &scoring.Verdict{Action: scoring.Reject, Forced: &scoring.Forced{Check: "dnsbl"},
		Symbols: []scoring.Symbol{{Name: "RBL_LISTED", Options: []string{"zen.example:192.0.2.1:spam-source"}}}})
	// Another day: must not show.
	r.now = func() time.Time { return day.AddDate(0, 0, 1).Add(time.Hour) }
	r.Observe(ctx, remote, &scoring.Verdict{Action: scoring.Accept})

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := Load(ctx, st, day)
	if err != nil {
		t.Fatal(err)
	}
	if d.Total() != 7 || d.Totals["ham"] != 4 || d.Totals["spam-tagged"] != 1 || d.Totals["virus"] != 1 || d.Totals["dnsbl"] != 1 {
		t.Fatalf("totals %v", d.Totals)
	}
	if d.Hourly[9]["ham"] != 4 || d.Hourly[10]["virus"] != 1 {
		t.Fatalf("hourly 9=%v 10=%v", d.Hourly[9], d.Hourly[10])
	}
	if len(d.Recipients) != 2 || d.Recipients[0].Count != 5 || d.Recipients[0].Name != "alice@example.org" {
		t.Fatalf("recipients %v (delivered only, lower-cased)", d.Recipients)
	}
	if len(d.Viruses) != 1 || d.Viruses[0] != (Count{"Eicar-Test-Signature", 1}) {
		t.Fatalf("viruses %v", d.Viruses)
	}
	if len(d.Lists) != 1 || d.Lists[0].Name != "zen.example" {
		t.Fatalf("lists %v", d.Lists)
	}
	var text, html bytes.Buffer
	d.Text(&text, "mx.example.org")
	if !strings.Contains(text.String(), "ham                     4") || !strings.Contains(text.String(), "total                   7") {
		t.Errorf("text report:\n%s", text.String())
	}
	d.HTML(&html, "mx.example.org")
	if got := HTMLCounts(html.String()); got["total"] != 7 || got["ham"] != 4 || got["virus"] != 1 {
		t.Errorf("HTML counts %v", got)
	}
	if strings.Count(html.String(), "<rect ") != 4 {
		t.Errorf("chart bars: %d, want 4 (ham at 09; spam-tagged, dnsbl, virus at 10)", strings.Count(html.String(), "<rect "))
	}
	msg, err := d.Mail("mx.example.org", "mailwarden@mx.example.org", "admin@example.org", time.Now())
	if err != nil || !bytes.Contains(msg, []byte("multipart/alternative")) || !bytes.Contains(msg, []byte("text/html")) {
		t.Fatalf("mail: %v", err)
	}
}

var countRE = regexp.MustCompile(`(?:id="total"|data-category="([a-z-]+)") data-count="(\d+)"`)

// HTMLCounts extracts the total and per-category counts of an HTML report.
func HTMLCounts(html string) map[string]int {
	out := map[string]int{}
	for _, m := range countRE.FindAllStringSubmatch(html, -1) {
		n := 0
		for _, c := range m[2] {
			n = n*10 + int(c-'0')
		}
		key := m[1]
		if key == "" {
			key = "total"
		}
		out[key] = n
	}
	return out
}

func TestJunkCounts(t *testing.T) {
	root := t.TempDir()
	for user, n := range map[string]int{"alice": 3, "bob": 0} {
		for _, sub := range []string{"cur", "new", "tmp"} {
			dir := filepath.Join(root, user, "Maildir", ".junkmail", sub)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < n; i++ {
			os.WriteFile(filepath.Join(root, user, "Maildir", ".junkmail", "cur", fmt.Sprint(i)), []byte("x"), 0o644)
		}
		// tmp/ holds deliveries in progress: not counted.
		os.WriteFile(filepath.Join(root, user, "Maildir", ".junkmail", "tmp", "partial"), []byte("x"), 0o644)
	}
	for _, folder := range []string{"junkmail", ".junkmail"} {
		got := JunkCounts([]string{filepath.Join(root, "*", "Maildir")}, folder)
		if len(got) != 2 || got[0] != (Count{"alice", 3}) || got[1] != (Count{"bob", 0}) {
			t.Fatalf("folder %q: %v", folder, got)
		}
	}
}
