package dkimverify

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/mailwarden/mailwarden/internal/dnstest"
)

// BenchmarkVerify measures one message's verification (header parse, body
// hash, key from the resolver's cache, signature check) for a 10 kB body.
func BenchmarkVerify(b *testing.B) {
	body := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 175)
	raw := []byte(strings.Replace(plainMsg, "Hello.\r\n", body, 1))
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaPub, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name, record string
		signer       interface{}
	}{
		{"rsa2048", "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(rsaPub), rsaKey},
		{"ed25519", "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(edPub), edPriv},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := dnstest.New(b)
			s.AddRR(b, "bench._domainkey.example.com. TXT "+quoteTXT(tc.record))
			var signed strings.Builder
			opts := &dkim.SignOptions{Domain: "example.com", Selector: "bench"}
			switch k := tc.signer.(type) {
			case *rsa.PrivateKey:
				opts.Signer = k
			case ed25519.PrivateKey:
				opts.Signer = k
			}
			if err := dkim.Sign(&signed, strings.NewReader(string(raw)), opts); err != nil {
				b.Fatal(err)
			}
			res := s.Resolver(b)
			msg := []byte(signed.String())
			m := parseMsgB(b, msg)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := Verify(context.Background(), res, m.Header.Fields, m.Reader(), nil)
				if err != nil || len(r) != 1 || r[0].Result != "pass" {
					b.Fatalf("%v %v", r, err)
				}
			}
		})
	}
}

// quoteTXT splits a record into quoted 255-byte strings for a zone line.
func quoteTXT(v string) string {
	var parts []string
	for len(v) > 255 {
		parts = append(parts, `"`+v[:255]+`"`)
		v = v[255:]
	}
	return strings.Join(append(parts, `"`+v+`"`), " ")
}
