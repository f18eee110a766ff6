package dmarc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TXTResolver is the DNS lookup DMARC needs; *resolver.Resolver has it.
// NXDOMAIN/NODATA must come back as *net.DNSError{IsNotFound: true}
// (possibly wrapped); anything else is a temporary failure.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Lookup errors.
var (
	// ErrNoRecord: neither the From domain nor its organizational domain
	// publish a (single, usable) DMARC record.
	ErrNoRecord = errors.New("no DMARC record")
	// ErrTemp: a DNS failure prevented discovery (RFC 7489 11.2 temperror).
	ErrTemp = errors.New("DMARC record lookup failed temporarily")
)

// Found is the outcome of policy discovery.
type Found struct {
	Record *Record
	// Domain is where the record was found: the From domain, or its
	// organizational domain (then SP applies).
	Domain string
	// AtOrg is set when the record came from the organizational domain.
	AtOrg bool
}

// Discover finds the DMARC record for a From domain (RFC 7489 6.6.3): the
// record at _dmarc.<domain>, else the one at _dmarc.<organizational domain>.
// A record that exists but cannot be used comes back as a parse error
// wrapped in the error (permerror); several records count as none.
func Discover(ctx context.Context, res TXTResolver, list SuffixList, domain string, log hclog.Logger) (*Found, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	r, err := fetch(ctx, res, domain, log)
	if err == nil {
		return &Found{Record: r, Domain: domain}, nil
	}
	if !errors.Is(err, ErrNoRecord) {
		return nil, err
	}
	org := OrgDomain(list, domain)
	if org == "" || org == domain {
		return nil, ErrNoRecord
	}
	r, err = fetch(ctx, res, org, log)
	if err != nil {
		return nil, err
	}
	return &Found{Record: r, Domain: org, AtOrg: true}, nil
}

func fetch(ctx context.Context, res TXTResolver, domain string, log hclog.Logger) (*Record, error) {
	name := "_dmarc." + domain
	if res == nil {
		return nil, fmt.Errorf("%w: %s: no resolver configured", ErrTemp, name)
	}
	start := time.Now()
	txts, err := res.LookupTXT(ctx, name)
	defer func() {
		log.Debug("dmarc record lookup", "name", name, "records", len(txts), "error", err, "ms", time.Since(start).Milliseconds())
	}()
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return nil, ErrNoRecord
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrTemp, name, err)
	}
	var cands []string
	for _, t := range txts {
		if IsDMARCRecord(t) {
			cands = append(cands, t)
		}
	}
	// RFC 7489 6.6.3 step 5: not exactly one record — no policy.
	if len(cands) != 1 {
		return nil, ErrNoRecord
	}
	r, perr := Parse(strings.TrimSpace(cands[0]))
	if perr != nil {
		return nil, &RecordError{Domain: domain, Err: perr}
	}
	return r, nil
}

// RecordError is a published record that cannot be used (permerror).
type RecordError struct {
	Domain string
	Err    error
}

func (e *RecordError) Error() string { return "_dmarc." + e.Domain + ": " + e.Err.Error() }
func (e *RecordError) Unwrap() error { return e.Err }
