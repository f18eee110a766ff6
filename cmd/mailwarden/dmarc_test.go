package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/authresult"
	"github.com/mailwarden/mailwarden/internal/dmarcreport"
	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// TestDMARCReportCommand runs `mailwarden dmarc report` on a store holding
// yesterday's evaluations: --dry-run lists the report and its destinations
// and keeps the rows; without it the report goes to the SMTP server and the
// rows are gone.
func TestDMARCReportCommand(t *testing.T) {
	dir := t.TempDir()
	dns := dnstest.New(t)
	sink := testenv.StartSink(t)
	cfgPath := filepath.Join(dir, "mailwarden.toml")
	cfg := fmt.Sprintf("[server]\nstate_dir = %q\nhostname = \"mx.mailwarden.test\"\n[dns]\nservers = [%q]\n[dmarc]\nreport_smtp = %q\n",
		dir, dns.Addr(), sink.Addr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenBolt(filepath.Join(dir, "state.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc := &dmarcreport.Recorder{Store: st, Interval: 24 * time.Hour, TTL: 7 * 24 * time.Hour}
	for i := 0; i < 4; i++ {
		err := rc.Record(context.Background(), authresult.DMARCEvaluation{
			Time: time.Now().Add(-24 * time.Hour), SourceIP: netip.MustParseAddr("192.0.2.10"), HeaderFrom: "bank.example",
			EnvelopeFrom: "bank.example", Published: authresult.PolicyPublished{Domain: "bank.example", P: "reject", Pct: 100,
				ADKIM: "r", ASPF: "r", FO: "0", RUA: []string{"mailto:dmarc@bank.example", "mailto:x@elsewhere.example"}},
			Disposition: authresult.DispositionReject,
			SPF:         []authresult.AuthIdentifier{{Domain: "bank.example", Scope: "mfrom", Result: "fail"}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	var out, errb bytes.Buffer
	if code := dispatch([]string{"dmarc", "report", "--dry-run", "--xml", "-c", cfgPath}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	o := out.String()
	for _, want := range []string{"bank.example", "1 records, 4 messages", "mx.mailwarden.test!bank.example!",
		"mailto:dmarc@bank.example", "would send", "mailto:x@elsewhere.example", "skipped:", "<count>4</count>"} {
		if !strings.Contains(o, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, o)
		}
	}
	if len(sink.Messages()) != 0 {
		t.Fatal("--dry-run sent mail")
	}

	out.Reset()
	if code := dispatch([]string{"dmarc", "report", "-c", cfgPath}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	msgs := sink.Wait(t, 1, 10*time.Second)
	if len(msgs[0].Rcpts) != 1 || msgs[0].Rcpts[0] != "dmarc@bank.example" {
		t.Errorf("report sent to %v", msgs[0].Rcpts)
	}
	out.Reset()
	dispatch([]string{"dmarc", "report", "--dry-run", "-c", cfgPath}, &out, &errb)
	if !strings.Contains(out.String(), "no finished reporting interval") {
		t.Errorf("rows not deleted after sending:\n%s", out.String())
	}
}
