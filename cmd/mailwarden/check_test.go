package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/scoring/gtube"
)

// TestCheckCommand runs `mailwarden check` on messages with LF and CRLF line
// endings and an mbox From line: --json gives score, action and symbols; the
// text form lists the symbols; --no-dns leaves the DNS checks out.
func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "mailwarden.toml")
	if err := os.WriteFile(conf, []byte("[virus]\nenabled = false\n[dns]\nservers = [\"127.0.0.1:9\"]\ntimeout = \"200ms\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const head = "From: Alice <alice@example.com>\nTo: bob@example.org\nSubject: hello\nDate: Mon, 7 Dec 2026 10:00:00 +0000\nMessage-ID: <1@example.com>\n\n"
	spam := write("gtube.eml", "From MAILER-DAEMON Mon Dec  7 10:00:00 2026\n"+head+gtube.String+"\n")
	ham := write("ham.eml", strings.ReplaceAll(head+"Lunch at noon?\n", "\n", "\r\n"))

	for _, tt := range []struct {
		file       string
		wantAction string
		wantSym    string
		minScore   float64
	}{
		{spam, "tag", "GTUBE", 1000},
		{ham, "accept", "", 0},
	} {
		out, errOut, code := run(t, "check", "-c", conf, "--no-dns", "--ip", "192.0.2.10", "--from", "alice@example.com", "--json", tt.file)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tt.file, code, errOut)
		}
		var got struct {
			Score   float64 `json:"score"`
			Action  string  `json:"action"`
			Symbols []struct {
				Name string `json:"name"`
			} `json:"symbols"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", tt.file, err, out)
		}
		names := ""
		for _, s := range got.Symbols {
			names += s.Name + " "
		}
		if got.Score < tt.minScore || (tt.wantAction == "accept") != (got.Action == "accept") {
			t.Errorf("%s: score %.2f action %s, want >= %.0f and %s (symbols %s)", tt.file, got.Score, got.Action, tt.minScore, tt.wantAction, names)
		}
		if tt.wantSym != "" && !strings.Contains(names, tt.wantSym) {
			t.Errorf("%s: symbols %s lack %s", tt.file, names, tt.wantSym)
		}
		for _, dnsSym := range []string{"SPF_", "DKIM_", "DMARC_", "CHECK_ERROR"} {
			if strings.Contains(names, dnsSym) {
				t.Errorf("%s: --no-dns, yet %s in %s", tt.file, dnsSym, names)
			}
		}
	}
	out, _, code := run(t, "check", "-c", conf, "--no-dns", spam)
	if code != 0 || !strings.Contains(out, "GTUBE") || !strings.Contains(out, "Score:") {
		t.Errorf("text output (exit %d):\n%s", code, out)
	}
}
