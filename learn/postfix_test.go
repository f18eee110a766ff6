package learn

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/testenv"
)

// e2eConfig: a real mailwarden whose watcher learns from maildirs under a
// temp dir; Bayes scores from 5 spam and 5 ham; checks needing DNS are off.
const e2eConfig = `
[server]
milter_listen = "{{MILTER}}"
state_dir = "{{STATE}}"
[bayes]
min_spam = 5
min_ham = 5
autolearn = false
[bayes.learn]
maildirs = [%q]
interval = "10s"
[envelope.resolvable_fromhost]
enabled = false
[envelope.helo]
policy = "off"
`

func spamText(i int) string {
	return fmt.Sprintf("From: Deals <deals%d@cheap-pills.example>\nTo: you@example.org\nSubject: Cheap pills discount offer %d\nDate: Tue, 3 Dec 2024 10:00:00 +0000\nMessage-ID: <s%d@cheap-pills.example>\n\n"+
		"Buy cheap pills now, huge discount, limited offer, click here http://cheap-pills.example/buy today. Viagra cialis pharmacy order %d.\n", i, i, i, i)
}

func hamText(i int) string {
	return fmt.Sprintf("From: Alice <alice@colleague.example>\nTo: you@example.org\nSubject: Meeting notes %d\nDate: Tue, 3 Dec 2024 10:00:00 +0000\nMessage-ID: <h%d@colleague.example>\n\n"+
		"Hi, attached are the meeting notes from the project review. The quarterly budget and schedule look fine; see you at the standup. Regards, Alice %d\n", i, i, i)
}

// TestPostfixEndToEnd: the daemon's watcher learns users' LearnAsSpam and
// LearnAsHam folders and deletes them; then mail through a real Postfix
// with mailwarden as its milter gets BAYES_99 or BAYES_00 in X-Spam-Status;
// `mailwarden learn` and `bayes stats` work on the same store while the
// daemon runs.
func TestPostfixEndToEnd(t *testing.T) {
	root := t.TempDir()
	md := filepath.Join(root, "users", "alice", "Maildir")
	for i := 0; i < 8; i++ {
		put(t, filepath.Join(md, ".LearnAsSpam", "new"), fmt.Sprintf("%d.s.host", i), spamText(i))
		put(t, filepath.Join(md, ".LearnAsHam", "cur"), fmt.Sprintf("%d.h.host:2,S", i), hamText(i))
	}
	d := testenv.StartDaemon(t, fmt.Sprintf(e2eConfig, filepath.Join(root, "users", "*", "Maildir")))
	deadline := time.Now().Add(30 * time.Second)
	for countFiles(t, root) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("watcher left %d messages after 30s\n%s", countFiles(t, root), d.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !regexp.MustCompile(`learn report.*user=alice.*learned_spam=8.*learned_ham=8`).MatchString(d.Log()) {
		t.Errorf("no per-user report in the log:\n%s", d.Log())
	}

	// The CLI shares the store with the running daemon.
	bin := testenv.Mailwarden(t)
	extra := put(t, t.TempDir(), "extra.eml", hamText(100))
	out, err := exec.Command(bin, "learn", "-c", d.ConfigPath, "--ham", extra).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Learned 1 message(s) as ham") {
		t.Fatalf("mailwarden learn while the daemon runs: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "bayes", "stats", "-c", d.ConfigPath).CombinedOutput()
	if err != nil || !regexp.MustCompile(`nspam\s+8\b`).Match(out) || !regexp.MustCompile(`nham\s+9\b`).Match(out) {
		t.Fatalf("bayes stats: %v\n%s", err, out)
	}

	pf := testenv.StartPostfix(t, testenv.PostfixOptions{Milter: d.Milter})
	tests := []struct {
		name, msg string
		want      *regexp.Regexp
	}{
		{"spam", spamText(200), regexp.MustCompile(`BAYES_99`)},
		{"ham", hamText(200), regexp.MustCompile(`BAYES_00`)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := pf.Send(t, "sender@example.com", []string{"you@example.org"}, []byte(strings.ReplaceAll(tt.msg, "\n", "\r\n")))
			if r.Code != 250 {
				t.Fatalf("send: %v\n%s", r, d.Log())
			}
			msgs := pf.Sink.Wait(t, i+1, 30*time.Second)
			raw := string(msgs[i].Raw)
			status := ""
			for _, line := range strings.Split(strings.ReplaceAll(raw, "\r\n\t", " "), "\r\n") {
				if strings.HasPrefix(line, "X-Spam-Status:") {
					status = line
				}
			}
			if !tt.want.MatchString(status) {
				t.Errorf("X-Spam-Status %q, want %v\n%s", status, tt.want, d.Log())
			}
		})
	}
	_ = os.Remove(extra)
}

// autolearnConfig: a real mailwarden with autolearn on (as the daemon runs
// it: in the background, after the reply) and no watcher work.
const autolearnConfig = `
[server]
milter_listen = "{{MILTER}}"
state_dir = "{{STATE}}"
[bayes]
autolearn = true
[bayes.learn]
maildirs = [%q]
[envelope.resolvable_fromhost]
enabled = false
[envelope.helo]
policy = "off"
`

// TestPostfixAutolearn: a clean message through a real Postfix is learned
// as ham by the daemon's autolearn (score at most 0.1), which `bayes stats`
// shows on the shared store; the same message again is not learned twice.
func TestPostfixAutolearn(t *testing.T) {
	d := testenv.StartDaemon(t, fmt.Sprintf(autolearnConfig, filepath.Join(t.TempDir(), "none", "*", "Maildir")))
	pf := testenv.StartPostfix(t, testenv.PostfixOptions{Milter: d.Milter})
	bin := testenv.Mailwarden(t)
	nham := func() string {
		out, err := exec.Command(bin, "bayes", "stats", "-c", d.ConfigPath).CombinedOutput()
		if err != nil {
			t.Fatalf("bayes stats: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`nham\s+(\d+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("bayes stats without nham:\n%s", out)
		}
		return string(m[1])
	}
	// Dated now: a Date days old would score MW_DATE_IN_PAST_96.
	msg := strings.Replace(hamText(300), "Tue, 3 Dec 2024 10:00:00 +0000", time.Now().Format(time.RFC1123Z), 1)
	send := func(n int) {
		t.Helper()
		if r := pf.Send(t, "alice@colleague.example", []string{"you@example.org"}, []byte(strings.ReplaceAll(msg, "\n", "\r\n"))); r.Code != 250 {
			t.Fatalf("send: %v\n%s", r, d.Log())
		}
		pf.Sink.Wait(t, n, 30*time.Second)
	}
	send(1)
	deadline := time.Now().Add(20 * time.Second)
	for nham() != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("not autolearned as ham after 20 s: nham %s\n%s", nham(), d.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	send(2)
	time.Sleep(2 * time.Second) // past the background learner's 500 ms linger
	if n := nham(); n != "1" {
		t.Errorf("the same message again: nham %s, want 1", n)
	}
}
