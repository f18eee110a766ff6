package doctor

import (
	"context"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/mailwarden/mailwarden/internal/dkimkeys"
	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// world is one test setup: the zone data served by a real loopback DNS
// server (internal/dnstest) and the files doctor looks at.
type world struct {
	records  map[string]string // label -> zone-file line ("" removes it)
	servfail []string          // names answered with SERVFAIL
	opts     Options
	keyPath  string
	junkTmp  string
}

const (
	serverIP = "192.0.2.10"
	relayIP  = "198.51.100.7"
)

func newWorld(t *testing.T) *world {
	t.Helper()
	keys := t.TempDir()
	k, err := dkimkeys.Generate(keys, "example.com", dkimkeys.GenerateOptions{Bits: 1024, Selector: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := dkimkeys.TXTRecord(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	maildirs := t.TempDir()
	junk := filepath.Join(maildirs, "alice", "Maildir", ".junkmail", "tmp")
	if err := os.MkdirAll(junk, 0o700); err != nil {
		t.Fatal(err)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	w := &world{
		records: map[string]string{
			"spf":      `example.com. IN TXT "v=spf1 ip4:192.0.2.10 include:_spf.example.com -all"`,
			"spf-inc":  `_spf.example.com. IN TXT "v=spf1 ip4:198.51.100.0/24 -all"`,
			"web":      `example.com. IN TXT "google-site-verification=abc"`,
			"dkim":     zoneTXT("s1._domainkey.example.com", rec),
			"dmarc":    `_dmarc.example.com. IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@reports.example.net"`,
			"rua-auth": `example.com._report._dmarc.reports.example.net. IN TXT "v=DMARC1"`,
			"ptr":      `10.2.0.192.in-addr.arpa. IN PTR mail.example.com.`,
			"a":        `mail.example.com. IN A 192.0.2.10`,
		},
		opts: Options{
			Domains:     []string{"example.com"},
			IPs:         []netip.Addr{netip.MustParseAddr(serverIP)},
			Relays:      []netip.Addr{netip.MustParseAddr(relayIP)},
			HELO:        "mail.example.com",
			KeysDir:     keys,
			Signing:     true,
			ServiceUser: me.Username,
			ServiceUID:  os.Getuid(),
			Maildirs:    []string{filepath.Join(maildirs, "*", "Maildir")},
			JunkFolder:  ".junkmail",
			DMARCPolicy: "none",
		},
		keyPath: k.Path,
		junkTmp: junk,
	}
	return w
}

func (w *world) run(t *testing.T) *Report {
	t.Helper()
	srv := dnstest.New(t)
	for _, l := range w.records {
		if l != "" {
			srv.AddRR(t, l)
		}
	}
	for _, n := range w.servfail {
		srv.SetRcode(n, 0, dns.RcodeServerFailure)
	}
	w.opts.Resolver = srv.Resolver(t)
	return Run(context.Background(), w.opts)
}

func checks(r *Report) []string {
	var out []string
	for _, it := range r.Items {
		out = append(out, it.Check)
	}
	sort.Strings(out)
	return out
}

func TestHealthyDomainPasses(t *testing.T) {
	w := newWorld(t)
	rep := w.run(t)
	if np := rep.NotPassing(); len(np) > 0 {
		t.Fatalf("a correct setup does not pass: %+v", np)
	}
	want := []string{"dkim", "dmarc", "dmarc-rua", "helo", "junk-owner", "key-perms", "ptr", "spf", "spf-ips", "spf-lookups", "spf-ptr"}
	if got := checks(rep); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("items %v, want %v", got, want)
	}
	if rep.Failed() {
		t.Error("Failed() on a passing report")
	}
}

// TestEachBrokenItem breaks one thing at a time: exactly that item must
// come out (fail or warn), with evidence and the fix.
func TestEachBrokenItem(t *testing.T) {
	root := os.Getuid() == 0
	tests := []struct {
		name      string
		break_    func(t *testing.T, w *world)
		check     string
		status    Status
		evidence  string
		fix       string
		needsRoot bool
	}{
		{"spf missing", func(t *testing.T, w *world) { w.records["spf"] = "" },
			"spf", Fail, "no SPF record", `example.com. IN TXT "v=spf1 ip4:192.0.2.10 ip4:198.51.100.7 mx a -all"`, false},
		{"spf lookup fails", func(t *testing.T, w *world) { w.servfail = []string{"example.com"} },
			"spf", Fail, "TXT example.com:", "make the domain's name servers answer", false},
		{"dmarc lookup fails", func(t *testing.T, w *world) { w.servfail = []string{"_dmarc.example.com"} },
			"dmarc", Fail, "_dmarc.example.com", "make the domain's name servers answer", false},
		{"spf twice", func(t *testing.T, w *world) {
			w.records["spf2"] = `example.com. IN TXT "v=spf1 -all"`
		}, "spf", Fail, "2 SPF records", "keep one", false},
		{"spf unparsable", func(t *testing.T, w *world) {
			w.records["spf"] = `example.com. IN TXT "v=spf1 ip4:192.0.2.300 include:_spf.example.com -all"`
		}, "spf", Fail, "192.0.2.300", "replace it with", false},
		{"spf ptr", func(t *testing.T, w *world) {
			w.records["spf"] = `example.com. IN TXT "v=spf1 ip4:192.0.2.10 include:_spf.example.com ptr -all"`
		}, "spf-ptr", Warn, "ptr", `"v=spf1 ip4:192.0.2.10 include:_spf.example.com -all"`, false},
		{"spf misses the server", func(t *testing.T, w *world) {
			w.records["spf"] = `example.com. IN TXT "v=spf1 include:_spf.example.com -all"`
		}, "spf-ips", Fail, "192.0.2.10: fail", `"v=spf1 ip4:192.0.2.10 include:_spf.example.com -all"`, false},
		{"spf misses the relay", func(t *testing.T, w *world) {
			w.records["spf-inc"] = `_spf.example.com. IN TXT "v=spf1 ip4:203.0.113.0/24 -all"`
		}, "spf-ips", Fail, "198.51.100.7: fail", "ip4:198.51.100.7", false},
		{"spf too many lookups", func(t *testing.T, w *world) {
			w.records["spf"] = `example.com. IN TXT "v=spf1 ip4:192.0.2.10 include:_spf.example.com a:h1.example.com a:h2.example.com mx:h3.example.com a:h4.example.com a:h5.example.com a:h6.example.com a:h7.example.com a:h8.example.com exists:h9.example.com a:h10.example.com -all"`
		}, "spf-lookups", Fail, "11 DNS-querying terms", "flatten", false},
		{"dkim record missing", func(t *testing.T, w *world) { w.records["dkim"] = "" },
			"dkim", Fail, "s1._domainkey.example.com: no such record", "s1._domainkey.example.com. IN TXT", false},
		{"dkim record of another key", func(t *testing.T, w *world) {
			other, err := dkimkeys.Generate(t.TempDir(), "example.com", dkimkeys.GenerateOptions{Bits: 1024, Selector: "s1"})
			if err != nil {
				t.Fatal(err)
			}
			rec, _ := dkimkeys.TXTRecord(other.Public())
			w.records["dkim"] = zoneTXT("s1._domainkey.example.com", rec)
		}, "dkim", Fail, "not the public half", "replace it with", false},
		{"dkim no key", func(t *testing.T, w *world) { w.opts.KeysDir = t.TempDir() },
			"dkim", Fail, "no key for example.com", "mailwarden dkim keygen example.com", false},
		{"dmarc missing", func(t *testing.T, w *world) { w.records["dmarc"] = "" },
			"dmarc", Fail, "no DMARC record", `_dmarc.example.com. IN TXT "v=DMARC1; p=none"`, false},
		{"dmarc unparsable", func(t *testing.T, w *world) {
			w.records["dmarc"] = `_dmarc.example.com. IN TXT "v=DMARC1; p=bogus; rua=mailto:dmarc@reports.example.net"`
		}, "dmarc", Fail, "_dmarc.example.com", "publish", false},
		{"dmarc without rua", func(t *testing.T, w *world) {
			w.records["dmarc"] = `_dmarc.example.com. IN TXT "v=DMARC1; p=reject"`
		}, "dmarc", Warn, "no rua", "add rua=mailto:", false},
		{"external rua not authorised", func(t *testing.T, w *world) { w.records["rua-auth"] = "" },
			"dmarc-rua", Fail, "dmarc@reports.example.net", `example.com._report._dmarc.reports.example.net. IN TXT "v=DMARC1"`, false},
		{"no PTR", func(t *testing.T, w *world) { w.records["ptr"] = "" },
			"ptr", Fail, "no PTR for 192.0.2.10", "set its PTR to mail.example.com", false},
		{"PTR does not resolve back", func(t *testing.T, w *world) {
			w.records["a"] = `mail.example.com. IN A 192.0.2.99`
		}, "ptr", Fail, "does not resolve back", "mail.example.com. IN A 192.0.2.10", false},
		{"HELO is not the PTR name", func(t *testing.T, w *world) { w.opts.HELO = "smtp.example.com" },
			"helo", Fail, "HELO smtp.example.com, but 192.0.2.10's PTR name is mail.example.com", "smtp_helo_name = mail.example.com", false},
		{"key mode 0644", func(t *testing.T, w *world) {
			if err := os.Chmod(w.keyPath, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "key-perms", Fail, "mode 0644", "chmod 600 ", false},
		{"key owned by another user", func(t *testing.T, w *world) {
			if err := os.Chown(w.keyPath, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "key-perms", Fail, "owner ", "chown ", true},
		{"junk tmp owned by another user", func(t *testing.T, w *world) {
			if err := os.Chown(w.junkTmp, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "junk-owner", Fail, ".junkmail/tmp belongs to", "chown -R ", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needsRoot && !root {
				// In CI nothing may be skipped: a test that cannot run fails.
				if testenv.InCI() {
					t.Fatal("needs root to give a file to another user, and CI=true: run the tests as root in CI (not skipped there)")
				}
				t.Skip("needs root to give a file to another user")
			}
			w := newWorld(t)
			tt.break_(t, w)
			rep := w.run(t)
			np := rep.NotPassing()
			if len(np) != 1 {
				t.Fatalf("want exactly one item not passing (%s), got %d: %+v", tt.check, len(np), np)
			}
			it := np[0]
			if it.Check != tt.check || it.Status != tt.status {
				t.Errorf("got %s/%s, want %s/%s", it.Check, it.Status, tt.check, tt.status)
			}
			if !strings.Contains(it.Evidence, tt.evidence) {
				t.Errorf("evidence %q lacks %q", it.Evidence, tt.evidence)
			}
			if !strings.Contains(it.Fix, tt.fix) {
				t.Errorf("fix %q lacks %q", it.Fix, tt.fix)
			}
			if rep.Failed() != (tt.status == Fail) {
				t.Errorf("Failed() = %v for a %s", rep.Failed(), tt.status)
			}
		})
	}
}

// TestConfiguredKeyFile: a [dkim.domain.D] key_file replaces the layout's
// key, so its selector's record is the one checked.
func TestConfiguredKeyFile(t *testing.T) {
	w := newWorld(t)
	other, err := dkimkeys.Generate(t.TempDir(), "example.com", dkimkeys.GenerateOptions{Bits: 1024, Selector: "nov2026"})
	if err != nil {
		t.Fatal(err)
	}
	w.opts.KeyFiles = map[string]map[string]string{"example.com": {"nov2026": other.Path}}
	rep := w.run(t)
	np := rep.NotPassing()
	if len(np) != 1 || np[0].Check != "dkim" || !strings.Contains(np[0].Fix, "nov2026._domainkey.example.com. IN TXT") {
		t.Fatalf("want the configured selector's record missing, got %+v", np)
	}
}
