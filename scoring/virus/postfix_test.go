package virus

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/clamd/clamdtest"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// e2eConfig: a real mailwarden with the virus and attachment checks, clamd
// on loopback; the envelope checks that would need DNS are off.
const e2eConfig = `
[server]
milter_listen = "{{MILTER}}"
state_dir = "{{STATE}}"
[virus]
enabled = true
clamd = "inet:%s"
timeout = "5s"
on_failure = "tempfail"
[attachments]
enabled = true
[envelope.resolvable_fromhost]
enabled = false
[envelope.helo]
policy = "off"
`

// TestPostfixEndToEnd: through a private Postfix with mailwarden as its
// milter, the EICAR message gets 554 at the SMTP client and never reaches
// the sink; a blocked attachment likewise, with its name in the reply; clean
// mail is delivered; with clamd stopped the client gets the tempfail.
func TestPostfixEndToEnd(t *testing.T) {
	clam := clamdtest.Start(t)
	d := testenv.StartDaemon(t, fmt.Sprintf(e2eConfig, clam.Addr))
	pf := testenv.StartPostfix(t, testenv.PostfixOptions{Milter: d.Milter})
	from, rcpts := "sender@example.com", []string{"rcpt@example.org"}

	for name, msg := range eicarMessages(t) {
		t.Run("eicar "+name, func(t *testing.T) {
			r := pf.Send(t, from, rcpts, msg)
			if r.Code != 554 || !strings.Contains(r.Text, "5.7.1") || !strings.Contains(r.Text, clamdtest.Signature) {
				t.Fatalf("got %v, want 554 5.7.1 naming %s\n%s", r, clamdtest.Signature, pf.Log())
			}
		})
	}
	// A Windows executable's first bytes: "MZ", e_lfanew at 0x3C -> "PE\0\0".
	pe := make([]byte, 0x100)
	copy(pe, "MZ")
	pe[0x3c] = 0x80
	copy(pe[0x80:], "PE\x00\x00")
	blocked := []struct{ name, file string }{
		{"blocked extension", b64part("setup.exe", []byte("not really"))},
		{"disguised executable", b64part("holiday.jpg", pe)},
		{"blocked name inside a zip", b64part("docs.zip", zipOf(t, "invoice.pdf.scr", []byte("x")))},
	}
	want := []string{`"setup.exe"`, `"holiday.jpg"`, `"docs.zip/invoice.pdf.scr"`}
	for i, tc := range blocked {
		t.Run(tc.name, func(t *testing.T) {
			r := pf.Send(t, from, rcpts, mail(tc.file))
			if r.Code != 554 || !strings.Contains(r.Text, want[i]) {
				t.Fatalf("got %v, want 554 naming %s", r, want[i])
			}
		})
	}
	t.Run("clean delivered", func(t *testing.T) {
		r := pf.Send(t, from, rcpts, cleanMessage())
		if r.Code != 250 {
			t.Fatalf("clean message: %v\n%s", r, pf.Log())
		}
		msgs := pf.Sink.Wait(t, 1, 20*time.Second)
		// Only the clean message reached the sink: the refused ones never did.
		time.Sleep(500 * time.Millisecond)
		if n := len(pf.Sink.Messages()); n != 1 {
			t.Fatalf("sink has %d messages, want only the clean one", n)
		}
		if !strings.Contains(string(msgs[0].Raw), `filename="report.pdf"`) {
			t.Fatalf("sink got an unexpected message:\n%s", msgs[0].Raw)
		}
		if h := msgs[0].Header(HeaderName); !strings.HasPrefix(h, "Checked by ClamAV on ") {
			t.Fatalf("%s = %q", HeaderName, h)
		}
	})
	t.Run("clamd stopped", func(t *testing.T) {
		clam.Stop()
		r := pf.Send(t, from, rcpts, cleanMessage())
		if r.Code != 451 || !strings.Contains(r.Text, "4.7.1") {
			t.Fatalf("got %v, want 451 4.7.1", r)
		}
		if n := len(pf.Sink.Messages()); n != 1 {
			t.Fatalf("sink has %d messages after a tempfail", n)
		}
	})
}
