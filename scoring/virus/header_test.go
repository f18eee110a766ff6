package virus

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/clamd/clamdtest"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestHeaderGolden runs the check and the X-Virus-Checked modifier on
// messages and compares the header as it leaves with testdata/golden.
func TestHeaderGolden(t *testing.T) {
	srv := clamdtest.Start(t)
	forged := append([]byte("X-Virus-Checked: Checked by ClamAV on trusted.example\r\n"), cleanMessage()...)
	tests := []struct {
		name     string
		msg      []byte
		cfg      Config
		stopped  bool
		noHeader bool // refused: no modifications
	}{
		{name: "clean", msg: cleanMessage(), cfg: Config{Tempfail: true, MaxSize: DefaultMaxSize}},
		{name: "forged header replaced", msg: forged, cfg: Config{Tempfail: true}},
		{name: "too large", msg: cleanMessage(), cfg: Config{Tempfail: true, MaxSize: 100}},
		{name: "scored signature", msg: eicarMessages(t)["base64 attachment"], cfg: Config{Soft: []SoftSignature{{Signature: clamdtest.Signature}}}},
		{name: "infected", msg: eicarMessages(t)["base64 attachment"], cfg: Config{Tempfail: true}, noHeader: true},
		{name: "clamd down accepted", msg: cleanMessage(), cfg: Config{Tempfail: false}, stopped: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.stopped {
				srv.Stop()
			}
			cfg := tt.cfg
			cfg.Client = srv.Client(5 * time.Second)
			e, err := scoring.New(scoring.Options{CheckTimeout: 5 * time.Second, Levels: scoring.Levels{TagLevel: 100}},
				[]scoring.Check{New(cfg)}, []scoring.Modifier{&Header{Enabled: true, Host: "mx.example.org"}})
			if err != nil {
				t.Fatal(err)
			}
			m, err := message.Parse(bytes.NewReader(tt.msg), 1<<20, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			tx := &scoring.Transaction{Message: m, Profile: scoring.ProfileRemote, MailFrom: "a@example.com"}
			e.RunStage(context.Background(), scoring.StageEOM, tx)
			v := e.Verdict(tx)
			ch := e.Modify(context.Background(), tx, v)
			if tt.noHeader {
				if !ch.Empty() {
					t.Fatalf("refused message modified: %+v", ch.Headers)
				}
				return
			}
			var got strings.Builder
			for _, f := range ch.ApplyHeaders(m.Header).Fields {
				got.WriteString(f.Raw())
			}
			golden := filepath.Join("testdata", "golden", strings.ReplaceAll(tt.name, " ", "-")+".txt")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				os.WriteFile(golden, []byte(got.String()), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got.String() != string(want) {
				t.Fatalf("header:\n%s\nwant:\n%s", got.String(), want)
			}
		})
	}
}
