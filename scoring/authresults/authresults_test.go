package authresults

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"

	"github.com/mailwarden/mailwarden/internal/authresult"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

var update = flag.Bool("update", false, "rewrite golden files")

func spfResult(result, domain, scope string, wouldReject bool) *authresult.SPF {
	return &authresult.SPF{Result: authresult.SPFResult(result), Domain: domain, Scope: scope, WouldReject: wouldReject}
}

func tx(t *testing.T, header string) *scoring.Transaction {
	t.Helper()
	m, err := message.Parse(bytes.NewReader([]byte(header+"\r\nbody\r\n")), 1<<20, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &scoring.Transaction{Message: m, MailFrom: "bounce@example.com"}
}

// TestGolden renders the header for typical results and compares the
// message as it leaves (Changes.ApplyHeaders) with golden files.
func TestGolden(t *testing.T) {
	const hdr = "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=forged@example.com\r\n" +
		"Authentication-Results: other.example.net; dkim=pass header.d=example.com\r\n" +
		"Authentication-Results: MX.EXAMPLE.ORG (forged, upper case);\r\n\tdmarc=pass header.from=example.com\r\n" +
		"From: a@example.com\r\nSubject: s\r\n"
	tests := []struct {
		name string
		set  func(tx *scoring.Transaction)
	}{
		{"all-pass", func(tx *scoring.Transaction) {
			tx.SetValue(authresult.KeySPF, spfResult("pass", "example.com", "mailfrom", false))
			tx.SetValue(authresult.KeyDKIM, []authresult.DKIM{{Result: authresult.DKIMPass, Domain: "example.com", Identifier: "@example.com",
				Selector: "sel1", Algorithm: "rsa-sha256", HeaderB: "AbCd+/12"}})
			tx.SetValue(authresult.KeyDMARC, &authresult.DMARC{Result: authresult.DMARCPass, FromDomain: "example.com",
				Applied: authresult.DispositionNone, Published: &authresult.PolicyPublished{P: "reject"}})
		}},
		{"dmarc-fail", func(tx *scoring.Transaction) {
			tx.SetValue(authresult.KeySPF, spfResult("softfail", "example.com", "mailfrom", false))
			tx.SetValue(authresult.KeyDKIM, []authresult.DKIM{
				{Result: authresult.DKIMFail, Domain: "example.com", Identifier: "@example.com", Selector: "s", Algorithm: "ed25519-sha256", HeaderB: "12345678", Reason: "body hash did not verify"},
				{Result: authresult.DKIMPermError, Domain: "list.example", Identifier: "@list.example", Selector: "k(1)", Algorithm: "rsa-sha256", HeaderB: "zzzz", Reason: "no key for signature: lookup _domainkey.list.example: no such host"},
			})
			tx.SetValue(authresult.KeyDMARC, &authresult.DMARC{Result: authresult.DMARCFail, FromDomain: "example.com",
				Applied: authresult.DispositionQuarantine, Published: &authresult.PolicyPublished{P: "reject", SP: "quarantine"}})
		}},
		{"unsigned-no-dmarc", func(tx *scoring.Transaction) {
			tx.SetValue(authresult.KeySPF, spfResult("none", "example.com", "mailfrom", false))
			tx.SetValue(authresult.KeyDKIM, []authresult.DKIM(nil))
			tx.SetValue(authresult.KeyDMARC, &authresult.DMARC{Result: authresult.DMARCNone, FromDomain: "example.com"})
		}},
		{"helo-only", func(tx *scoring.Transaction) {
			tx.MailFrom = ""
			tx.SetValue(authresult.KeySPF, spfResult("pass", "mail.example.com", "helo", false))
		}},
		{"nothing-ran", func(tx *scoring.Transaction) {}},
	}
	m := New(Config{AuthservID: "mx.example.org"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := tx(t, hdr)
			tc.set(x)
			c := &scoring.Changes{}
			if err := m.Modify(context.Background(), x, &scoring.Verdict{Scanned: true}, c); err != nil {
				t.Fatal(err)
			}
			out := c.ApplyHeaders(x.Message.Header)
			var b strings.Builder
			for _, f := range out.Fields {
				b.WriteString(f.Raw())
			}
			got := b.String()
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("header differs from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
			}
			// Ours must be first, parse back with our id, and the forged
			// copies must be gone while the other host's stays.
			if n := out.Count(FieldName); tc.name != "nothing-ran" && (n != 2 || !strings.EqualFold(out.Fields[0].Name, FieldName)) {
				t.Errorf("%d Authentication-Results fields, ours first: %q", n, out.Fields[0].Name)
			}
			for i, v := range out.Values(FieldName) {
				id, _, err := authres.Parse(v)
				if err != nil {
					t.Errorf("field %d does not parse: %v: %q", i, err, v)
				}
				if i == 0 && tc.name != "nothing-ran" && id != "mx.example.org" {
					t.Errorf("first field's authserv-id %q", id)
				}
				if i > 0 && id != "other.example.net" {
					t.Errorf("kept field %d has id %q", i, id)
				}
			}
		})
	}
}

func TestClaimsID(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{" mx.example.org; spf=pass", true},
		{" MX.Example.ORG.; none", true},
		{" mx.example.org 1; dkim=pass", true},
		{" (comment) mx.example.org; dkim=pass", true},
		{" mx.example.org.evil; dkim=pass", false},
		{" other.example; dmarc=pass header.from=mx.example.org", false},
		{" mx.example.org", true},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			if got := ClaimsID(tc.value, "mx.example.org"); got != tc.want {
				t.Errorf("ClaimsID(%q) = %v, want %v", tc.value, got, tc.want)
			}
		})
	}
}

// FuzzClaimsID: incoming Authentication-Results values are outside input.
func FuzzClaimsID(f *testing.F) {
	f.Add(" mx.example.org; spf=pass smtp.mailfrom=a@b")
	f.Add(" (x(y)z) id; ;;= ")
	f.Fuzz(func(t *testing.T, v string) {
		_ = ClaimsID(v, "mx.example.org")
	})
}
