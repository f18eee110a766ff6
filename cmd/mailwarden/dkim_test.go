package main

import (
	"bytes"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mailwarden/mailwarden/internal/dkimkeys"
)

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := dispatch(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestDKIMKeygenAndDNS(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mw.toml")
	keys := filepath.Join(dir, "keys")
	os.WriteFile(cfg, []byte("[dkim]\nkeys_dir = \""+keys+"\"\ndomains = [\"example.com\", \"example.net\"]\nspf = \"v=spf1 mx a ip4:192.0.2.1 -all\"\ndmarc_rua = \"dmarc@example.com\"\n"), 0o600)

	out, errs, code := run(t, "dkim", "keygen", "example.com", "-c", cfg, "--selector", "nov2026")
	if code != 0 {
		t.Fatalf("keygen: %d %s", code, errs)
	}
	st, err := os.Stat(filepath.Join(keys, "example.com", "private"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v", st, err)
	}
	if !strings.Contains(out, "nov2026._domainkey.example.com.\tIN\tTXT\t( \"v=DKIM1; h=sha256; k=rsa; p=") {
		t.Errorf("keygen output lacks the record:\n%s", out)
	}
	if _, errs, code := run(t, "dkim", "keygen", "example.com", "-c", cfg); code == 0 || !strings.Contains(errs, "--force") {
		t.Errorf("second keygen without --force: %d %s", code, errs)
	}
	edArgs := []string{"dkim", "keygen", "example.com", "--ed25519", "-c", cfg}
	if os.Geteuid() == 0 { // chown needs root
		edArgs = append(edArgs, "--owner", "nobody")
	}
	if out, errs, code := run(t, edArgs...); code != 0 || !strings.Contains(out, "k=ed25519") || (os.Geteuid() == 0 && !strings.Contains(out, "owned by nobody")) {
		t.Fatalf("ed25519 keygen: %d %s %s", code, out, errs)
	}
	if st, err := os.Stat(filepath.Join(keys, "example.com", "private.ed25519")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("ed25519 key: %v %v", st, err)
	} else if sys, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		if u, _ := user.Lookup("nobody"); u != nil && strconv.Itoa(int(sys.Uid)) != u.Uid {
			t.Errorf("--owner nobody: file uid %d", sys.Uid)
		}
	}
	if _, _, code := run(t, "dkim", "keygen", "example.com", "--rsa-bits", "512", "-c", cfg, "--force"); code == 0 {
		t.Errorf("512-bit key accepted")
	}

	out, errs, code = run(t, "dns", "-c", cfg)
	if code != 0 {
		t.Fatalf("dns: %d %s", code, errs)
	}
	set, err := dkimkeys.LoadDir(keys)
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := set.Lookup("example.com")
	rec, _ := dkimkeys.TXTRecord(ks[0].Public())
	for _, want := range []string{
		"; ---- example.com ----",
		"; " + rec, // whole
		dkimkeys.ZoneTXT("nov2026._domainkey.example.com.", rec),
		"example.com.\tIN\tTXT\t\"v=spf1 mx a ip4:192.0.2.1 -all\"",
		"_dmarc.example.com.\tIN\tTXT\t\"v=DMARC1; p=none; rua=mailto:dmarc@example.com\"",
		"; ---- example.net ----",
		"; no DKIM key for example.net",
		"_dmarc.example.net.\tIN\tTXT",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dns output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "k=ed25519") != 2 { // whole + zone line
		t.Errorf("ed25519 record not printed twice:\n%s", out)
	}
	out, _, code = run(t, "dns", "example.net", "-c", cfg)
	if code != 0 || strings.Contains(out, "example.com.") {
		t.Errorf("dns DOMAIN printed other domains:\n%s", out)
	}
}

// TestDNSNotesDefaultKeyScope: with only SME's default/ key, `dns DOMAIN`
// prints the record and says the domain is not signed until it is listed in
// [dkim] domains; listed, the note goes away.
func TestDNSNotesDefaultKeyScope(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if _, errOut, code := run(t, "dkim", "keygen", "default", "--dir", keys); code != 0 {
		t.Fatalf("keygen default: %s", errOut)
	}
	out, errOut, code := run(t, "dns", "example.com", "--dir", keys)
	if code != 0 || !strings.Contains(out, "_domainkey.example.com.") {
		t.Fatalf("dns: exit %d, %s\n%s", code, errOut, out)
	}
	if !strings.Contains(out, "would not be signed yet") {
		t.Errorf("no note that the default key signs only listed domains:\n%s", out)
	}
	conf := filepath.Join(dir, "mailwarden.toml")
	if err := os.WriteFile(conf, []byte("[dkim]\ndomains = [\"example.com\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, _ = run(t, "dns", "example.com", "-c", conf, "--dir", keys)
	if strings.Contains(out, "would not be signed yet") {
		t.Errorf("note printed for a listed domain:\n%s", out)
	}
}
