package sortspam

import (
	"context"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

func TestModify(t *testing.T) {
	m := New(Config{Enabled: true, Header: "X-Mailwarden-Sort", Value: "Junk", OptOut: []string{"boss@example.org", "*@noise.example", "alice"}})
	tests := []struct {
		name   string
		action scoring.Action
		score  float64
		rcpts  []string
		forged bool
		want   []scoring.HeaderChange
	}{
		{"tagged", scoring.Tag, 6, []string{"bob@example.org"}, false,
			[]scoring.HeaderChange{{Op: scoring.AddHeader, Name: "X-Mailwarden-Sort", Value: "Junk"}}},
		{"ham", scoring.Accept, 1, []string{"bob@example.org"}, false, nil},
		{"all opted out", scoring.Tag, 6, []string{"boss@example.org", "x@noise.example", "alice@example.org"}, false, nil},
		{"mixed recipients", scoring.Tag, 6, []string{"boss@example.org", "bob@example.org"}, false,
			[]scoring.HeaderChange{{Op: scoring.AddHeader, Name: "X-Mailwarden-Sort", Value: "Junk"}}},
		{"forged header removed on ham", scoring.Accept, 0, []string{"bob@example.org"}, true,
			[]scoring.HeaderChange{{Op: scoring.ChangeHeader, Index: 1, Name: "X-Mailwarden-Sort"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := "From: a@b.example\r\n"
			if tc.forged {
				hdr += "X-Mailwarden-Sort: Junk\r\n"
			}
			msg, err := message.Parse(strings.NewReader(hdr+"\r\nbody\r\n"), 0, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer msg.Close()
			tx := &scoring.Transaction{Message: msg, Rcpts: tc.rcpts}
			v := &scoring.Verdict{Action: tc.action, Score: tc.score, Required: 4, Scanned: true}
			c := &scoring.Changes{}
			if err := m.Modify(context.Background(), tx, v, c); err != nil {
				t.Fatal(err)
			}
			if len(c.Headers) != len(tc.want) {
				t.Fatalf("changes %+v, want %+v", c.Headers, tc.want)
			}
			for i := range tc.want {
				if c.Headers[i] != tc.want[i] {
					t.Errorf("change %d = %+v, want %+v", i, c.Headers[i], tc.want[i])
				}
			}
		})
	}
}
