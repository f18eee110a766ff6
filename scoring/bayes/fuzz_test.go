package bayes

import (
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/message"
)

// FuzzTokens feeds arbitrary messages through the MIME extraction and the
// tokenizer: they must never panic, stay within their limits, and give the
// same tokens twice.
func FuzzTokens(f *testing.F) {
	f.Add("Subject: hi\n\nhello world\n")
	f.Add("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/html\n\n<a href=\"http://a.example/p\">x</a><script>y</script>\n--x--\n")
	f.Add("Subject: =?utf-8?q?caf=C3=A9?=\nFrom: \"A\" <a@b.example>\nReceived: from x (y [192.0.2.1])\n\nwww.example.com user@host.example\n")
	f.Add("Content-Type: text/plain; charset=x-unknown\nContent-Transfer-Encoding: base64\n\n!!!notbase64\n")
	f.Add("Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nSubject: deep\n\nx\n")
	f.Fuzz(func(t *testing.T, raw string) {
		m, err := message.Parse(strings.NewReader(raw), 1<<20, t.TempDir())
		if err != nil {
			return
		}
		defer m.Close()
		tk := Tokenizer{Bigrams: len(raw)%2 == 0}
		a := tk.Tokens(Extract(m))
		b := tk.Tokens(Extract(m))
		if len(a) > MaxTokens {
			t.Fatalf("%d tokens > MaxTokens", len(a))
		}
		if len(a) != len(b) {
			t.Fatalf("tokens differ between runs: %d vs %d", len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("token %d differs: %q vs %q", i, a[i], b[i])
			}
		}
		if _, err := MessageID(m, ""); err != nil {
			t.Fatalf("MessageID: %v", err)
		}
	})
}
