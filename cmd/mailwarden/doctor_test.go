package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/dkimkeys"
	"github.com/mailwarden/mailwarden/internal/dnstest"
)

// TestDoctorCommand runs the verb against a loopback DNS server serving a
// correct example.com: exit 0 and every item passing in --json; a domain
// with nothing published: exit 1 with its failures.
func TestDoctorCommand(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	k, err := dkimkeys.Generate(keys, "example.com", dkimkeys.GenerateOptions{Bits: 1024, Selector: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := dkimkeys.TXTRecord(k.Public())
	srv := dnstest.New(t)
	srv.AddRR(t,
		`example.com. IN TXT "v=spf1 ip4:192.0.2.10 -all"`,
		dkimkeys.ZoneTXT(dkimkeys.RecordName("s1", "example.com"), rec),
		`_dmarc.example.com. IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"`,
		`10.2.0.192.in-addr.arpa. IN PTR mail.example.com.`,
		`mail.example.com. IN A 192.0.2.10`,
		`other.example. IN TXT "nothing"`,
	)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "mailwarden.toml")
	text := fmt.Sprintf("[server]\nhostname = \"mail.example.com\"\n[dns]\nservers = [%q]\n[dkim]\nkeys_dir = %q\n[envelope.helo]\nour_addresses = [\"192.0.2.10\"]\n", srv.Addr(), keys)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var so, se bytes.Buffer
	rc := dispatch([]string{"doctor", "-c", cfg, "--json", "--user", me.Username}, &so, &se)
	if rc != 0 {
		t.Fatalf("rc %d\n%s\n%s", rc, so.String(), se.String())
	}
	var rep struct {
		Items []struct{ Domain, Check, Status, Evidence, Fix string }
	}
	if err := json.Unmarshal(so.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, so.String())
	}
	seen := map[string]bool{}
	for _, it := range rep.Items {
		seen[it.Check] = true
		if it.Status == "fail" {
			t.Errorf("failed: %+v", it)
		}
	}
	for _, c := range []string{"spf", "spf-ips", "dkim", "dmarc", "ptr", "helo", "key-perms"} {
		if !seen[c] {
			t.Errorf("no %s item in %s", c, so.String())
		}
	}

	so.Reset()
	se.Reset()
	rc = dispatch([]string{"doctor", "other.example", "-c", cfg, "--user", me.Username}, &so, &se)
	if rc != 1 {
		t.Fatalf("rc %d for a domain with nothing published\n%s", rc, so.String())
	}
	for _, want := range []string{"[FAIL] spf ", "no SPF record at other.example", `fix: publish: other.example. IN TXT "v=spf1 ip4:192.0.2.10 mx a -all"`, "[FAIL] dmarc", "[FAIL] dkim"} {
		if !strings.Contains(so.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, so.String())
		}
	}
	if rc := dispatch([]string{"doctor", "--ip", "not-an-ip", "-c", cfg}, &so, &se); rc != 2 {
		t.Errorf("bad --ip: rc %d, want 2", rc)
	}
}
