package dkimkeys

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
)

// MaxTXTString is the longest character-string of a TXT record (RFC 1035
// 3.3.14: one length octet).
const MaxTXTString = 255

// TXTRecord renders the DKIM key record (RFC 6376 3.6.1): for RSA, p= is the
// DER SubjectPublicKeyInfo as opendkim-genkey writes it; for Ed25519 (RFC
// 8463 4.2), the raw 32-byte public key.
func TXTRecord(pub crypto.PublicKey) (string, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(p)
		if err != nil {
			return "", err
		}
		return "v=DKIM1; h=sha256; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(p), nil
	}
	return "", fmt.Errorf("unsupported public key %T", pub)
}

// SplitTXT cuts a record into strings of at most MaxTXTString octets.
func SplitTXT(s string) []string {
	var out []string
	for len(s) > MaxTXTString {
		out = append(out, s[:MaxTXTString])
		s = s[MaxTXTString:]
	}
	return append(out, s)
}

// ZoneTXT renders a TXT resource record in zone-file syntax, its text split
// into quoted 255-octet strings, wrapped in parentheses when there are several.
func ZoneTXT(name, text string) string {
	parts := SplitTXT(text)
	quoted := make([]string, len(parts))
	for i, p := range parts {
		quoted[i] = `"` + strings.ReplaceAll(strings.ReplaceAll(p, `\`, `\\`), `"`, `\"`) + `"`
	}
	if len(quoted) == 1 {
		return fmt.Sprintf("%s\tIN\tTXT\t%s", name, quoted[0])
	}
	return fmt.Sprintf("%s\tIN\tTXT\t( %s )", name, strings.Join(quoted, "\n\t\t\t\t  "))
}

// RecordName is the owner name of a key record: SELECTOR._domainkey.DOMAIN.
func RecordName(selector, domain string) string {
	return selector + "._domainkey." + strings.TrimSuffix(domain, ".") + "."
}
