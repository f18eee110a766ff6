package virus

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/clamd/clamdtest"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

// benchMessage is a typical business mail: a text body and a ~30 kB
// attachment (base64), about 45 kB on the wire.
func benchMessage() []byte {
	body := strings.Repeat("Please find the quarterly figures attached. Regards, Accounts.\r\n", 40)
	att := bytes.Repeat([]byte("%PDF-1.4 lorem ipsum dolor sit amet 0123456789\n"), 650)
	return []byte("From: a@example.com\r\nTo: b@example.org\r\nSubject: figures\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\n" + body +
		"--BB\r\nContent-Type: application/pdf; name=\"q.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(att) + "\r\n--BB--\r\n")
}

// BenchmarkEOM measures the end-of-message stage of an engine with the
// virus check, per message, against the same engine without it: the
// difference is the latency clamd adds.
func BenchmarkEOM(b *testing.B) {
	srv := clamdtest.Start(b)
	msg := benchMessage()
	sessions := srv.Client(10 * time.Second)
	sessions.Sessions = 4
	defer sessions.Close()
	cases := []struct {
		name  string
		check scoring.Check
	}{
		{"without-virus", nil},
		{"mode=message", New(Config{Client: srv.Client(10 * time.Second), Tempfail: true, Mode: ModeMessage})},
		{"mode=parts", New(Config{Client: srv.Client(10 * time.Second), Tempfail: true, Mode: ModeParts})},
		{"mode=message/sessions", New(Config{Client: sessions, Tempfail: true, Mode: ModeMessage})},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var checks []scoring.Check
			if tc.check != nil {
				checks = append(checks, tc.check)
			}
			e, err := scoring.New(scoring.Options{CheckTimeout: 10 * time.Second, Levels: scoring.Levels{TagLevel: 4}}, checks, nil)
			if err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				m, err := message.Parse(bytes.NewReader(msg), 1<<20, dir)
				if err != nil {
					b.Fatal(err)
				}
				tx := &scoring.Transaction{Message: m, Profile: scoring.ProfileRemote}
				e.RunStage(context.Background(), scoring.StageEOM, tx)
				if v := e.Verdict(tx); v.Action != scoring.Accept {
					b.Fatalf("verdict %v %v", v.Action, v.SymbolNames())
				}
				m.Close()
			}
		})
	}
}
