package milter

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/basicheaders"
	"github.com/mailwarden/mailwarden/scoring/msgsize"
	"github.com/mailwarden/mailwarden/scoring/spamheaders"
)

var benchHeader = [][2]string{
	{"Received", " from mx.example.net (mx.example.net [192.0.2.1]) by mx.example.org with ESMTP id 12345 for <b@example.org>; Wed, 25 Nov 2026 10:00:00 +0000"},
	{"From", " Alice <a@example.com>"}, {"To", " Bob <b@example.org>"}, {"Subject", " benchmark message"},
	{"Date", " Wed, 25 Nov 2026 10:00:00 +0000"}, {"Message-ID", " <123@example.com>"},
	{"MIME-Version", " 1.0"}, {"Content-Type", " text/plain; charset=us-ascii"},
}

var benchBody = bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog, once more with feeling.\r\n"), 60)

func benchServer(b *testing.B, noop bool) string {
	b.Helper()
	sock := filepath.Join(b.TempDir(), "m.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	if noop {
		opts := append(ServerOptions(0), gomilter.WithMilter(func() gomilter.Milter { return gomilter.NoOpMilter{} }))
		srv := gomilter.NewServer(opts...)
		go srv.Serve(CoalescingListener(ln))
		b.Cleanup(func() { srv.Close() })
		return sock
	}
	e, err := scoring.New(scoring.Options{Levels: scoring.Levels{TagLevel: 4, RejectLevel: 12, RejectEnabled: true}},
		[]scoring.Check{&msgsize.Declared{Max: 15000000},
			basicheaders.New(basicheaders.Config{Required: []string{"From", "Date"}, Reject: true, Profiles: scoring.AllProfiles}),
			&msgsize.Actual{Max: 15000000}},
		[]scoring.Modifier{spamheaders.New(spamheaders.Config{Enabled: true})})
	if err != nil {
		b.Fatal(err)
	}
	var cur scoring.Current
	cur.Store(e)
	srv := New(&cur, Options{}, nil)
	go srv.Serve(ln)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return sock
}

func benchSessions(b *testing.B, sock string) {
	c := gomilter.NewClient("unix", sock, gomilter.WithActions(gomilter.OptAddHeader|gomilter.OptChangeHeader|
		gomilter.OptAddRcpt|gomilter.OptRemoveRcpt|gomilter.OptChangeBody|gomilter.OptQuarantine|gomilter.OptSetMacros))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s, err := c.Session(gomilter.NewMacroBag())
			if err != nil {
				b.Fatal(err)
			}
			s.Conn("client.example.net", gomilter.FamilyInet, 25, "192.0.2.1")
			s.Helo("client.example.net")
			s.Mail("a@example.com", "")
			s.Rcpt("b@example.org", "")
			s.DataStart()
			for _, h := range benchHeader {
				s.HeaderField(h[0], h[1], nil)
			}
			s.HeaderEnd()
			if _, act, err := s.BodyReadFrom(bytes.NewReader(benchBody)); err != nil || act.Type != gomilter.ActionAccept {
				b.Fatalf("%v %v", act, err)
			}
			s.Close()
		}
	})
}

// BenchmarkSession measures one whole milter session (connect to end of
// message) in process, against a do-nothing server negotiating the same way.
func BenchmarkSession(b *testing.B) {
	b.Run("noop", func(b *testing.B) { benchSessions(b, benchServer(b, true)) })
	b.Run("mailwarden", func(b *testing.B) { benchSessions(b, benchServer(b, false)) })
}
