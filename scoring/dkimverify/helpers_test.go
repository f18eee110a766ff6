package dkimverify

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

// addTXT serves value as a TXT record of name, split into 255-byte strings
// as a zone would hold it.
func addTXT(t *testing.T, s *dnstest.Server, name, value string) {
	t.Helper()
	var parts []string
	for len(value) > 255 {
		parts = append(parts, value[:255])
		value = value[255:]
	}
	parts = append(parts, value)
	s.Add(&dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300}, Txt: parts})
}

// parseMsg parses a message (LF or CRLF).
func parseMsg(t *testing.T, raw []byte) *message.Message { return parseMsgB(t, raw) }

func parseMsgB(t testing.TB, raw []byte) *message.Message {
	t.Helper()
	m, err := message.Parse(bytes.NewReader(raw), 1<<20, t.TempDir())
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// verify runs Verify on a raw message against the server's records.
func verify(t *testing.T, s *dnstest.Server, raw []byte) []string {
	t.Helper()
	m := parseMsg(t, raw)
	res, err := Verify(context.Background(), s.Resolver(t), m.Header.Fields, m.Reader(), nil)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	var out []string
	for _, r := range res {
		out = append(out, string(r.Result))
	}
	return out
}

// runCheck runs the check through a real engine and returns the symbol names
// and the transaction.
func runCheck(t *testing.T, c *Check, raw []byte) ([]string, *scoring.Transaction) {
	t.Helper()
	e, err := scoring.New(scoring.Options{}, []scoring.Check{c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tx := &scoring.Transaction{Profile: scoring.ProfileRemote, Message: parseMsg(t, raw)}
	e.RunStage(context.Background(), scoring.StageEOM, tx)
	v := e.Verdict(tx)
	names := v.SymbolNames()
	return names, tx
}

func crlf(b []byte) []byte {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}
