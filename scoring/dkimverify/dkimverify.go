// Package dkimverify verifies the DKIM signatures of a message (RFC 6376,
// with RFC 8301's ban on rsa-sha1 and RFC 8463's Ed25519) using
// github.com/emersion/go-msgauth/dkim, key records fetched through the
// project's resolver. Every signature is evaluated (up to MaxSignatures); the
// results go to the transaction as []authresult.DKIM under the key "dkim" for
// the DMARC check and the Authentication-Results header.
//
// The check runs at end of message (it needs the body) for the remote
// profile by default. It never rejects: DMARC decides what a failure means.
//
// Symbols (default weights, SpamAssassin's where SA has them):
//
//	DKIM_SIGNED     0     the message carries at least one DKIM-Signature
//	DKIM_VALID     -0.1   at least one signature verified
//	DKIM_VALID_AU  -0.1   a signature of the author (From) domain verified
//	DKIM_INVALID    0.1   signed, but no signature verified
//	DKIM_NONE       0     no signature
//	DKIM_TEMPERROR  0     a key could not be fetched (DNS trouble)
//	DKIM_PERMERROR  0     a signature could not be processed (no key, bad syntax)
//
// Config: [dmarc] enabled and profiles (the check runs with DMARC, which
// needs it); [profiles.*] enable/disable "dkim".
package dkimverify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/authresult"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

// Symbols.
const (
	SymSigned    = "DKIM_SIGNED"
	SymValid     = "DKIM_VALID"
	SymValidAU   = "DKIM_VALID_AU"
	SymInvalid   = "DKIM_INVALID"
	SymNone      = "DKIM_NONE"
	SymTempError = "DKIM_TEMPERROR"
	SymPermError = "DKIM_PERMERROR"
)

// MaxSignatures bounds the signatures verified per message: each costs a DNS
// lookup and a public-key operation, and legitimate mail rarely carries more
// than three (author, ESP, mailing list). The rest are ignored (reported as
// permerror "too many signatures").
const MaxSignatures = 8

// TXTResolver is the DNS lookup the check needs; *resolver.Resolver has it.
// Not-found answers must come back as *net.DNSError{IsNotFound: true} and
// temporary failures as *net.DNSError{IsTemporary: true} (possibly wrapped).
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Config of the check.
type Config struct {
	Resolver TXTResolver
	Logger   hclog.Logger
	// Profiles the check runs for by default (default: remote).
	Profiles []scoring.Profile
	// Now is the clock for logging durations (default time.Now).
	Now func() time.Time
}

// Check verifies DKIM signatures.
type Check struct{ cfg Config }

var (
	_ scoring.Check    = (*Check)(nil)
	_ scoring.Profiled = (*Check)(nil)
	_ scoring.Blocking = (*Check)(nil)
)

// New returns the check.
func New(cfg Config) *Check {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if len(cfg.Profiles) == 0 {
		cfg.Profiles = []scoring.Profile{scoring.ProfileRemote}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Check{cfg: cfg}
}

// Name implements scoring.Check.
func (c *Check) Name() string { return "dkim" }

// Stage implements scoring.Check.
func (c *Check) Stage() scoring.Stage { return scoring.StageEOM }

// Blocking implements scoring.Blocking: key lookups wait on DNS.
func (c *Check) Blocking() bool { return true }

// DefaultProfiles implements scoring.Profiled.
func (c *Check) DefaultProfiles() []scoring.Profile { return c.cfg.Profiles }

// Symbols implements scoring.Check.
func (c *Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{
		{Name: SymSigned, Weight: 0, Description: "Message has a DKIM signature (not necessarily valid)"},
		{Name: SymValid, Weight: -0.1, Description: "Message has at least one valid DKIM signature"},
		{Name: SymValidAU, Weight: -0.1, Description: "Message has a valid DKIM signature from the author's domain"},
		{Name: SymInvalid, Weight: 0.1, Description: "DKIM signature exists, but none is valid"},
		{Name: SymNone, Weight: 0, Description: "Message has no DKIM signature"},
		{Name: SymTempError, Weight: 0, Description: "A DKIM key could not be fetched (temporary DNS failure)"},
		{Name: SymPermError, Weight: 0, Description: "A DKIM signature could not be processed (no key, bad syntax)"},
	}
}

// Run implements scoring.Check.
func (c *Check) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if tx.Message == nil {
		return nil
	}
	results, err := Verify(ctx, c.cfg.Resolver, tx.Message.Header.Fields, tx.Message.Reader(), c.cfg.Logger)
	if err != nil {
		return err
	}
	tx.SetValue(authresult.KeyDKIM, results)
	if len(results) == 0 {
		r.Add(SymNone)
		return nil
	}
	r.Add(SymSigned)
	authors := authresult.FromDomains(tx.Message.Header.Values("From"))
	var valid, au, temp, perm []string
	for _, d := range results {
		switch d.Result {
		case authresult.DKIMPass:
			valid = append(valid, d.Domain)
			for _, a := range authors {
				if strings.EqualFold(a, d.Domain) {
					au = append(au, d.Domain)
				}
			}
		case authresult.DKIMTempError:
			temp = append(temp, d.Domain)
		case authresult.DKIMPermError, authresult.DKIMNeutral:
			perm = append(perm, d.Domain)
		}
	}
	switch {
	case len(valid) > 0:
		r.Add(SymValid, valid...)
		if len(au) > 0 {
			r.Add(SymValidAU, au...)
		}
	case len(temp) > 0:
		r.Add(SymTempError, temp...)
	default:
		r.Add(SymInvalid)
		if len(perm) > 0 {
			r.Add(SymPermError, perm...)
		}
	}
	return nil
}

// Verify evaluates every DKIM-Signature of a message (up to MaxSignatures).
// fields are the header fields as received; msg is the whole message with
// CRLF line endings. It returns one result per signature, in header order, and
// an error only when the message itself cannot be read.
func Verify(ctx context.Context, res TXTResolver, fields []message.Field, msg io.Reader, log hclog.Logger) ([]authresult.DKIM, error) {
	var sigs []authresult.DKIM
	for _, f := range fields {
		if strings.EqualFold(f.Name, "DKIM-Signature") {
			sigs = append(sigs, describe(f.Value))
		}
	}
	if len(sigs) == 0 {
		return nil, nil
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	opts := &dkim.VerifyOptions{
		LookupTXT:        lookupFunc(ctx, res, log),
		MaxVerifications: MaxSignatures,
	}
	verifs, err := dkim.VerifyWithOptions(msg, opts)
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		// Not a verdict on a signature: the message could not be read.
		return nil, fmt.Errorf("dkim: reading message: %w", err)
	}
	for i := range sigs {
		if i >= len(verifs) {
			sigs[i].Result = authresult.DKIMPermError
			sigs[i].Reason = "too many signatures"
			continue
		}
		v := verifs[i]
		if v.Domain != "" {
			sigs[i].Domain = strings.ToLower(v.Domain)
		}
		if v.Identifier != "" {
			sigs[i].Identifier = v.Identifier
		}
		sigs[i].Result, sigs[i].Reason = classify(v.Err)
	}
	return sigs, nil
}

// classify maps go-msgauth's error kinds to RFC 8601 results.
func classify(err error) (authresult.DKIMResult, string) {
	switch {
	case err == nil:
		return authresult.DKIMPass, ""
	case dkim.IsTempFail(err):
		return authresult.DKIMTempError, strings.TrimPrefix(err.Error(), "dkim: ")
	case dkim.IsPermFail(err):
		return authresult.DKIMPermError, strings.TrimPrefix(err.Error(), "dkim: ")
	default:
		// Body hash or signature mismatch, or l= (go-msgauth refuses it).
		return authresult.DKIMFail, strings.TrimPrefix(err.Error(), "dkim: ")
	}
}

// lookupFunc adapts the resolver to go-msgauth, which classifies errors by a
// direct net.Error type assertion: wrapped *net.DNSErrors are unwrapped here.
func lookupFunc(ctx context.Context, res TXTResolver, log hclog.Logger) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		if res == nil {
			return nil, &net.DNSError{Err: "no resolver configured", Name: name, IsTemporary: true}
		}
		start := time.Now()
		txts, err := res.LookupTXT(ctx, name)
		log.Debug("dkim key lookup", "name", name, "records", len(txts), "error", err, "ms", time.Since(start).Milliseconds())
		if err != nil {
			var de *net.DNSError
			if errors.As(err, &de) {
				return nil, de
			}
			if ctx.Err() != nil {
				return nil, &net.DNSError{Err: ctx.Err().Error(), Name: name, IsTimeout: true, IsTemporary: true}
			}
			return nil, err
		}
		return txts, nil
	}
}

// describe reads the tags of a DKIM-Signature value that go-msgauth does not
// return (s=, a=, b=), for reports and Authentication-Results.
func describe(value string) authresult.DKIM {
	d := authresult.DKIM{Result: authresult.DKIMNeutral}
	for _, part := range strings.Split(value, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		v = stripSpace(v)
		switch k {
		case "d":
			d.Domain = strings.ToLower(v)
		case "s":
			d.Selector = v
		case "a":
			d.Algorithm = strings.ToLower(v)
		case "i":
			d.Identifier = v
		case "b":
			if len(v) > 8 {
				v = v[:8]
			}
			d.HeaderB = v
		}
	}
	return d
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}
