package scoring

import (
	"io"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/message"
)

func render(h message.Header) string {
	var b strings.Builder
	for _, f := range h.Fields {
		b.WriteString(f.Raw())
	}
	return b.String()
}

func TestApplyHeaders(t *testing.T) {
	base := func() message.Header {
		var h message.Header
		h.Add("From", " a@example.com")
		h.Add("X-Spam-Flag", " YES")
		h.Add("Subject", " hello")
		h.Add("X-Spam-Flag", " YES")
		return h
	}
	tests := []struct {
		name  string
		apply func(c *Changes)
		want  string
	}{
		{"nothing", func(c *Changes) {}, "From: a@example.com\r\nX-Spam-Flag: YES\r\nSubject: hello\r\nX-Spam-Flag: YES\r\n"},
		{"add appends with a space", func(c *Changes) { c.Add("X-Spam-Status", "No, score=1") },
			"From: a@example.com\r\nX-Spam-Flag: YES\r\nSubject: hello\r\nX-Spam-Flag: YES\r\nX-Spam-Status: No, score=1\r\n"},
		{"insert at top", func(c *Changes) { c.Insert(0, "DKIM-Signature", "v=1") },
			"DKIM-Signature: v=1\r\nFrom: a@example.com\r\nX-Spam-Flag: YES\r\nSubject: hello\r\nX-Spam-Flag: YES\r\n"},
		{"insert past end clamps", func(c *Changes) { c.Insert(99, "X-A", "1") },
			"From: a@example.com\r\nX-Spam-Flag: YES\r\nSubject: hello\r\nX-Spam-Flag: YES\r\nX-A: 1\r\n"},
		{"delete second then first", func(c *Changes) { c.Delete("x-spam-flag", 2); c.Delete("X-Spam-Flag", 1) },
			"From: a@example.com\r\nSubject: hello\r\n"},
		{"change keeps position", func(c *Changes) { c.Change("Subject", 1, " [SPAM] hello") },
			"From: a@example.com\r\nX-Spam-Flag: YES\r\nSubject: [SPAM] hello\r\nX-Spam-Flag: YES\r\n"},
		{"change missing index appends", func(c *Changes) { c.Change("Subject", 2, "two") },
			"From: a@example.com\r\nX-Spam-Flag: YES\r\nSubject: hello\r\nX-Spam-Flag: YES\r\nSubject: two\r\n"},
		{"delete missing is a no-op", func(c *Changes) { c.Delete("Reply-To", 1) },
			"From: a@example.com\r\nX-Spam-Flag: YES\r\nSubject: hello\r\nX-Spam-Flag: YES\r\n"},
		{"folded LF value becomes CRLF", func(c *Changes) { c.Add("X-Long", "a\n\tb") },
			"From: a@example.com\r\nX-Spam-Flag: YES\r\nSubject: hello\r\nX-Spam-Flag: YES\r\nX-Long: a\r\n\tb\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := base()
			c := &Changes{}
			tt.apply(c)
			got := render(c.ApplyHeaders(h))
			if got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			if render(h) != render(base()) {
				t.Errorf("ApplyHeaders modified its input")
			}
		})
	}
}

func TestBodyReader(t *testing.T) {
	t.Run("original", func(t *testing.T) {
		c := &Changes{}
		r, err := c.BodyReader(strings.NewReader("orig\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		if string(b) != "orig\r\n" {
			t.Fatalf("got %q", b)
		}
	})
	t.Run("replacement stays readable", func(t *testing.T) {
		c := &Changes{NewBody: io.MultiReader(strings.NewReader("new "), strings.NewReader("body\r\n"))}
		for i := 0; i < 2; i++ {
			r, err := c.BodyReader(strings.NewReader("orig\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r)
			if string(b) != "new body\r\n" {
				t.Fatalf("read %d: got %q", i, b)
			}
		}
		// What the front-end finally sends is still whole.
		b, _ := io.ReadAll(c.NewBody)
		if string(b) != "new body\r\n" {
			t.Fatalf("NewBody consumed: %q", b)
		}
	})
}
