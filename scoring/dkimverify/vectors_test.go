package dkimverify

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// TestMailAuthVectors verifies stalwartlabs/mail-auth's signed messages
// (README of ../shared/testdata/dkim): every signature passes, but 005's,
// which expired in 2022 (RFC 6376 x=) and must now be a permerror.
func TestMailAuthVectors(t *testing.T) {
	dir := testenv.SharedDir(t, "testdata/dkim/mail-auth")
	want := map[string]string{
		"001.txt": "pass,pass",
		"002.txt": "pass",
		"003.txt": "pass,pass",
		"004.txt": "pass",
		"005.txt": "permerror",
		"006.txt": "pass",
	}
	for file, exp := range want {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			dnsPart, msg, ok := strings.Cut(string(data), "\n\n")
			if !ok {
				t.Fatal("no empty line after the DNS records")
			}
			s := dnstest.New(t)
			for _, l := range strings.Split(dnsPart, "\n") {
				name, value, ok := strings.Cut(l, " ")
				if !ok {
					t.Fatalf("bad DNS line %q", l)
				}
				addTXT(t, s, name, value)
			}
			got := strings.Join(verify(t, s, crlf([]byte(msg))), ",")
			if got != exp {
				t.Errorf("results %s, want %s", got, exp)
			}
		})
	}
}

func readShared(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.SharedDir(t, "testdata/dkim/dkimpy"), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDkimpySigned verifies the already-signed dkimpy messages.
func TestDkimpySigned(t *testing.T) {
	const gmailKey = "k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1Kd87/UeJjenpabgbFwh+eBCsSTrqmwIYYvywlbhbqoo2DymndFkbjOVIPIldNs/m40KF+yzMn1skyoxcTUGCQs8g3FgD2Ap3ZB5DekAo5wMmk4wimDO+U8QzI3SD07y2+07wlNWwIt8svnxgdxGkVbbhzY8i+RQ9DpSVpPbF7ykQxtKXkv/ahW3KjViiAH+ghvvIhkx4xYSIc9oSwVmAl5OctMEeWUwg8Istjqz8BZeTWbf41fbNhte7Y+YqZOwq1Sd0DbvYAD9NOZK9vlfuac0598HY+vtSBczUiKERHv1yRbcaQtZFh5wtiRrN04BLUTD21MycBX5jYchHjPY/wIDAQAB"
	tests := []struct {
		name    string
		msg     string
		records map[string]string // name -> value ("@file" reads a file)
		want    string
	}{
		{"rfc6376 simple/simple ed25519+rsa", "rfc6376.signed.msg", map[string]string{
			"brisbane._domainkey.football.example.com": "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
			"test._domainkey.football.example.com":     "@test.txt",
		}, "pass,pass"},
		{"exim ed25519", "ed25519test2.msg", map[string]string{"sed._domainkey.test.ex": "@eximtest.dns"}, "pass"},
		{"gmail folded b=", "test2.message", map[string]string{"20120113._domainkey.gmail.com": gmailKey}, "pass"},
		{"gmail no key", "test2.message", nil, "permerror"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := dnstest.New(t)
			for n, v := range tc.records {
				if strings.HasPrefix(v, "@") {
					v = strings.TrimSpace(string(readShared(t, v[1:])))
				}
				addTXT(t, s, n, v)
			}
			if got := strings.Join(verify(t, s, crlf(readShared(t, tc.msg))), ","); got != tc.want {
				t.Errorf("results %s, want %s", got, tc.want)
			}
		})
	}
}

func rsaKey(t *testing.T) crypto.Signer {
	t.Helper()
	blk, _ := pem.Decode(readShared(t, "test.private"))
	if blk == nil {
		t.Fatal("test.private: no PEM block")
	}
	k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ed25519Key(t *testing.T) crypto.Signer {
	t.Helper()
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(readShared(t, "ed25519test.key"))))
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func sign(t *testing.T, raw []byte, opts *dkim.SignOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := dkim.Sign(&out, bytes.NewReader(crlf(raw)), opts); err != nil {
		t.Fatalf("sign: %v", err)
	}
	return out.Bytes()
}

// TestDkimpyKeyRecords signs dkimpy's test.message with its RSA key and
// verifies it against each of dkimpy's key records, for every
// canonicalization; then a body appended after signing must fail.
func TestDkimpyKeyRecords(t *testing.T) {
	records := []struct {
		file string
		want string
	}{
		{"test.txt", "pass"},
		{"test2.txt", "pass"},
		{"test_tlsrpt.txt", "permerror"}, // s=tlsrpt: not for email
		{"test_bad.txt", "permerror"},    // altered key bytes: not a parseable key (RFC 6376 6.1.2 PERMFAIL)
		{"badversion.txt", "permerror"},  // malformed tag list
		{"badk.txt", "permerror"},        // unknown key type
	}
	msg := readShared(t, "test.message")
	for _, can := range []dkim.Canonicalization{dkim.CanonicalizationSimple, dkim.CanonicalizationRelaxed} {
		for _, bodyCan := range []dkim.Canonicalization{dkim.CanonicalizationSimple, dkim.CanonicalizationRelaxed} {
			signed := sign(t, msg, &dkim.SignOptions{Domain: "example.com", Selector: "test", Signer: rsaKey(t),
				HeaderCanonicalization: can, BodyCanonicalization: bodyCan})
			for _, rec := range records {
				t.Run(string(can)+"/"+string(bodyCan)+"/"+rec.file, func(t *testing.T) {
					s := dnstest.New(t)
					addTXT(t, s, "test._domainkey.example.com", strings.TrimSpace(string(readShared(t, rec.file))))
					got := strings.Join(verify(t, s, signed), ",")
					if got != rec.want {
						t.Errorf("got %s, want %s", got, rec.want)
					}
					if rec.want == "pass" {
						tampered := append(append([]byte(nil), signed...), "foo\r\n"...)
						if got := strings.Join(verify(t, s, tampered), ","); got != "fail" {
							t.Errorf("body appended after signing: got %s, want fail", got)
						}
					}
				})
			}
		}
	}
}

// TestEd25519RoundTrip signs with dkimpy's Ed25519 key (RFC 8463) and
// verifies against ed25519test.dns.
func TestEd25519RoundTrip(t *testing.T) {
	s := dnstest.New(t)
	addTXT(t, s, "ed._domainkey.example.com", strings.TrimSpace(string(readShared(t, "ed25519test.dns"))))
	for _, name := range []string{"ed25519test.msg", "test.message", "test_extra.message", "message.mbox"} {
		t.Run(name, func(t *testing.T) {
			signed := sign(t, readShared(t, name), &dkim.SignOptions{Domain: "example.com", Selector: "ed", Signer: ed25519Key(t),
				HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed})
			// message.mbox carries its own 2011 signature (no key served):
			// ours is added on top and is the first result.
			if got := verify(t, s, signed); len(got) == 0 || got[0] != "pass" {
				t.Errorf("got %s, want pass first", got)
			}
		})
	}
}
