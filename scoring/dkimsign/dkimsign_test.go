package dkimsign

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/dkimkeys"
	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

// keyDir generates keys: example.com with RSA-2048 and Ed25519, a 1024-bit
// default key, and publishes their records on a loopback DNS server.
func keyDir(t *testing.T) (string, *dnstest.Server) {
	t.Helper()
	dir := t.TempDir()
	srv := dnstest.New(t)
	gen := func(domain string, o dkimkeys.GenerateOptions) {
		t.Helper()
		k, err := dkimkeys.Generate(dir, domain, o)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := dkimkeys.TXTRecord(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		name := domain
		if domain == dkimkeys.DefaultDir {
			name = "example.net"
		}
		publish(t, srv, dkimkeys.RecordName(o.Selector, name), rec)
	}
	gen("example.com", dkimkeys.GenerateOptions{Selector: "nov2026"})
	gen("example.com", dkimkeys.GenerateOptions{Selector: "ed2026", Algorithm: dkimkeys.Ed25519})
	gen("example.org", dkimkeys.GenerateOptions{Selector: "edonly", Algorithm: dkimkeys.Ed25519})
	gen(dkimkeys.DefaultDir, dkimkeys.GenerateOptions{Selector: "fallback", Bits: 1024})
	return dir, srv
}

// publish adds a TXT record split into 255-octet strings.
func publish(t *testing.T, srv *dnstest.Server, name, text string) {
	t.Helper()
	var q []string
	for _, p := range dkimkeys.SplitTXT(text) {
		q = append(q, `"`+p+`"`)
	}
	srv.AddRR(t, name+" 300 IN TXT "+strings.Join(q, " "))
}

func loadMessage(t *testing.T, name string) *message.Message {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := message.Parse(f, 1<<20, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func newSigner(t *testing.T, dir string, mod func(*Config)) *Signer {
	t.Helper()
	set, err := dkimkeys.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Enabled:  true,
		Keys:     set,
		Domains:  []string{"example.com", "example.net", "example.org"},
		Headers:  []string{"From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Reply-To"},
		Oversign: []string{"From"},
		Unlisted: UnlistedLoginDomain,
		Senders:  map[string][]string{"alice": {"example.com"}, "bob": {"bob@example.net"}},
		Logger:   hclog.NewNullLogger(),
	}
	if mod != nil {
		mod(&cfg)
	}
	return New(cfg)
}

// outgoing renders the message as the MTA sends it on: the changes applied.
func outgoing(t *testing.T, m *message.Message, c *scoring.Changes) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, f := range c.ApplyHeaders(m.Header).Fields {
		b.WriteString(f.Raw())
	}
	b.WriteString("\r\n")
	body, err := c.BodyReader(m.BodyReader())
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(&b, body)
	return b.Bytes()
}

// verifyGo checks every signature with go-msgauth against the DNS server.
func verifyGo(t *testing.T, srv *dnstest.Server, msg []byte) []*dkim.Verification {
	t.Helper()
	r := srv.Resolver(t)
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{LookupTXT: r.TXTLookupFunc(context.Background())})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return vs
}

// earlierModifiers does what spam headers and the disclaimer do before
// signing: delete a field, change the subject, add a field, replace the body.
func earlierModifiers(c *scoring.Changes) {
	c.Delete("X-Spam-Flag", 1)
	c.Change("Subject", 1, " [SPAM] Quarterly figures, folded over two lines")
	c.Add("X-Spam-Status", "Yes, score=5.0 required=4.0 tests=A,B")
	c.NewBody = io.MultiReader(strings.NewReader("Hello Bob,\r\n\r\nnew body.\r\n-- \r\nDisclaimer.\r\n"))
}

func TestSignVerifies(t *testing.T) {
	dir, srv := keyDir(t)
	s := newSigner(t, dir, nil)
	for _, tt := range []struct {
		name    string
		profile scoring.Profile
		user    string
		modify  bool
		from    string
		wantD   string
		wantSel []string
	}{
		{"authenticated, rsa+ed25519", scoring.ProfileAuthenticated, "alice", false, "", "example.com", []string{"nov2026", "ed2026"}},
		{"after other modifiers", scoring.ProfileAuthenticated, "alice", true, "", "example.com", []string{"nov2026", "ed2026"}},
		{"local network, default key", scoring.ProfileLocal, "", true, "Bob <bob@example.net>", "example.net", []string{"fallback"}},
		{"ed25519 only", scoring.ProfileLocal, "", true, "Olga <olga@example.org>", "example.org", []string{"edonly"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := loadMessage(t, "plain.eml")
			if tt.from != "" {
				for i := range m.Header.Fields {
					if m.Header.Fields[i].Name == "From" {
						m.Header.Fields[i].Value = " " + tt.from
					}
				}
			}
			tx := &scoring.Transaction{Profile: tt.profile, Message: m, Client: scoring.Client{AuthUser: tt.user}}
			c := &scoring.Changes{}
			if tt.modify {
				earlierModifiers(c)
			}
			if err := s.Modify(context.Background(), tx, &scoring.Verdict{}, c); err != nil {
				t.Fatal(err)
			}
			st, _ := tx.Value(ValueKey)
			want := "signed d=" + tt.wantD + " s=" + strings.Join(tt.wantSel, ",")
			if st != want {
				t.Fatalf("status %q, want %q", st, want)
			}
			msg := outgoing(t, m, c)
			if !bytes.HasPrefix(msg, []byte("DKIM-Signature: ")) {
				t.Fatalf("signature not on top:\n%.200s", msg)
			}
			vs := verifyGo(t, srv, msg)
			if len(vs) != len(tt.wantSel) {
				t.Fatalf("%d signatures, want %d", len(vs), len(tt.wantSel))
			}
			for _, v := range vs {
				if v.Err != nil {
					t.Errorf("go-msgauth: d=%s: %v", v.Domain, v.Err)
				}
				if v.Domain != tt.wantD {
					t.Errorf("d=%s", v.Domain)
				}
				if n := strings.Count(strings.ToLower(strings.Join(v.HeaderKeys, ":")), "from"); n != 2 {
					t.Errorf("From signed %d times (want oversigned: 2): %v", n, v.HeaderKeys)
				}
			}
			OpenDKIMVerify(t, srv, msg)

			// A change after signing must break it: the check is real.
			tampered := bytes.Replace(msg, []byte("Hello Bob"), []byte("Hello Eve"), 1)
			for _, v := range verifyGo(t, srv, tampered) {
				if v.Err == nil {
					t.Errorf("tampered body still verifies")
				}
			}
			OpenDKIMRefuses(t, srv, tampered)
		})
	}
}

func TestSignDecisions(t *testing.T) {
	dir, _ := keyDir(t)
	off := false
	_ = off
	tests := []struct {
		name    string
		mod     func(*Config)
		profile scoring.Profile
		nonSMTP bool
		user    string
		from    string
		want    string // "" = no status at all
	}{
		{"inbound is left alone", nil, scoring.ProfileRemote, false, "", "alice@example.com", ""},
		{"sendmail(1) mail is outbound", nil, scoring.ProfileRemote, true, "", "alice@example.com", "signed d=example.com s=nov2026,ed2026"},
		{"signing disabled", func(c *Config) { c.Enabled = false }, scoring.ProfileLocal, false, "", "alice@example.com", "not signed: signing disabled"},
		{"domain disabled", func(c *Config) { c.Policies = map[string]DomainPolicy{"example.com": {Disabled: true}} }, scoring.ProfileLocal, false, "", "alice@example.com", "not signed: signing disabled for domain example.com"},
		{"not our domain", nil, scoring.ProfileLocal, false, "", "x@example.info", "not signed: From domain example.info is not one we sign for"},
		{"our domain without key", func(c *Config) { c.Keys.Default = nil }, scoring.ProfileLocal, false, "", "x@example.net", "not signed: no key for domain example.net"},
		{"user not allowed the domain", nil, scoring.ProfileAuthenticated, false, "alice", "x@example.net", "not signed: From domain example.net not allowed for user alice"},
		{"user allowed an address", nil, scoring.ProfileAuthenticated, false, "bob", "bob@example.net", "signed d=example.net s=fallback"},
		{"user not allowed another address", nil, scoring.ProfileAuthenticated, false, "bob", "eve@example.net", "not signed: From domain example.net not allowed for user bob"},
		{"unlisted login domain", nil, scoring.ProfileAuthenticated, false, "carol@example.com", "carol@example.com", "signed d=example.com s=nov2026,ed2026"},
		{"unlisted bare login", nil, scoring.ProfileAuthenticated, false, "dave", "dave@example.com", "not signed: From domain example.com not allowed for user dave"},
		{"unlisted any", func(c *Config) { c.Unlisted = UnlistedAny }, scoring.ProfileAuthenticated, false, "dave", "dave@example.com", "signed d=example.com s=nov2026,ed2026"},
		{"truncated header", nil, scoring.ProfileLocal, false, "", "x@example.com", "not signed: header too large to sign"},
		{"display name in another charset", nil, scoring.ProfileLocal, false, "", "=?iso-2022-jp?B?GyRCJTUlcyVXJWsbKEI=?= <x@example.com>", "signed d=example.com s=nov2026,ed2026"},
		{"two From addresses", nil, scoring.ProfileLocal, false, "", "a@example.com, b@example.org", "not signed: unparsable From: 2 author addresses"},
		{"no domains listed: own keys only", func(c *Config) { c.Domains = nil }, scoring.ProfileLocal, false, "", "x@example.net", "not signed: From domain example.net is not one we sign for"},
		{"per-domain key override", func(c *Config) {
			c.Policies = map[string]DomainPolicy{"example.com": {Keys: c.Keys.Default}}
		}, scoring.ProfileLocal, false, "", "x@example.com", "signed d=example.com s=fallback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSigner(t, dir, tt.mod)
			m := loadMessage(t, "plain.eml")
			for i := range m.Header.Fields {
				if m.Header.Fields[i].Name == "From" {
					m.Header.Fields[i].Value = " " + tt.from
				}
			}
			if tt.name == "truncated header" {
				m.HeaderTruncated = true
			}
			tx := &scoring.Transaction{Profile: tt.profile, NonSMTP: tt.nonSMTP, Message: m, Client: scoring.Client{AuthUser: tt.user}}
			c := &scoring.Changes{}
			if err := s.Modify(context.Background(), tx, &scoring.Verdict{}, c); err != nil {
				t.Fatal(err)
			}
			got, _ := tx.Value(ValueKey)
			if got == nil {
				got = ""
			}
			if got != tt.want {
				t.Fatalf("status %q, want %q", got, tt.want)
			}
			signed := strings.HasPrefix(tt.want, "signed")
			if n := len(c.Headers); signed != (n > 0) {
				t.Fatalf("%d header changes for status %q", n, tt.want)
			}
		})
	}
}
