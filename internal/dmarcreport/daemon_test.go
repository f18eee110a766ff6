package dmarcreport_test

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/authresult"
	"github.com/mailwarden/mailwarden/internal/dmarcreport"
	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

// TestDaemonSendsMissedReports: a daemon started with yesterday's
// evaluations in its store sends their report through [dmarc] report_smtp
// on its own (the report timer's catch-up run).
func TestDaemonSendsMissedReports(t *testing.T) {
	testenv.RequireLong(t)
	state := t.TempDir()
	st, err := store.OpenBolt(filepath.Join(state, "state.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc := &dmarcreport.Recorder{Store: st, Interval: 24 * time.Hour, TTL: 7 * 24 * time.Hour}
	err = rc.Record(context.Background(), authresult.DMARCEvaluation{
		Time: time.Now().Add(-24 * time.Hour), SourceIP: netip.MustParseAddr("203.0.113.5"), HeaderFrom: "shop.example",
		EnvelopeFrom: "shop.example", Published: authresult.PolicyPublished{Domain: "shop.example", P: "quarantine", Pct: 100,
			ADKIM: "r", ASPF: "r", FO: "0", RUA: []string{"mailto:rua@shop.example"}},
		Disposition: authresult.DispositionQuarantine,
		SPF:         []authresult.AuthIdentifier{{Domain: "shop.example", Scope: "mfrom", Result: "softfail"}},
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	dns := dnstest.New(t)
	sink := testenv.StartSink(t)
	testenv.StartDaemon(t, fmt.Sprintf("[server]\nmilter_listen = \"{{MILTER}}\"\nstate_dir = %q\nhostname = \"mx.mailwarden.test\"\n"+
		"[dns]\nservers = [%q]\n[dmarc]\nreport_smtp = %q\n", state, dns.Addr(), sink.Addr))
	msgs := sink.Wait(t, 1, dmarcreport.CatchUpDelay+20*time.Second)
	m := msgs[0]
	if len(m.Rcpts) != 1 || m.Rcpts[0] != "rua@shop.example" || m.From != "noreply-dmarc@mx.mailwarden.test" {
		t.Errorf("report from %s to %v", m.From, m.Rcpts)
	}
	if !bytes.Contains(m.Raw, []byte("mx.mailwarden.test!shop.example!")) {
		t.Errorf("no report attachment in:\n%s", m.Raw)
	}
	if _, err := os.Stat(filepath.Join(state, "state.db")); err != nil {
		t.Error(err)
	}
}
