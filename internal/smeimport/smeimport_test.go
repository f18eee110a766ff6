package smeimport

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/app"
	"github.com/mailwarden/mailwarden/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// convertDir runs the importer on a testdata folder.
func convertDir(t *testing.T, dir string) *Result {
	t.Helper()
	src, err := LoadDir(filepath.Join("testdata", dir))
	if err != nil {
		t.Fatal(err)
	}
	return Convert(src)
}

// TestGolden compares the produced TOML with testdata/NAME.toml (go test
// -update rewrites them), and checks that `mailwarden config check` (config
// parsing and building the engine without network deps) accepts it.
func TestGolden(t *testing.T) {
	for _, name := range []string{"full", "minimal"} {
		t.Run(name, func(t *testing.T) {
			res := convertDir(t, name)
			golden := filepath.Join("testdata", name+".toml")
			if *update {
				if err := os.WriteFile(golden, res.TOML, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(res.TOML, want) {
				t.Errorf("output differs from %s (go test -update to accept):\n%s", golden, res.TOML)
			}
			cfg, err := config.Parse(name+".toml", res.TOML)
			if err != nil {
				t.Fatalf("config check refuses the output:\n%v\n%s", err, res.TOML)
			}
			if _, err := app.BuildEngine(cfg, app.Deps{}); err != nil {
				t.Fatalf("engine refuses the output: %v", err)
			}
		})
	}
}

// TestFullValues checks that every SME setting of the full sample arrives in
// the parsed config with its SME value, not a default.
func TestFullValues(t *testing.T) {
	res := convertDir(t, "full")
	c, err := config.Parse("full.toml", res.TOML)
	if err != nil {
		t.Fatal(err)
	}
	f := false
	checks := []struct {
		name      string
		got, want any
	}{
		{"hostname", c.Server.Hostname, "mail.example.com"},
		{"local_networks", c.Profiles.LocalNetworks, []string{"127.0.0.0/8", "::1/128", "10.1.0.0/16", "192.168.10.0/24"}},
		{"TagLevel", c.Spam.TagLevel, 5.5},
		{"RejectLevel", c.Spam.RejectLevel, 15.0},
		{"Sensitivity", c.Spam.Sensitivity, "custom"},
		{"SubjectTag", c.Spam.SubjectTag, true},
		{"SubjectTagText (escaped pipe)", c.Spam.SubjectPrefix, "[SPAM|JUNK]"},
		{"SortSpam", c.Sorting.Enabled, true},
		{"RBLList (colon separated, as SME stores it)", c.Envelope.DNSBL.Zones, []string{"zen.spamhaus.org", "bl.spamcop.net"}},
		{"DNSBL", c.Envelope.DNSBL.Enabled, true},
		{"SBLList", c.Envelope.RHSBL.Zones, []string{"dbl.spamhaus.org"}},
		{"RHSBL", c.Envelope.RHSBL.Enabled, true},
		{"UBLList (odd spacing)", c.Envelope.URIBL.Zones, []string{"multi.uribl.com", "dbl.spamhaus.org"}},
		{"URIBL", c.Envelope.URIBL.Enabled, true},
		{"HeloPolicy", c.Envelope.HELO.Policy, "strict"},
		{"Karma", c.Karma.Enabled, true},
		{"KarmaNegative", c.Karma.Negative, 3},
		{"KarmaStrikes", c.Karma.Strikes, 4},
		{"MaxLoad", c.Load.MaxLoad, 9.5},
		{"MaxLoad enables", c.Load.Enabled, true},
		{"SPFRejectPolicy", c.SPF.RejectPolicy, 2},
		{"DMARCReject", c.DMARC.Reject, true},
		{"DMARCReporting", c.DMARC.Reporting, false},
		{"DKIMSigning", c.DKIM.Signing, true},
		{"dkim keys_dir", c.DKIM.KeysDir, SMEDKIMKeysDir},
		{"DKIMSigning per domain", c.DKIM.Domain["example.org"].Signing, &f},
		{"Bcc", c.BCC.Enabled, true},
		{"BccUser", c.BCC.Mailbox, "maillog@example.com"},
		{"BccMode", c.BCC.Mode, "cc"},
		{"Disclaimer", c.Disclaimer.Enabled, true},
		{"DisclaimerText (escaped pipe)", c.Disclaimer.Text, "Confidential: meant for the addressee only | no other use."},
		{"domain disclaimer", c.Disclaimer.Domains, map[string]string{"example.org": "Example Org: this mail is private."}},
		{"Visible internal", c.Envelope.Internal.Recipients, []string{"bob@", "everyone@", "staff@"}},
		{"MaxMessageSize (bytes)", int64(c.Limits.MaxMessageSize), int64(20000000)},
		{"MaxScannerSize (25M)", int64(c.Virus.MaxSize), int64(25 << 20)},
		{"clamav status", c.Virus.Enabled, true},
		{"whitelist", c.WBList.WhitelistFrom, []string{"*@partner.example", "boss@example.net"}},
		{"blacklist (odd spacing)", c.WBList.BlacklistFrom, []string{"*@spam.example", "bad@phish.example"}},
		{"UseBayes", c.Bayes.Enabled, true},
		{"UseBayesAutoLearn", c.Bayes.AutoLearn, true},
		{"BayesAutoLearnThresholdSpam", c.Bayes.AutoLearnThresholdSpam, 7.0},
		{"BayesAutoLearnThresholdNonspam", c.Bayes.AutoLearnThresholdNonspam, 0.5},
		{"MessageRetentionTime", c.Bayes.Learn.MessageRetentionTime, 60},
	}
	for _, ch := range checks {
		t.Run(ch.name, func(t *testing.T) {
			if !reflect.DeepEqual(ch.got, ch.want) {
				t.Errorf("got %#v, want %#v", ch.got, ch.want)
			}
		})
	}
	// What could not be carried over is named with the reason.
	for _, want := range []string{
		"qmail ConcurrencyLimit=40: qmail/qpsmtpd process limit",
		"qpsmtpd TCPPort=25:",
		"qpsmtpd tlsBeforeAuth=0:",
		"spamassassin ReportSafe=2: no mailwarden equivalent",
		"domains example.net Greylisting=on: no mailwarden equivalent",
		"spamassassin db weird entry=White: not a sender pattern",
		"spamassassin db friend@example.org=Grey: neither White nor Black",
		"networks 10.2.0.0=255.0.255.0: not a contiguous netmask",
	} {
		if !containsLine(res.Skipped, want) {
			t.Errorf("skipped list lacks %q:\n%s", want, strings.Join(res.Skipped, "\n"))
		}
		if !strings.Contains(string(res.TOML), want) {
			t.Errorf("file has no comment %q", want)
		}
	}
}

func containsLine(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func TestMinimal(t *testing.T) {
	res := convertDir(t, "minimal")
	c, err := config.Parse("minimal.toml", res.TOML)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rules.Enabled || c.Bayes.Enabled {
		t.Error("spamassassin status=disabled did not turn rules and Bayes off")
	}
	if c.Disclaimer.Enabled {
		t.Error("disclaimer enabled with no text")
	}
	if !containsLine(res.Skipped, "qpsmtpd Disclaimer=enabled: no text found") {
		t.Errorf("skipped = %q", res.Skipped)
	}
}

func TestLoadDirErrors(t *testing.T) {
	if _, err := LoadDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "configuration") {
		t.Errorf("empty dir: err = %v", err)
	}
	// The SME root layout is found too.
	root := t.TempDir()
	db := filepath.Join(root, "home", "e-smith", "db")
	if err := os.MkdirAll(db, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(db, "configuration"), []byte("DomainName=example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := LoadDir(root)
	if err != nil || src.Dir != db {
		t.Fatalf("root layout: %v, dir %q", err, src.Dir)
	}
}

func TestTOMLString(t *testing.T) {
	for _, s := range []string{`a "quoted" \ value`, "two\nlines\ttab", "ctl\x01\x7f", "ünï"} {
		var v struct{ S string }
		text := "S = " + tomlString(s) + "\n"
		if _, err := config.Parse("t", []byte(text)); err != nil && !strings.Contains(err.Error(), "unknown key") {
			t.Errorf("%q: %v", s, err)
		}
		_ = v
	}
}

// TestRefusedValues: values the policy file would refuse are left out and
// named with the validator's reason, so the file still loads.
func TestRefusedValues(t *testing.T) {
	dir := t.TempDir()
	conf := "DomainName=example.com\n" +
		"spamassassin=service|RejectLevel|-3|TagLevel|4.5\n" +
		"qpsmtpd=service|RBLList|zen.spamhaus.org,bad..zone|DNSBL|enabled|BccUser|not an address|Bcc|disabled\n"
	if err := os.WriteFile(filepath.Join(dir, "configuration"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "domains"), []byte("bad_domain!=domain|DKIMSigning|disabled\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	res := Convert(src)
	c, err := config.Parse("x.toml", res.TOML)
	if err != nil {
		t.Fatalf("output refused: %v\n%s", err, res.TOML)
	}
	if c.Spam.TagLevel != 4.5 || c.Spam.RejectLevel != config.Defaults().Spam.RejectLevel {
		t.Errorf("tag %v reject %v: want 4.5 and the default", c.Spam.TagLevel, c.Spam.RejectLevel)
	}
	for _, want := range []string{"spamassassin RejectLevel (spam.reject_level = -3.0): refused by mailwarden", "refused by mailwarden"} {
		if !strings.Contains(string(res.TOML), want) {
			t.Errorf("no note %q in:\n%s", want, res.TOML)
		}
	}
	if _, ok := c.DKIM.Domain["bad_domain!"]; ok {
		t.Errorf("a domain name the config refuses was kept")
	}
}

func TestList(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"zen.spamhaus.org:bl.spamcop.net", []string{"zen.spamhaus.org", "bl.spamcop.net"}},
		{"Zen.Spamhaus.org", []string{"zen.spamhaus.org"}},
		{"a.example:b.example,c.example; d.example\te.example", []string{"a.example", "b.example", "c.example", "d.example", "e.example"}},
		{" :a.example::", []string{"a.example"}},
		{"", []string{}},
	} {
		if got := list(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("list(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"20000000", 20000000, true}, {" 0 ", 0, true},
		{"500k", 500 << 10, true}, {"500K", 500 << 10, true},
		{"25m", 25 << 20, true}, {"25M", 25 << 20, true}, {"25 M", 25 << 20, true},
		{"1g", 1 << 30, true}, {"2G", 2 << 30, true},
		{"", 0, false}, {"M", 0, false}, {"-1", 0, false}, {"-1M", 0, false}, {"+5", 0, false},
		{"25MB", 0, false}, {"25MiB", 0, false}, {"1.5M", 0, false}, {"lots", 0, false},
		{"9223372036854775807", 9223372036854775807, true}, {"9223372036854775807K", 0, false},
		{"99999999999999999999", 0, false},
	} {
		got, ok := parseSize(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestSizes: SME sizes with K/M/G suffixes (1024-based) arrive as byte
// counts through config check; other spellings are listed as not carried
// over and the file still loads.
func TestSizes(t *testing.T) {
	for _, tt := range []struct {
		qmail, clamav string
		msg, scan     int64 // 0: the default (not carried over)
	}{
		{"20000000", "25000000", 20000000, 25000000},
		{"15m", "50M", 15 << 20, 50 << 20},
		{"512k", "1G", 512 << 10, 1 << 30},
		{"1g", "2048K", 1 << 30, 2 << 20},
		{"20MB", "lots", 0, 0},
	} {
		t.Run(tt.qmail+"_"+tt.clamav, func(t *testing.T) {
			dir := t.TempDir()
			conf := "DomainName=example.com\n" +
				"qmail=service|MaxMessageSize|" + tt.qmail + "\n" +
				"clamav=service|status|enabled|MaxScannerSize|" + tt.clamav + "\n"
			if err := os.WriteFile(filepath.Join(dir, "configuration"), []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			src, err := LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			res := Convert(src)
			c, err := config.Parse("x.toml", res.TOML)
			if err != nil {
				t.Fatalf("config check refuses the output:\n%v\n%s", err, res.TOML)
			}
			if _, err := app.BuildEngine(c, app.Deps{}); err != nil {
				t.Fatalf("engine refuses the output: %v", err)
			}
			def := config.Defaults()
			wantMsg, wantScan := tt.msg, tt.scan
			if wantMsg == 0 {
				wantMsg = int64(def.Limits.MaxMessageSize)
				if !containsLine(res.Skipped, "qmail MaxMessageSize="+tt.qmail+": not a size") {
					t.Errorf("skipped = %q", res.Skipped)
				}
			}
			if wantScan == 0 {
				wantScan = int64(def.Virus.MaxSize)
				if !containsLine(res.Skipped, "clamav MaxScannerSize="+tt.clamav+": not a size") {
					t.Errorf("skipped = %q", res.Skipped)
				}
			}
			if got := int64(c.Limits.MaxMessageSize); got != wantMsg {
				t.Errorf("max_message_size = %d, want %d\n%s", got, wantMsg, res.TOML)
			}
			if got := int64(c.Virus.MaxSize); got != wantScan {
				t.Errorf("virus max_size = %d, want %d\n%s", got, wantScan, res.TOML)
			}
		})
	}
}
