package dkimverify

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// TestOpenDKIMInterop: a key made by opendkim-genkey, a message signed by
// OpenDKIM itself (opendkim's test mode, -b s -t, which prints the header it
// would insert); mailwarden must verify it as pass and a copy with a changed
// body as fail. opendkim-testmsg signs with rsa-sha1 only, which RFC 8301
// forbids verifiers to accept: its signature must come out as permerror.
func TestOpenDKIMInterop(t *testing.T) {
	testenv.RequireLong(t)
	genkey := testenv.RequireBinary(t, "opendkim-genkey")
	opendkim := testenv.RequireBinary(t, "opendkim")
	testmsg := testenv.RequireBinary(t, "opendkim-testmsg")
	dir := privateDir(t)
	msg := "From: Alice <alice@interop.example>\r\nTo: bob@example.org\r\nSubject: interop\r\n" +
		"Date: Tue, 2 Jan 2024 10:00:00 +0000\r\nMessage-ID: <1@interop.example>\r\n\r\nSigned by OpenDKIM.\r\nSecond line.\r\n"
	msgFile := filepath.Join(dir, "msg.eml")
	if err := os.WriteFile(msgFile, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "opendkim.conf")
	if err := os.WriteFile(conf, []byte("Mode s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ bits, canon string }{{"1024", "relaxed/relaxed"}, {"2048", "simple/simple"}, {"2048", "relaxed/simple"}} {
		t.Run("rsa"+tc.bits+"/"+tc.canon, func(t *testing.T) {
			sel := "s" + tc.bits
			key := filepath.Join(dir, sel+".private")
			if _, err := os.Stat(key); err != nil {
				if out, err := exec.Command(genkey, "-b", tc.bits, "-d", "interop.example", "-s", sel, "-D", dir).CombinedOutput(); err != nil {
					t.Fatalf("opendkim-genkey: %v\n%s", err, out)
				}
			}
			rec, err := os.ReadFile(filepath.Join(dir, sel+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			s := dnstest.New(t)
			addTXT(t, s, sel+"._domainkey.interop.example", zoneTXT(t, string(rec)))

			out, err := exec.Command(opendkim, "-x", conf, "-b", "s", "-d", "interop.example", "-k", key, "-s", sel,
				"-S", "rsa-sha256", "-c", tc.canon, "-t", msgFile).CombinedOutput()
			if err != nil {
				t.Fatalf("opendkim -t: %v\n%s", err, out)
			}
			m := insheaderRE.FindSubmatch(out)
			if m == nil {
				t.Fatalf("no DKIM-Signature in opendkim's output:\n%s", out)
			}
			value := strings.ReplaceAll(strings.ReplaceAll(string(m[1]), "\r\n", "\n"), "\n", "\r\n")
			signed := []byte("DKIM-Signature: " + value + "\r\n" + msg)
			if got := strings.Join(verify(t, s, signed), ","); got != "pass" {
				t.Errorf("OpenDKIM-signed message: %s, want pass\n%s", got, signed)
			}
			tampered := bytes.Replace(signed, []byte("Second line."), []byte("Second line!"), 1)
			if got := strings.Join(verify(t, s, tampered), ","); got != "fail" {
				t.Errorf("tampered copy: %s, want fail", got)
			}
		})
	}
	t.Run("opendkim-testmsg rsa-sha1", func(t *testing.T) {
		key := filepath.Join(dir, "s1024.private")
		rec, err := os.ReadFile(filepath.Join(dir, "s1024.txt"))
		if err != nil {
			t.Skip("no key from the subtests above")
		}
		s := dnstest.New(t)
		addTXT(t, s, "s1024._domainkey.interop.example", zoneTXT(t, string(rec)))
		cmd := exec.Command(testmsg, "-d", "interop.example", "-k", key, "-s", "s1024", "-t", dir)
		cmd.Stdin = bytes.NewReader(readShared(t, "test.message"))
		signed, err := cmd.Output()
		if err != nil {
			t.Fatalf("opendkim-testmsg: %v", err)
		}
		res := verify(t, s, crlf(signed))
		if len(res) == 0 || res[0] != "permerror" {
			t.Errorf("rsa-sha1 signature: %v, want permerror first (RFC 8301)", res)
		}
	})
}

// insheaderRE finds the header opendkim's test mode prints: after the file
// name, "DKIM-Signature: " and the folded value up to the end of the output.
var insheaderRE = regexp.MustCompile(`(?s)\nDKIM-Signature: (.*?)\s*$`)

// privateDir returns a directory opendkim accepts for its files: none of its
// ancestors may be writable by others, which rules out /tmp.
func privateDir(t *testing.T) string {
	t.Helper()
	base, err := os.UserCacheDir()
	if err != nil {
		base = testenv.RepoRoot()
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(base, "mailwarden-opendkim-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

var quotedRE = regexp.MustCompile(`"([^"]*)"`)

// zoneTXT joins the quoted strings of opendkim-genkey's zone-file snippet.
func zoneTXT(t *testing.T, rec string) string {
	t.Helper()
	var b strings.Builder
	for _, m := range quotedRE.FindAllStringSubmatch(rec, -1) {
		b.WriteString(m[1])
	}
	if !strings.Contains(b.String(), "p=") {
		t.Fatalf("no key in %q", rec)
	}
	return b.String()
}
