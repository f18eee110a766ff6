// Package dmarcreport builds and sends DMARC aggregate reports (RFC 7489
// 7.2 and Appendix C), SME's DMARCReporting.
//
// The DMARC check hands every evaluation of a domain that publishes a
// record to a Recorder, which keeps it in the state store (internal/store)
// grouped as reports group them: one row per reporting interval, policy
// domain, source IP, identifiers, applied disposition, alignment results and
// authentication results, with a message count — not one record per message.
//
// A daily job (Job.Run, started by the daemon; `mailwarden dmarc report`
// runs it by hand, --dry-run only shows what would be sent) builds, for every
// finished interval and policy domain, one report: date_range is the
// interval's begin and end, the published policy, every row with its DKIM
// selectors and SPF scope. The XML is gzipped and attached as
// receiver!policy-domain!begin!end.xml.gz (RFC 7489 7.2.1.1), and the
// message goes to the local MTA by SMTP for each mailto: rua address whose
// size limit it fits. A rua address outside the policy domain's
// organizational domain is used only when the external destination
// publishes "<policy-domain>._report._dmarc.<rua-domain> TXT v=DMARC1"
// (RFC 7489 7.1). Rows are deleted once their report went out (or there is
// nowhere to send it); unsent rows expire after [dmarc] report_retention.
//
// The XML validates against the RFC 7489 Appendix C schema (a test runs
// xmllint on it): the root element is in the schema's target namespace and,
// as the schema has no elementFormDefault, the child elements are
// unqualified; IPv6 source addresses are written in full (the schema's
// pattern has no "::" form).
//
// Config: [dmarc] reporting, report_interval, report_org_name,
// report_email, report_smtp, report_retention.
package dmarcreport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailwarden/mailwarden/internal/authresult"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/writebehind"
)

// keyPrefix starts every stored row: "dmarc:rec:<begin>:<domain>:<group>".
const keyPrefix = "dmarc:rec:"

// Row is one group of evaluations as stored (JSON) and reported.
type Row struct {
	Policy       authresult.PolicyPublished  `json:"policy"`
	SourceIP     string                      `json:"ip"`
	HeaderFrom   string                      `json:"hfrom"`
	EnvelopeFrom string                      `json:"efrom,omitempty"`
	EnvelopeTo   string                      `json:"eto,omitempty"`
	Disposition  string                      `json:"dis"`
	DKIMAligned  bool                        `json:"dkim"`
	SPFAligned   bool                        `json:"spf"`
	Reason       string                      `json:"reason,omitempty"`
	DKIM         []authresult.AuthIdentifier `json:"dkim_auth,omitempty"`
	SPF          []authresult.AuthIdentifier `json:"spf_auth,omitempty"`
	Count        int64                       `json:"n"`
}

// groupKey identifies the row an evaluation belongs to: everything a report
// record shows but the count.
func groupKey(r Row) string {
	r.Count = 0
	r.Policy = authresult.PolicyPublished{}
	b, _ := json.Marshal(r)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// Recorder keeps evaluations in the store; it implements the DMARC check's
// Recorder interface.
type Recorder struct {
	Store    store.Store
	Interval time.Duration // reporting interval (bucket size)
	TTL      time.Duration // how long unsent rows are kept
	// Async records in the background (the daemon sets it): a store
	// write is a commit with fsync on the embedded store, and most mail
	// comes from domains with a DMARC policy, so it is kept off the SMTP
	// reply path. The writer takes whatever is queued, adds up the
	// evaluations of one row and writes each row once; Close writes what
	// is left. A crash loses the evaluations of the last moment, as the
	// daily statistics do.
	Async bool

	once    sync.Once
	pending *writebehind.Queue[pendingRow]
}

// pendingRow is one evaluation waiting for the background writer.
type pendingRow struct {
	key string
	row Row
}

// Background writer limits: past the queue an evaluation is written on the
// caller's path instead (none is dropped).
const (
	pendingQueueSize = 10000
	pendingBatchMax  = 1024
)

// queue returns the background writer, made at first use.
func (rc *Recorder) queue() *writebehind.Queue[pendingRow] {
	rc.once.Do(func() { rc.pending = writebehind.New(pendingQueueSize, pendingBatchMax, rc.writeBatch) })
	return rc.pending
}

// Bucket returns the start of the interval t falls in (UTC; 24h intervals
// start at midnight UTC).
func Bucket(t time.Time, interval time.Duration) time.Time {
	return t.UTC().Truncate(interval)
}

// Record adds one evaluation to its row.
func (rc *Recorder) Record(ctx context.Context, ev authresult.DMARCEvaluation) error {
	row := Row{
		Policy: ev.Published, SourceIP: ipString(ev), HeaderFrom: ev.HeaderFrom,
		EnvelopeFrom: ev.EnvelopeFrom, EnvelopeTo: ev.EnvelopeTo, Disposition: string(ev.Disposition),
		DKIMAligned: ev.DKIMAligned, SPFAligned: ev.SPFAligned, Reason: ev.Reason, DKIM: ev.DKIM, SPF: ev.SPF,
	}
	if row.Disposition == "" {
		row.Disposition = string(authresult.DispositionNone)
	}
	domain := strings.ToLower(ev.Published.Domain)
	if domain == "" || strings.Contains(domain, ":") {
		return fmt.Errorf("dmarcreport: evaluation without a policy domain")
	}
	begin := Bucket(ev.Time, rc.Interval)
	key := keyPrefix + strconv.FormatInt(begin.Unix(), 10) + ":" + domain + ":" + groupKey(row)
	if rc.Async && rc.queue().Offer(pendingRow{key: key, row: row}) {
		return nil
	}
	return rc.add(ctx, key, row, 1)
}

// add adds n evaluations to a row in the store.
func (rc *Recorder) add(ctx context.Context, key string, row Row, n int64) error {
	return rc.Store.Update(ctx, key, func(old []byte) ([]byte, time.Duration, error) {
		cur := row
		if old != nil {
			var prev Row
			if err := json.Unmarshal(old, &prev); err == nil {
				cur.Count = prev.Count
			}
		}
		cur.Count += n
		b, err := json.Marshal(cur)
		return b, rc.TTL, err
	})
}

// writeBatch adds up the evaluations of each row and writes each row once,
// the rows concurrently (bbolt folds them into one commit).
func (rc *Recorder) writeBatch(batch []pendingRow) {
	type sum struct {
		row Row
		n   int64
	}
	rows := make(map[string]*sum, len(batch))
	for _, p := range batch {
		if s := rows[p.key]; s != nil {
			s.n++
		} else {
			rows[p.key] = &sum{p.row, 1}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for key, s := range rows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A failed write loses these counts; the store's error
			// metric counts it.
			_ = rc.add(ctx, key, s.row, s.n)
		}()
	}
	wg.Wait()
}

// Close writes what the background writer holds and stops it; later
// evaluations are written on the caller's path.
func (rc *Recorder) Close() error {
	rc.queue().Close()
	return nil
}

func ipString(ev authresult.DMARCEvaluation) string {
	if !ev.SourceIP.IsValid() {
		return ""
	}
	return ev.SourceIP.String()
}

// stored is a row with where it lives.
type stored struct {
	key    string
	begin  time.Time
	domain string
	row    Row
}

// load reads every stored row.
func load(ctx context.Context, st store.Store) ([]stored, error) {
	var out []stored
	err := st.Scan(ctx, keyPrefix, func(key string, val []byte) error {
		parts := strings.SplitN(strings.TrimPrefix(key, keyPrefix), ":", 3)
		if len(parts) != 3 {
			return nil
		}
		sec, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil {
			return nil
		}
		var r Row
		if err := json.Unmarshal(val, &r); err != nil {
			return nil // a damaged row is skipped, not fatal
		}
		out = append(out, stored{key: key, begin: time.Unix(sec, 0).UTC(), domain: parts[1], row: r})
		return nil
	})
	return out, err
}
