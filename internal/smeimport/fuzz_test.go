package smeimport

import (
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/smedb"
)

// FuzzConvert: whatever the SME databases contain, the importer writes a
// file that `config check` accepts: a value it cannot carry over becomes a
// "not carried over" comment, never a broken policy file.
func FuzzConvert(f *testing.F) {
	f.Add("DomainName=example.com\nqpsmtpd=service|RBLList|zen.spamhaus.org|DNSBL|enabled\n", "alice=user|Visible|internal\n", "example.org=domain|DKIMSigning|disabled\n", "*@x.example=White\n")
	f.Add("spamassassin=service|TagLevel|abc|RejectLevel|-3|Sensitivity|weird\n", "", "", "")
	f.Add("qpsmtpd=service|BccUser|a b|Bcc|enabled|Disclaimer|enabled|DisclaimerText|x\n", "x y=group|Visible|internal\n", "bad domain=domain|DisclaimerText|t\n", "a,b=Black\n")
	f.Fuzz(func(t *testing.T, conf, accounts, domains, sa string) {
		src := &Source{Dir: "fuzz"}
		var err error
		parse := func(name, text string) *smedb.DB {
			db, e := smedb.Parse(name, strings.NewReader(text))
			if e != nil {
				err = e
			}
			return db
		}
		src.Configuration = parse("configuration", conf)
		src.Accounts = parse("accounts", accounts)
		src.Domains = parse("domains", domains)
		src.SpamAssassin = parse("spamassassin", sa)
		if err != nil {
			return
		}
		res := Convert(src)
		if _, err := config.Parse("fuzz.toml", res.TOML); err != nil {
			t.Fatalf("output refused: %v\n%s", err, res.TOML)
		}
	})
}
