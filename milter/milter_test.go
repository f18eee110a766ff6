package milter

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/basicheaders"
	"github.com/mailwarden/mailwarden/scoring/spamheaders"
)

// panicky panics at end of message when the subject says so.
type panicky struct{}

func (panicky) Name() string                 { return "panicky" }
func (panicky) Stage() scoring.Stage         { return scoring.StageEOM }
func (panicky) Symbols() []scoring.SymbolDef { return nil }
func (panicky) Run(_ context.Context, tx *scoring.Transaction, _ *scoring.Result) error {
	if strings.Contains(tx.Message.Header.Get("Subject"), "panic") {
		panic("check blew up")
	}
	return nil
}

// forcer forces the action its subject names: "discard me", "hold me".
type forcer struct{}

func (forcer) Name() string                 { return "forcer" }
func (forcer) Stage() scoring.Stage         { return scoring.StageEOM }
func (forcer) Symbols() []scoring.SymbolDef { return nil }
func (forcer) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	switch subj := tx.Message.Header.Get("Subject"); {
	case strings.Contains(subj, "discard me"):
		r.Force(scoring.Discard, scoring.Reply{}, "test discard")
	case strings.Contains(subj, "hold me"):
		r.Force(scoring.Quarantine, scoring.Reply{}, "test hold")
	}
	return nil
}

// startServer runs the milter front-end on a temp unix socket, in process.
func startServer(t *testing.T, checks ...scoring.Check) string {
	t.Helper()
	e, err := scoring.New(scoring.Options{
		Levels:  scoring.Levels{TagLevel: 0.5, RejectLevel: 50, RejectEnabled: true},
		OnPanic: scoring.Tempfail,
	}, checks, []scoring.Modifier{spamheaders.New(spamheaders.Config{Enabled: true, SubjectTag: true, SubjectPrefix: "[SPAM]"})})
	if err != nil {
		t.Fatal(err)
	}
	var cur scoring.Current
	cur.Store(e)
	sock := filepath.Join(t.TempDir(), "milter.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(&cur, Options{IdleTimeout: time.Minute, SpoolThreshold: 64}, nil)
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return sock
}

type sent struct {
	mods []gomilter.ModifyAction
	act  *gomilter.Action
}

// send drives one message through a real go-milter client session.
func send(t *testing.T, sock string, hdr [][2]string, body string) sent {
	t.Helper()
	c := gomilter.NewClient("unix", sock, gomilter.WithActions(gomilter.OptAddHeader|gomilter.OptChangeHeader|gomilter.OptAddRcpt|gomilter.OptRemoveRcpt|gomilter.OptChangeBody|gomilter.OptQuarantine|gomilter.OptSetMacros))
	s, err := c.Session(gomilter.NewMacroBag())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	must := func(a *gomilter.Action, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Conn("client.example.net", gomilter.FamilyInet, 25, "192.0.2.9"))
	must(s.Helo("client.example.net"))
	must(s.Mail("a@example.com", ""))
	must(s.Rcpt("b@example.org", ""))
	must(s.DataStart())
	for _, h := range hdr {
		must(s.HeaderField(h[0], h[1], nil))
	}
	must(s.HeaderEnd())
	mods, act, err := s.BodyReadFrom(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	return sent{mods, act}
}

func headerMods(mods []gomilter.ModifyAction) map[string]string {
	out := map[string]string{}
	for _, m := range mods {
		if m.Type == gomilter.ActionAddHeader || m.Type == gomilter.ActionChangeHeader || m.Type == gomilter.ActionInsertHeader {
			out[m.HeaderName] = strings.TrimSpace(m.HeaderValue)
		}
	}
	return out
}

func TestMilterSession(t *testing.T) {
	sock := startServer(t, basicheaders.New(basicheaders.Config{Required: []string{"From", "Date"}, Profiles: scoring.AllProfiles}), panicky{})
	long := strings.Repeat("spooled body line\r\n", 50) // past the 64-byte spool threshold
	tests := []struct {
		name    string
		hdr     [][2]string
		wantAct gomilter.ActionType
		wantHdr map[string]string
	}{
		{"clean", [][2]string{{"From", " a@example.com"}, {"Date", " Wed, 25 Nov 2026 10:00:00 +0000"}, {"Subject", " hi"}},
			gomilter.ActionAccept, map[string]string{"X-Spam-Status": "No, score=0.0 required=0.5 tests=none"}},
		{"tagged", [][2]string{{"From", " a@example.com"}, {"Subject", " hi"}},
			gomilter.ActionAccept, map[string]string{"X-Spam-Flag": "YES", "Subject": "[SPAM] hi", "X-Spam-Level": "*"}},
		{"panic tempfails", [][2]string{{"From", " a@example.com"}, {"Date", " x"}, {"Subject", " panic now"}},
			gomilter.ActionTempFail, nil},
		{"forged spam flag removed", [][2]string{{"From", " a@example.com"}, {"Date", " x"}, {"X-Spam-Flag", " NO"}},
			gomilter.ActionAccept, map[string]string{"X-Spam-Flag": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, sock, tt.hdr, long)
			got := r.act.Type
			if got == gomilter.ActionRejectWithCode && r.act.SMTPCode/100 == 4 {
				got = gomilter.ActionTempFail
			}
			if got != tt.wantAct {
				t.Fatalf("action %v, want %v", r.act, tt.wantAct)
			}
			hm := headerMods(r.mods)
			for k, v := range tt.wantHdr {
				if hm[k] != v {
					t.Errorf("%s = %q, want %q (mods %+v)", k, hm[k], v, r.mods)
				}
			}
		})
	}
	// The server survived the panic: a further session works.
	if r := send(t, sock, [][2]string{{"From", " a@b"}, {"Date", " x"}}, "x\r\n"); r.act.Type != gomilter.ActionAccept {
		t.Fatalf("after panic: %v", r.act)
	}
}

// TestMilterDiscardAndQuarantine: a discard verdict is the milter's discard
// reply (the MTA accepts and drops the message); quarantine accepts with a
// quarantine modification naming the reason (Postfix: hold queue).
func TestMilterDiscardAndQuarantine(t *testing.T) {
	sock := startServer(t, forcer{})
	hdr := func(subj string) [][2]string {
		return [][2]string{{"From", " a@example.com"}, {"Date", " Wed, 25 Nov 2026 10:00:00 +0000"}, {"Subject", " " + subj}}
	}
	if r := send(t, sock, hdr("discard me"), "x\r\n"); r.act.Type != gomilter.ActionDiscard {
		t.Errorf("discard: got %+v", r.act)
	}
	r := send(t, sock, hdr("hold me"), "x\r\n")
	if r.act.Type != gomilter.ActionAccept {
		t.Errorf("quarantine: action %+v, want accept", r.act)
	}
	held := ""
	for _, m := range r.mods {
		if m.Type == gomilter.ActionQuarantine {
			held = m.Reason
		}
	}
	if !strings.Contains(held, "test hold") {
		t.Errorf("quarantine: no quarantine modification with the reason (mods %+v)", r.mods)
	}
	plain := send(t, sock, hdr("plain"), "x\r\n")
	if plain.act.Type != gomilter.ActionAccept {
		t.Errorf("plain: got %+v", plain.act)
	}
	for _, m := range plain.mods {
		if m.Type == gomilter.ActionQuarantine {
			t.Errorf("plain message quarantined")
		}
	}
}

func TestMilterRejectWithText(t *testing.T) {
	sock := startServer(t, basicheaders.New(basicheaders.Config{Required: []string{"From", "Date"}, Reject: true, Profiles: scoring.AllProfiles}))
	r := send(t, sock, [][2]string{{"From", " a@example.com"}}, "x\r\n")
	if r.act.SMTPCode != 550 || !strings.Contains(r.act.SMTPReply, "5.6.0 Mail with no Date header") {
		t.Fatalf("got %v", r.act)
	}
}
