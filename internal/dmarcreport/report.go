package dmarcreport

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// Namespace is the target namespace of the RFC 7489 Appendix C schema.
const Namespace = "http://dmarc.org/dmarc-xml/0.1"

// Feedback is the report document (RFC 7489 Appendix C). The root element
// carries the namespace with a prefix so that the children stay unqualified,
// as the schema (no elementFormDefault) requires.
type Feedback struct {
	XMLName         xml.Name        `xml:"dmarc:feedback"`
	NS              string          `xml:"xmlns:dmarc,attr"`
	Version         string          `xml:"version"`
	ReportMetadata  ReportMetadata  `xml:"report_metadata"`
	PolicyPublished PolicyPublished `xml:"policy_published"`
	Records         []Record        `xml:"record"`
}

// ReportMetadata is ReportMetadataType.
type ReportMetadata struct {
	OrgName   string    `xml:"org_name"`
	Email     string    `xml:"email"`
	ReportID  string    `xml:"report_id"`
	DateRange DateRange `xml:"date_range"`
}

// DateRange is DateRangeType: seconds since the epoch, UTC.
type DateRange struct {
	Begin int64 `xml:"begin"`
	End   int64 `xml:"end"`
}

// PolicyPublished is PolicyPublishedType (all elements but adkim and aspf
// are required by the schema: sp is written as p when absent).
type PolicyPublished struct {
	Domain string `xml:"domain"`
	ADKIM  string `xml:"adkim,omitempty"`
	ASPF   string `xml:"aspf,omitempty"`
	P      string `xml:"p"`
	SP     string `xml:"sp"`
	Pct    int    `xml:"pct"`
	FO     string `xml:"fo"`
}

// Record is RecordType.
type Record struct {
	Row         XMLRow      `xml:"row"`
	Identifiers Identifiers `xml:"identifiers"`
	AuthResults AuthResults `xml:"auth_results"`
}

// XMLRow is RowType.
type XMLRow struct {
	SourceIP        string          `xml:"source_ip"`
	Count           int64           `xml:"count"`
	PolicyEvaluated PolicyEvaluated `xml:"policy_evaluated"`
}

// PolicyEvaluated is PolicyEvaluatedType.
type PolicyEvaluated struct {
	Disposition string         `xml:"disposition"`
	DKIM        string         `xml:"dkim"`
	SPF         string         `xml:"spf"`
	Reasons     []PolicyReason `xml:"reason,omitempty"`
}

// PolicyReason is PolicyOverrideReason.
type PolicyReason struct {
	Type    string `xml:"type"`
	Comment string `xml:"comment,omitempty"`
}

// Identifiers is IdentifierType.
type Identifiers struct {
	EnvelopeTo   string `xml:"envelope_to,omitempty"`
	EnvelopeFrom string `xml:"envelope_from"`
	HeaderFrom   string `xml:"header_from"`
}

// AuthResults is AuthResultType: any DKIM results, at least one SPF result.
type AuthResults struct {
	DKIM []DKIMAuth `xml:"dkim,omitempty"`
	SPF  []SPFAuth  `xml:"spf"`
}

// DKIMAuth is DKIMAuthResultType.
type DKIMAuth struct {
	Domain   string `xml:"domain"`
	Selector string `xml:"selector,omitempty"`
	Result   string `xml:"result"`
}

// SPFAuth is SPFAuthResultType.
type SPFAuth struct {
	Domain string `xml:"domain"`
	Scope  string `xml:"scope"`
	Result string `xml:"result"`
}

// Meta identifies the reporter.
type Meta struct {
	OrgName string // report_metadata org_name
	Email   string // report_metadata email, the sender of reports
	// Receiver names us in file names and subjects (RFC 7489 7.2.1.1).
	Receiver string
}

// Report is one built report for one policy domain and interval.
type Report struct {
	Domain     string
	Begin, End time.Time // End is the last second covered
	Feedback   Feedback
	RUA        []string // as published, latest seen
	Rows       int
	Messages   int64
	keys       []string
}

// FileName is receiver!policy-domain!begin!end.xml.gz (RFC 7489 7.2.1.1).
func (r *Report) FileName(receiver string) string {
	return fmt.Sprintf("%s!%s!%d!%d.xml.gz", receiver, r.Domain, r.Begin.Unix(), r.End.Unix())
}

// build groups stored rows into one report.
func build(meta Meta, domain string, begin time.Time, interval time.Duration, rows []stored) *Report {
	end := begin.Add(interval - time.Second)
	rep := &Report{Domain: domain, Begin: begin, End: end}
	// The latest published policy wins (rows carry the policy seen).
	var pol = rows[0].row.Policy
	for _, s := range rows {
		if len(s.row.Policy.RUA) > 0 || pol.P == "" {
			pol = s.row.Policy
		}
	}
	rep.RUA = pol.RUA
	sp := pol.SP
	if sp == "" {
		sp = pol.P
	}
	fo := pol.FO
	if fo == "" {
		fo = "0"
	}
	f := Feedback{
		NS:      Namespace,
		Version: "1.0",
		ReportMetadata: ReportMetadata{
			OrgName: meta.OrgName, Email: meta.Email,
			ReportID:  fmt.Sprintf("%s.%d.%s", domain, begin.Unix(), meta.Receiver),
			DateRange: DateRange{Begin: begin.Unix(), End: end.Unix()},
		},
		PolicyPublished: PolicyPublished{Domain: domain, ADKIM: pol.ADKIM, ASPF: pol.ASPF, P: pol.P, SP: sp, Pct: pol.Pct, FO: fo},
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].row.SourceIP != rows[j].row.SourceIP {
			return rows[i].row.SourceIP < rows[j].row.SourceIP
		}
		return rows[i].key < rows[j].key
	})
	for _, s := range rows {
		r := s.row
		rec := Record{
			Row: XMLRow{SourceIP: schemaIP(r.SourceIP), Count: r.Count, PolicyEvaluated: PolicyEvaluated{
				Disposition: r.Disposition, DKIM: passFail(r.DKIMAligned), SPF: passFail(r.SPFAligned)}},
			Identifiers: Identifiers{EnvelopeTo: r.EnvelopeTo, EnvelopeFrom: r.EnvelopeFrom, HeaderFrom: r.HeaderFrom},
		}
		if r.Reason != "" {
			rec.Row.PolicyEvaluated.Reasons = []PolicyReason{{Type: r.Reason}}
		}
		if rec.Identifiers.EnvelopeFrom == "" {
			// <> (bounces): the schema requires the element; RFC 7489
			// 3.1.2 uses the HELO identity then, which SPF reports below.
			for _, a := range r.SPF {
				rec.Identifiers.EnvelopeFrom = a.Domain
			}
		}
		for _, a := range r.DKIM {
			rec.AuthResults.DKIM = append(rec.AuthResults.DKIM, DKIMAuth{Domain: a.Domain, Selector: a.Selector, Result: a.Result})
		}
		for _, a := range r.SPF {
			rec.AuthResults.SPF = append(rec.AuthResults.SPF, SPFAuth{Domain: a.Domain, Scope: a.Scope, Result: spfResult(a.Result)})
		}
		if len(rec.AuthResults.SPF) == 0 {
			// "There will always be at least one SPF result": SPF did not
			// run for this message; report none for the envelope domain.
			d := r.EnvelopeFrom
			if d == "" {
				d = r.HeaderFrom
			}
			rec.AuthResults.SPF = []SPFAuth{{Domain: d, Scope: "mfrom", Result: "none"}}
		}
		f.Records = append(f.Records, rec)
		rep.Rows++
		rep.Messages += r.Count
		rep.keys = append(rep.keys, s.key)
	}
	rep.Feedback = f
	return rep
}

func passFail(b bool) string {
	if b {
		return "pass"
	}
	return "fail"
}

// spfResult maps SPF results to the schema's SPFResultType.
func spfResult(s string) string {
	switch s {
	case "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror":
		return s
	}
	return "none"
}

// schemaIP writes an address as the schema's IPAddress pattern accepts it:
// dotted quad, or IPv6 with all eight groups.
func schemaIP(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return s
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	return a.StringExpanded()
}

// XML renders the report document.
func (r *Report) XML() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(r.Feedback); err != nil {
		return nil, err
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}

// Gzip renders the gzipped XML (RFC 7489 7.2.1.1: gzip is the compression
// to use), with the file name in the gzip header.
func (r *Report) Gzip(receiver string) ([]byte, error) {
	doc, err := r.XML()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Name = strings.TrimSuffix(r.FileName(receiver), ".gz")
	zw.ModTime = r.End
	if _, err := zw.Write(doc); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
