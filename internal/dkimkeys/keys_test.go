package dkimkeys

import (
	"crypto/ed25519"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGenerateAndLoad(t *testing.T) {
	dir := t.TempDir()
	rk, err := Generate(dir, "Example.COM", GenerateOptions{Selector: "nov2026"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(dir, "example.com", GenerateOptions{Algorithm: Ed25519, Selector: "ed2026"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(dir, "default", GenerateOptions{Bits: 1024, Selector: "fallback"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"example.com/private", "example.com/private.ed25519", "default/private"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %o, want 0600", f, st.Mode().Perm())
		}
	}
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys, own := set.Lookup("EXAMPLE.com")
	if !own || len(keys) != 2 {
		t.Fatalf("example.com: own=%v keys=%d, want own with 2 keys", own, len(keys))
	}
	if keys[0].Algorithm != RSA || keys[0].Selector != "nov2026" || keys[0].Bits != 2048 {
		t.Errorf("first key = %s/%s/%d", keys[0].Algorithm, keys[0].Selector, keys[0].Bits)
	}
	if !keys[0].Public().(*rsa.PublicKey).Equal(rk.Public()) {
		t.Errorf("loaded RSA key differs from the generated one")
	}
	if keys[1].Algorithm != Ed25519 || keys[1].Selector != "ed2026" {
		t.Errorf("second key = %s/%s", keys[1].Algorithm, keys[1].Selector)
	}
	if _, ok := keys[1].Public().(ed25519.PublicKey); !ok {
		t.Errorf("ed25519 key has public %T", keys[1].Public())
	}
	keys, own = set.Lookup("other.org")
	if own || len(keys) != 1 || keys[0].Selector != "fallback" || keys[0].Bits != 1024 {
		t.Errorf("other.org should fall back to the 1024-bit default key, got own=%v %v", own, keys)
	}
	if _, err := Generate(dir, "example.com", GenerateOptions{Selector: "dec2026"}); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("replacing a key without Force: err=%v", err)
	}
	if _, err := Generate(dir, "example.com", GenerateOptions{Selector: "dec2026", Force: true}); err != nil {
		t.Errorf("Force: %v", err)
	}
	if _, err := Generate(dir, "example.com", GenerateOptions{Algorithm: Ed25519, Selector: "dec2026", Force: true}); err == nil || !strings.Contains(err.Error(), "one selector publishes one key record") {
		t.Errorf("same selector for both keys: err=%v", err)
	}
	k, err := Generate(dir, "example.org", GenerateOptions{Algorithm: Ed25519})
	if err != nil || !strings.HasSuffix(k.Selector, "-ed") {
		t.Errorf("default Ed25519 selector %v, %v", k, err)
	}
}

func TestLoadDirRefusesLooseKeys(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o644, 0o604, 0o660} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			k, err := Generate(dir, "example.com", GenerateOptions{Algorithm: Ed25519})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(k.Path, mode); err != nil {
				t.Fatal(err)
			}
			_, err = LoadDir(dir)
			if err == nil {
				t.Fatalf("mode %o accepted", mode)
			}
			if !strings.Contains(err.Error(), k.Path) || !strings.Contains(err.Error(), "chmod 600") {
				t.Errorf("error does not name the file and the fix: %v", err)
			}
		})
	}
	t.Run("0400 is fine", func(t *testing.T) {
		dir := t.TempDir()
		k, err := Generate(dir, "example.com", GenerateOptions{Algorithm: Ed25519})
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(k.Path, 0o400)
		if _, err := LoadDir(dir); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLoadDirProblems(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"missing dir is empty", nil, ""},
		{"selector without key", map[string]string{"example.com/selector": "s1\n"}, "has no key"},
		{"bad selector", map[string]string{"example.com/selector": "bad sel\n", "example.com/private": "x"}, "selector"},
		{"not PEM", map[string]string{"example.com/selector": "s1\n", "example.com/private": "garbage"}, "no PEM block"},
		{"one selector for two keys", map[string]string{"example.com/selector": "s1\n", "example.com/selector.ed25519": "s1\n",
			"example.com/private": testEd25519PEM, "example.com/private.ed25519": testEd25519PEM}, "both use selector"},
		{"public key as private", map[string]string{"example.com/selector": "s1\n", "example.com/private": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}, "not a private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			for name, body := range tt.files {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o700)
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			set, err := LoadDir(dir)
			if tt.want == "" {
				if err != nil || set == nil || len(set.Domains) != 0 {
					t.Fatalf("set=%v err=%v", set, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestDefaultSelector(t *testing.T) {
	got := DefaultSelector(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	if got != "nov2026" {
		t.Errorf("got %q", got)
	}
	if err := ValidSelector(got); err != nil {
		t.Error(err)
	}
}

func TestSplitAndZone(t *testing.T) {
	dir := t.TempDir()
	k, err := Generate(dir, "example.com", GenerateOptions{Bits: 2048, Selector: "s"})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := TXTRecord(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec, "v=DKIM1; h=sha256; k=rsa; p=MIIB") {
		t.Errorf("record %q", rec[:40])
	}
	parts := SplitTXT(rec)
	if len(parts) < 2 || strings.Join(parts, "") != rec {
		t.Fatalf("split into %d parts, joined equal=%v", len(parts), strings.Join(parts, "") == rec)
	}
	for i, p := range parts {
		if len(p) > 255 {
			t.Errorf("part %d has %d octets", i, len(p))
		}
	}
	z := ZoneTXT(RecordName("s", "example.com"), rec)
	if !strings.HasPrefix(z, "s._domainkey.example.com.\tIN\tTXT\t( \"v=DKIM1;") || strings.Count(z, `"`) != 2*len(parts) {
		t.Errorf("zone line:\n%s", z)
	}
	ek, _ := Generate(dir, "example.com", GenerateOptions{Algorithm: Ed25519, Selector: "e"})
	erec, _ := TXTRecord(ek.Public())
	if len(SplitTXT(erec)) != 1 || !strings.HasPrefix(erec, "v=DKIM1; k=ed25519; p=") || len(erec) != len("v=DKIM1; k=ed25519; p=")+44 {
		t.Errorf("ed25519 record %q", erec)
	}
	if z := ZoneTXT("e._domainkey.example.com.", erec); strings.Contains(z, "(") {
		t.Errorf("single string record wrapped: %s", z)
	}
}

// testEd25519PEM is a throwaway PKCS#8 Ed25519 key (RFC 8410 example).
const testEd25519PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n"
