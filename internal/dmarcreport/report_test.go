package dmarcreport

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/authresult"
	"github.com/mailwarden/mailwarden/internal/dnstest"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/testenv"
)

var day0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "state.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func ev(at time.Time, ip, from string, dkimOK bool, dis authresult.Disposition) authresult.DMARCEvaluation {
	e := authresult.DMARCEvaluation{
		Time: at, SourceIP: netip.MustParseAddr(ip), EnvelopeFrom: "bounce." + from, EnvelopeTo: "example.org", HeaderFrom: from,
		Published: authresult.PolicyPublished{Domain: from, ADKIM: "r", ASPF: "r", P: "reject", Pct: 100, FO: "0",
			RUA: []string{"mailto:dmarc@" + from, "mailto:agg@reports.example!10m", "mailto:x@unauthorized.example", "https://r.example/"}},
		Disposition: dis, DKIMAligned: dkimOK,
		DKIM: []authresult.AuthIdentifier{{Domain: from, Selector: "sel1", Result: map[bool]string{true: "pass", false: "fail"}[dkimOK]}},
		SPF:  []authresult.AuthIdentifier{{Domain: "bounce." + from, Scope: "mfrom", Result: "softfail"}},
	}
	return e
}

// record fills a store with evaluations over two days and two domains.
func record(t *testing.T, st store.Store) {
	t.Helper()
	rc := &Recorder{Store: st, Interval: 24 * time.Hour, TTL: 7 * 24 * time.Hour}
	ctx := context.Background()
	evs := []authresult.DMARCEvaluation{
		// day 0, a.example: three passing messages from one IP → one row of 3
		ev(day0.Add(1*time.Hour), "192.0.2.1", "a.example", true, "none"),
		ev(day0.Add(2*time.Hour), "192.0.2.1", "a.example", true, "none"),
		ev(day0.Add(23*time.Hour), "192.0.2.1", "a.example", true, "none"),
		// a rejected forgery from another IP, and one over IPv6
		ev(day0.Add(3*time.Hour), "198.51.100.9", "a.example", false, "reject"),
		ev(day0.Add(4*time.Hour), "2001:db8::25", "a.example", false, "reject"),
		// day 0, b.example
		ev(day0.Add(5*time.Hour), "192.0.2.1", "b.example", true, "none"),
		// day 1 (not finished when the job runs at day1+1h)
		ev(day0.Add(25*time.Hour), "192.0.2.1", "a.example", true, "none"),
	}
	for _, e := range evs {
		if err := rc.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
}

func job(t *testing.T, st store.Store, dns *dnstest.Server, smtpAddr string) *Job {
	return &Job{Store: st, Resolver: dns.Resolver(t), Meta: Meta{OrgName: "Example Receiver", Email: "noreply-dmarc@mx.example.org", Receiver: "mx.example.org"},
		Interval: 24 * time.Hour, SMTPAddr: smtpAddr, Now: func() time.Time { return day0.Add(25 * time.Hour) }}
}

func TestGroupingAndDateRange(t *testing.T) {
	st := openStore(t)
	record(t, st)
	s := dnstest.New(t)
	out, err := job(t, st, s, "").Run(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("%d reports, want 2 (a.example and b.example of day 0; day 1 is running)", len(out))
	}
	a := out[0].Report
	if a.Domain != "a.example" || a.Begin != day0 || a.End != day0.Add(24*time.Hour-time.Second) {
		t.Errorf("report %s %v-%v", a.Domain, a.Begin, a.End)
	}
	dr := a.Feedback.ReportMetadata.DateRange
	if dr.Begin != day0.Unix() || dr.End != day0.Add(24*time.Hour).Unix()-1 {
		t.Errorf("date_range %d-%d does not match the interval", dr.Begin, dr.End)
	}
	if a.Rows != 3 || a.Messages != 5 {
		t.Errorf("%d records / %d messages, want 3 / 5", a.Rows, a.Messages)
	}
	var counts []int64
	for _, r := range a.Feedback.Records {
		counts = append(counts, r.Row.Count)
		if len(r.AuthResults.DKIM) != 1 || r.AuthResults.DKIM[0].Selector != "sel1" {
			t.Errorf("DKIM selector missing: %+v", r.AuthResults)
		}
		if len(r.AuthResults.SPF) != 1 || r.AuthResults.SPF[0].Scope != "mfrom" {
			t.Errorf("SPF scope missing: %+v", r.AuthResults)
		}
	}
	if counts[0] != 3 {
		t.Errorf("counts %v: the three passing messages from 192.0.2.1 must be one row", counts)
	}
	if got := out[0].FileName; got != "mx.example.org!a.example!1772323200!1772409599.xml.gz" {
		t.Errorf("file name %q", got)
	}
	// A dry run deletes nothing.
	out2, _ := job(t, st, s, "").Run(context.Background(), true)
	if len(out2) != 2 {
		t.Errorf("dry run changed the store: %d reports on the second run", len(out2))
	}
}

// TestSchema validates a generated report against RFC 7489 Appendix C with
// xmllint (Debian libxml2-utils).
func TestSchema(t *testing.T) {
	xmllint := testenv.RequireBinary(t, "xmllint")
	st := openStore(t)
	record(t, st)
	out, err := job(t, st, dnstest.New(t), "").Run(context.Background(), true)
	if err != nil || len(out) == 0 {
		t.Fatal(out, err)
	}
	for _, o := range out {
		doc, err := o.Report.XML()
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "report.xml")
		os.WriteFile(f, doc, 0o644)
		cmd := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "rfc7489-appendix-c.xsd"), f)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s does not validate: %v\n%s\n%s", o.FileName, err, b, doc)
		}
	}
	// The check is real: a report missing a required element fails.
	doc, _ := out[0].Report.XML()
	bad := bytes.Replace(doc, []byte("<sp>reject</sp>"), nil, 1)
	f := filepath.Join(t.TempDir(), "bad.xml")
	os.WriteFile(f, bad, 0o644)
	if err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "rfc7489-appendix-c.xsd"), f).Run(); err == nil {
		t.Error("a report without <sp> validated: the schema check proves nothing")
	}
}

// TestSend sends the day's reports to an SMTP sink and checks the message:
// RFC 7489 7.2.1.1 subject, gzip attachment named after the report, only
// authorized mailto: destinations, rows deleted afterwards.
func TestSend(t *testing.T) {
	st := openStore(t)
	record(t, st)
	dns := dnstest.New(t)
	// reports.example authorizes a.example and b.example; unauthorized.example does not.
	dns.AddRR(t, `a.example._report._dmarc.reports.example. TXT "v=DMARC1"`, `b.example._report._dmarc.reports.example. TXT "v=DMARC1"`)
	sink := testenv.StartSink(t)
	out, err := job(t, st, dns, sink.Addr).Run(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if o.Err != nil {
			t.Fatalf("%s: %v", o.FileName, o.Err)
		}
		if strings.Join(o.Sent, ",") != "dmarc@"+o.Report.Domain+",agg@reports.example" {
			t.Errorf("%s sent to %v", o.Report.Domain, o.Sent)
		}
		for _, d := range o.Destinations {
			if strings.Contains(d.URI, "unauthorized") && d.OK {
				t.Errorf("unauthorized external destination used")
			}
		}
	}
	msgs := sink.Wait(t, 2, 10*time.Second)
	for _, m := range msgs {
		pm, err := mail.ReadMessage(bytes.NewReader(m.Raw))
		if err != nil {
			t.Fatal(err)
		}
		subj := pm.Header.Get("Subject")
		if !strings.HasPrefix(subj, "Report Domain: ") || !strings.Contains(subj, "Submitter: mx.example.org Report-ID: <") {
			t.Errorf("subject %q", subj)
		}
		_, params, _ := mime.ParseMediaType(pm.Header.Get("Content-Type"))
		mr := multipart.NewReader(pm.Body, params["boundary"])
		found := false
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FileName() == "" {
				continue
			}
			found = true
			if !strings.HasSuffix(p.FileName(), ".xml.gz") || p.Header.Get("Content-Type") != `application/gzip; name="`+p.FileName()+`"` {
				t.Errorf("attachment %q %q", p.FileName(), p.Header.Get("Content-Type"))
			}
			zr, err := gzip.NewReader(base64.NewDecoder(base64.StdEncoding, p))
			if err != nil {
				t.Fatal(err)
			}
			x, _ := io.ReadAll(zr)
			if !bytes.Contains(x, []byte("<dmarc:feedback")) || zr.Name != strings.TrimSuffix(p.FileName(), ".gz") {
				t.Errorf("attachment content %q (gzip name %q)", x[:min(len(x), 80)], zr.Name)
			}
		}
		if !found {
			t.Error("no attachment")
		}
	}
	// Sent rows are gone; day 1 stays for tomorrow.
	left, _ := load(context.Background(), st)
	if len(left) != 1 || left[0].begin != day0.Add(24*time.Hour) {
		t.Errorf("rows left after sending: %+v", left)
	}
}

// TestAsyncRecorder: the daemon's recorder writes in the background; after
// Close the store holds exactly what a synchronous recorder would, even with
// many evaluations of the same rows recorded at once, and evaluations after
// Close are written at once.
func TestAsyncRecorder(t *testing.T) {
	ctx := context.Background()
	counts := func(st store.Store) map[string]int64 {
		rows, err := load(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, r := range rows {
			out[r.key] = r.row.Count
		}
		return out
	}
	evs := []authresult.DMARCEvaluation{
		ev(day0.Add(1*time.Hour), "192.0.2.1", "a.example", true, "none"),
		ev(day0.Add(3*time.Hour), "198.51.100.9", "a.example", false, "reject"),
		ev(day0.Add(5*time.Hour), "192.0.2.1", "b.example", true, "none"),
	}
	const each = 200
	syncStore, asyncStore := openStore(t), openStore(t)
	sr := &Recorder{Store: syncStore, Interval: 24 * time.Hour, TTL: 7 * 24 * time.Hour}
	// The async recorder's store holds every write until the records are
	// all in: Record must return without waiting for it.
	gated := &gatedStore{Store: asyncStore, open: make(chan struct{})}
	ar := &Recorder{Store: gated, Interval: 24 * time.Hour, TTL: 7 * 24 * time.Hour, Async: true}
	var wg sync.WaitGroup
	for _, e := range evs {
		for range each {
			if err := sr.Record(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		wg.Add(4)
		for range 4 {
			go func() {
				defer wg.Done()
				for range each / 4 {
					if err := ar.Record(ctx, e); err != nil {
						t.Error(err)
					}
				}
			}()
		}
	}
	recorded := make(chan struct{})
	go func() { wg.Wait(); close(recorded) }()
	select {
	case <-recorded:
	case <-time.After(20 * time.Second):
		t.Fatal("Record waited for the store's write")
	}
	close(gated.open)
	if err := ar.Close(); err != nil {
		t.Fatal(err)
	}
	want, got := counts(syncStore), counts(asyncStore)
	if len(want) != 3 || !maps.Equal(want, got) {
		t.Fatalf("rows after Close: %v, want %v", got, want)
	}
	if err := ar.Record(ctx, evs[0]); err != nil {
		t.Fatal(err)
	}
	sum := int64(0)
	for _, n := range counts(asyncStore) {
		sum += n
	}
	if sum != 3*each+1 {
		t.Fatalf("after Close a record is written at once: %d evaluations stored, want %d", sum, 3*each+1)
	}
}

// gatedStore holds Update calls until open is closed.
type gatedStore struct {
	store.Store
	open chan struct{}
}

func (g *gatedStore) Update(ctx context.Context, key string, f func(old []byte) ([]byte, time.Duration, error)) error {
	<-g.open
	return g.Store.Update(ctx, key, f)
}
