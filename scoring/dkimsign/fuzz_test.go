package dkimsign

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/dkimkeys"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

// FuzzDecide feeds arbitrary From values (outside input) to the signing
// decision: no panic, and a message is only ever signed for a domain we sign
// for, with the From domain as d=.
func FuzzDecide(f *testing.F) {
	for _, s := range []string{
		"Alice <alice@example.com>",
		"=?iso-2022-jp?B?GyRCJTUlcyVXJWsbKEI=?= <x@example.com>",
		"a@example.com, b@example.org",
		"\"quoted, name\" <q@EXAMPLE.com.>",
		"group: a@example.com, b@example.com;",
		"<@route:x@example.com>",
		"",
	} {
		f.Add(s)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	keys := &dkimkeys.Set{Domains: map[string][]*dkimkeys.Key{}, Default: []*dkimkeys.Key{{Selector: "s", Algorithm: dkimkeys.Ed25519, Signer: priv}}}
	s := New(Config{Enabled: true, Keys: keys, Domains: []string{"example.com"}, Unlisted: UnlistedAny})
	if _, d, why := s.decide(&scoring.Transaction{Profile: scoring.ProfileLocal}, &message.Header{Fields: []message.Field{{Name: "From", Value: " a@example.com"}}}); why != "" || d != "example.com" {
		f.Fatalf("the fuzz target cannot reach a signing decision: %q", why)
	}
	f.Fuzz(func(t *testing.T, from string) {
		var h message.Header
		h.Add("From", " "+from)
		tx := &scoring.Transaction{Profile: scoring.ProfileLocal}
		_, domain, why := s.decide(tx, &h)
		if why == "" && domain != "example.com" {
			t.Fatalf("would sign %q for d=%q", from, domain)
		}
		if why == "" && !strings.Contains(strings.ToLower(from), "example.com") {
			t.Fatalf("signing decision for %q without our domain in it", from)
		}
	})
}
