package virus

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/clamd"
	"github.com/mailwarden/mailwarden/internal/clamd/clamdtest"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

func zipOf(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mail(parts ...string) []byte {
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nTo: b@example.org\r\nSubject: t\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n")
	b.WriteString("--BB\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n")
	for _, p := range parts {
		b.WriteString("--BB\r\n" + p)
	}
	b.WriteString("--BB--\r\n")
	return []byte(b.String())
}

func b64part(name string, data []byte) string {
	return "Content-Type: application/octet-stream; name=\"" + name + "\"\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"" + name + "\"\r\n\r\n" + base64.StdEncoding.EncodeToString(data) + "\r\n"
}

func plainPart(name string, data []byte) string {
	return "Content-Type: text/plain; name=\"" + name + "\"\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\n\r\n" + string(data) + "\r\n"
}

// EICARMessages returns the messages the tests and the benchmark use.
func eicarMessages(t testing.TB) map[string][]byte {
	e := clamdtest.EICAR()
	return map[string][]byte{
		"plain attachment":  mail(plainPart("eicar.txt", e)),
		"base64 attachment": mail(b64part("invoice.pdf", e)),
		"inside a zip":      mail(b64part("docs.zip", zipOf(t, "readme.txt", e))),
	}
}

func cleanMessage() []byte {
	return mail(b64part("report.pdf", []byte("%PDF-1.4\nnothing to see here\n")))
}

type run struct {
	v  *scoring.Verdict
	tx *scoring.Transaction
}

// judge runs the check in an engine over a parsed message.
func judge(t testing.TB, c *Check, msg []byte, mutate func(*scoring.Transaction), extra ...scoring.Check) run {
	t.Helper()
	checks := append(extra, c)
	e, err := scoring.New(scoring.Options{CheckTimeout: 2 * time.Second, Levels: scoring.Levels{TagLevel: 4}}, checks, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := message.Parse(bytes.NewReader(msg), 1<<20, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	tx := &scoring.Transaction{Message: m, Profile: scoring.ProfileRemote, MailFrom: "a@example.com", QueueID: "Q1"}
	if mutate != nil {
		mutate(tx)
	}
	for _, st := range []scoring.Stage{scoring.StageConnect, scoring.StageHeaders, scoring.StageEOM} {
		e.RunStage(context.Background(), st, tx)
	}
	return run{e.Verdict(tx), tx}
}

// whitelister whitelists every message at connect, as a whitelist check would.
type whitelister struct{}

func (whitelister) Name() string                 { return "wl" }
func (whitelister) Stage() scoring.Stage         { return scoring.StageConnect }
func (whitelister) Symbols() []scoring.SymbolDef { return nil }
func (whitelister) Run(_ context.Context, _ *scoring.Transaction, r *scoring.Result) error {
	r.Whitelist()
	return nil
}

func TestRealClamd(t *testing.T) {
	srv := clamdtest.Start(t)
	client := srv.Client(5 * time.Second)
	for _, mode := range []string{ModeMessage, ModeParts} {
		c := New(Config{Client: client, Mode: mode, Tempfail: true, MaxSize: DefaultMaxSize})
		for name, msg := range eicarMessages(t) {
			t.Run(mode+"/eicar "+name, func(t *testing.T) {
				r := judge(t, c, msg, nil)
				if r.v.Action != scoring.Reject || r.v.Reply.Code != 554 || r.v.Reply.Enhanced != "5.7.1" {
					t.Fatalf("verdict %v %q, want reject 554 5.7.1", r.v.Action, r.v.Reply)
				}
				if !strings.Contains(r.v.Reply.Text, clamdtest.Signature) {
					t.Fatalf("reply %q does not name the signature", r.v.Reply)
				}
				if !r.tx.HasSymbol(SymVirus) {
					t.Fatalf("no %s: %v", SymVirus, r.v.SymbolNames())
				}
			})
		}
		t.Run(mode+"/clean", func(t *testing.T) {
			r := judge(t, c, cleanMessage(), nil)
			if r.v.Action != scoring.Accept || len(r.v.Symbols) != 0 {
				t.Fatalf("clean message: %v %v", r.v.Action, r.v.SymbolNames())
			}
		})
	}

	c := New(Config{Client: client, Tempfail: true, MaxSize: DefaultMaxSize})
	eicar := eicarMessages(t)["base64 attachment"]
	t.Run("whitelisted mail is scanned too", func(t *testing.T) {
		r := judge(t, c, eicar, nil, whitelister{})
		if !r.tx.Whitelisted() {
			t.Fatal("test setup: not whitelisted")
		}
		if r.v.Action != scoring.Reject {
			t.Fatalf("whitelisted virus: %v", r.v.Action)
		}
	})
	t.Run("over max size not scanned", func(t *testing.T) {
		small := New(Config{Client: client, Tempfail: true, MaxSize: 100})
		r := judge(t, small, eicar, nil)
		if r.v.Action != scoring.Accept || !r.tx.HasSymbol(SymSkippedSize) {
			t.Fatalf("got %v %v", r.v.Action, r.v.SymbolNames())
		}
	})
	t.Run("outbound off by profile", func(t *testing.T) {
		inbound := New(Config{Client: client, Tempfail: true, Profiles: []scoring.Profile{scoring.ProfileRemote}})
		r := judge(t, inbound, eicar, func(tx *scoring.Transaction) { tx.Profile = scoring.ProfileAuthenticated })
		if r.v.Action != scoring.Accept {
			t.Fatalf("authenticated sender scanned despite profiles: %v", r.v.Action)
		}
	})

	soft := []struct {
		name   string
		soft   []SoftSignature
		from   string
		action scoring.Action
	}{
		{"listed signature scores", []SoftSignature{{Signature: clamdtest.Signature}}, "a@example.com", scoring.Tag},
		{"listed with unofficial suffix", []SoftSignature{{Signature: clamdtest.Signature + ".UNOFFICIAL"}}, "a@example.com", scoring.Tag},
		{"listed sender domain", []SoftSignature{{Signature: clamdtest.Signature, Senders: []string{"bank.example"}}}, "alerts@mail.bank.example", scoring.Tag},
		{"listed sender address", []SoftSignature{{Signature: clamdtest.Signature, Senders: []string{"alerts@bank.example"}}}, "Alerts@Bank.Example", scoring.Tag},
		{"other sender still refused", []SoftSignature{{Signature: clamdtest.Signature, Senders: []string{"bank.example"}}}, "x@evilbank.example", scoring.Reject},
		{"null sender still refused", []SoftSignature{{Signature: clamdtest.Signature, Senders: []string{"bank.example"}}}, "", scoring.Reject},
		{"other signature listed", []SoftSignature{{Signature: "Heuristics.Phishing.Email.SpoofedDomain"}}, "a@example.com", scoring.Reject},
	}
	for _, tt := range soft {
		t.Run("score_signatures/"+tt.name, func(t *testing.T) {
			sc := New(Config{Client: client, Tempfail: true, Soft: tt.soft})
			sc.cfg.Client = client
			// Weight 5 is above the tag level 4 of judge's engine.
			r := judge(t, sc, eicar, func(tx *scoring.Transaction) { tx.MailFrom = tt.from })
			if r.v.Action != tt.action {
				t.Fatalf("action %v, want %v (%v)", r.v.Action, tt.action, r.v.SymbolNames())
			}
		})
	}

	t.Run("clamd stopped", func(t *testing.T) {
		srv.Stop()
		tests := []struct {
			name     string
			tempfail bool
			action   scoring.Action
		}{
			{"tempfail", true, scoring.Tempfail},
			{"accept and tag", false, scoring.Accept},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := New(Config{Client: client, Tempfail: tt.tempfail})
				r := judge(t, c, eicar, nil)
				if r.v.Action != tt.action {
					t.Fatalf("action %v, want %v", r.v.Action, tt.action)
				}
				if !r.tx.HasSymbol(SymFail) {
					t.Fatalf("no %s: never a silent accept (%v)", SymFail, r.v.SymbolNames())
				}
				if tt.tempfail && (r.v.Reply.Code != 451 || r.v.Reply.Enhanced != "4.7.1") {
					t.Fatalf("reply %q", r.v.Reply)
				}
			})
		}
	})
}

// TestHungClamd: a clamd that accepts and never answers ends in the
// configured failure mode inside the engine's budget, not in a generic
// timeout.
func TestHungClamd(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer conn.Close(); io.Copy(io.Discard, conn) }()
		}
	}()
	client := &clamd.Client{Network: "tcp", Address: l.Addr().String(), Timeout: time.Minute}
	c := New(Config{Client: client, Tempfail: true})
	start := time.Now()
	r := judge(t, c, cleanMessage(), nil)
	if r.v.Action != scoring.Tempfail || !r.tx.HasSymbol(SymFail) {
		t.Fatalf("got %v %v", r.v.Action, r.v.SymbolNames())
	}
	if r.tx.HasSymbol(scoring.SymCheckTimeout) {
		t.Fatal("engine timeout instead of our failure mode")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestSenderMatches(t *testing.T) {
	tests := []struct {
		want, sender string
		ok           bool
	}{
		{"bank.example", "a@bank.example", true},
		{"@bank.example", "a@x.bank.example", true},
		{"bank.example", "a@notbank.example", false},
		{"a@bank.example", "A@BANK.example", true},
		{"a@bank.example", "b@bank.example", false},
		{"bank.example", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.want+"|"+tt.sender, func(t *testing.T) {
			if got := senderMatches(tt.want, tt.sender); got != tt.ok {
				t.Fatalf("got %v", got)
			}
		})
	}
}
