package disclaimer

import (
	"bytes"
	"context"
	"flag"
	"io"
	"mime"
	stdmultipart "mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

var update = flag.Bool("update", false, "rewrite the .golden files")

// goldenText has non-ASCII characters and HTML specials, to exercise
// charsets, transfer encodings and escaping.
const goldenText = "Confidential: for the addressee only.\nVertraulich – nur für den Empfänger. <b>&</b>"

func parseFile(t *testing.T, path string) *message.Message {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := message.Parse(f, 1<<20, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// outgoing renders the message with the changes applied.
func outgoing(t *testing.T, m *message.Message, c *scoring.Changes) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, f := range c.ApplyHeaders(m.Header).Fields {
		b.WriteString(f.Raw())
	}
	b.WriteString("\r\n")
	body, err := c.BodyReader(m.BodyReader())
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(&b, body)
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.eml")
	if len(files) < 10 {
		t.Fatalf("only %d test messages", len(files))
	}
	mod := New(Config{Enabled: true, Text: goldenText, LocalDomains: []string{"example.com"}})
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".eml")
		t.Run(name, func(t *testing.T) {
			m := parseFile(t, path)
			tx := &scoring.Transaction{Profile: scoring.ProfileAuthenticated, MailFrom: "alice@example.com", Rcpts: []string{"bob@example.org"}, Message: m}
			c := &scoring.Changes{}
			if err := mod.Modify(context.Background(), tx, &scoring.Verdict{}, c); err != nil {
				t.Fatal(err)
			}
			status, _ := tx.Value(ValueKey)
			got := outgoing(t, m, c)
			got = append([]byte("X-Test-Outcome: "+status.(string)+"\r\n"), got...)
			gold := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(gold, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(gold)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (go test -update to accept):\n%s", gold, got)
			}
			checkOutcome(t, name, status.(string), got)
		})
	}
}

// checkOutcome asserts, independently of the golden file, that every
// rewritten text part decodes to content containing the disclaimer and that
// signed/encrypted messages are byte-for-byte unchanged.
func checkOutcome(t *testing.T, name, status string, out []byte) {
	t.Helper()
	switch {
	case strings.Contains(name, "signed"), strings.Contains(name, "pkcs7"), strings.Contains(name, "pgp"):
		if status != "skipped: "+ErrSigned.Error() {
			t.Errorf("status %q for a signed/encrypted message", status)
		}
		return
	case name == "mixed-only-attachment":
		if status != "skipped: "+ErrNoText.Error() {
			t.Errorf("status %q", status)
		}
		return
	}
	if status != "added" {
		t.Fatalf("status %q", status)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	texts := decodedTexts(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	found := 0
	for _, tx := range texts {
		switch {
		case tx.html && strings.Contains(tx.body, "&lt;b&gt;&amp;&lt;/b&gt;"):
			found++
			if strings.Contains(tx.body, "<b>&</b>") {
				t.Errorf("HTML part has the text unescaped")
			}
		case !tx.html && strings.Contains(tx.body, "Vertraulich – nur für den Empfänger. <b>&</b>"):
			found++
		}
	}
	if found == 0 {
		t.Errorf("no decoded text part carries the disclaimer: %+v", texts)
	}
}

type decoded struct {
	html bool
	body string
}

// decodedTexts decodes the text parts with the standard library (an
// independent decoder) into UTF-8.
func decodedTexts(t *testing.T, ctype, cte string, r io.Reader, depth int) []decoded {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if ctype == "" {
		mt, params, err = "text/plain", map[string]string{}, nil
	}
	if err != nil || depth > 5 {
		return nil
	}
	if strings.HasPrefix(mt, "multipart/") {
		var out []decoded
		mr := stdmultipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				break
			}
			if strings.HasPrefix(p.Header.Get("Content-Disposition"), "attachment") {
				continue
			}
			out = append(out, decodedTexts(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)...)
		}
		return out
	}
	if mt != "text/plain" && mt != "text/html" {
		return nil
	}
	raw, _ := io.ReadAll(r)
	b, ok := decodeCTE(strings.ToLower(cte), raw)
	if cte == "" {
		b, ok = raw, true
	}
	if !ok {
		t.Errorf("part does not decode as %s", cte)
		return nil
	}
	cs := strings.ToLower(params["charset"])
	if cs == "" {
		cs = "us-ascii"
	}
	u, ok := toUTF8(cs, b)
	if !ok {
		t.Errorf("part not valid %s", cs)
	}
	s := string(u)
	if mt == "text/html" {
		s = resolveNCR(s)
	}
	return []decoded{{html: mt == "text/html", body: s}}
}

// resolveNCR turns &#NNN; references back into characters.
func resolveNCR(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "&#")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], ';')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		var r rune
		ok := true
		for _, c := range s[i+2 : i+j] {
			if c < '0' || c > '9' {
				ok = false
				break
			}
			r = r*10 + (c - '0')
		}
		b.WriteString(s[:i])
		if ok {
			b.WriteRune(r)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
}

func TestWhoGetsIt(t *testing.T) {
	mod := New(Config{Enabled: true, Text: "Default text", Domains: map[string]string{"example.net": "Net text"}, LocalDomains: []string{"example.com"}})
	tests := []struct {
		name    string
		profile scoring.Profile
		nonSMTP bool
		from    string
		rcpts   []string
		want    string // outcome; "" none
		text    string
	}{
		{"inbound", scoring.ProfileRemote, false, "x@example.org", []string{"a@example.com"}, "", ""},
		{"internal only", scoring.ProfileLocal, false, "alice@example.com", []string{"b@example.com", "c@example.net"}, "skipped: internal recipients only", ""},
		{"external", scoring.ProfileLocal, false, "alice@example.com", []string{"b@example.com", "z@example.org"}, "added", "Default text"},
		{"per-domain text", scoring.ProfileAuthenticated, false, "carol@example.net", []string{"z@example.org"}, "added", "Net text"},
		{"sendmail(1)", scoring.ProfileRemote, true, "alice@example.com", []string{"z@example.org"}, "added", "Default text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := message.Parse(strings.NewReader("From: "+tt.from+"\r\nSubject: x\r\n\r\nbody\r\n"), 1<<20, "")
			defer m.Close()
			tx := &scoring.Transaction{Profile: tt.profile, NonSMTP: tt.nonSMTP, MailFrom: tt.from, Rcpts: tt.rcpts, Message: m}
			c := &scoring.Changes{}
			if err := mod.Modify(context.Background(), tx, &scoring.Verdict{}, c); err != nil {
				t.Fatal(err)
			}
			got, _ := tx.Value(ValueKey)
			if got == nil {
				got = ""
			}
			if got != tt.want {
				t.Fatalf("outcome %q, want %q", got, tt.want)
			}
			if tt.text == "" {
				if c.NewBody != nil {
					t.Fatal("body replaced")
				}
				return
			}
			b, _ := io.ReadAll(c.NewBody)
			if want := "body\r\n\r\n" + tt.text + "\r\n"; string(b) != want {
				t.Errorf("body %q, want %q", b, want)
			}
		})
	}
}
