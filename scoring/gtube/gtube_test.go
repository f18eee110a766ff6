package gtube

import (
	"context"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

func TestGTUBE(t *testing.T) {
	tests := []struct {
		name, body string
		want       bool
	}{
		{"plain", "Subject: t\r\n\r\nhello\r\n" + String + "\r\n", true},
		{"base64", "Subject: t\r\nContent-Transfer-Encoding: base64\r\n\r\nWEpTKkM0SkRCUUFETjEuTlNCTjMqMklETkVOKkdUVUJFLVNUQU5EQVJELUFOVEktVUJFLVRFU1QtRU1BSUwqQy4zNFg=\r\n", true},
		{"absent", "Subject: t\r\n\r\nXJS*C4JDBQADN1 but not the whole string\r\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := message.Parse(strings.NewReader(tc.body), 0, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			e, err := scoring.New(scoring.Options{Levels: scoring.Levels{TagLevel: 5, RejectLevel: 15, RejectEnabled: true}}, []scoring.Check{Check{}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			tx := &scoring.Transaction{Message: m}
			e.RunStage(context.Background(), scoring.StageEOM, tx)
			v := e.Verdict(tx)
			if got := tx.HasSymbol(Symbol); got != tc.want {
				t.Fatalf("GTUBE = %v, want %v", got, tc.want)
			}
			if tc.want && (v.Action != scoring.Reject || v.Score < 1000) {
				t.Errorf("verdict %v score %.1f, want reject >= 1000", v.Action, v.Score)
			}
		})
	}
}
