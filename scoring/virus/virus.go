// Package virus scans mail with ClamAV through clamd, as SME Server does for
// every message (SME's clamav settings; qpsmtpd's virus/clamdscan plugin).
// The whole message is streamed to clamd with INSTREAM (internal/clamd), and
// clamd's own mail parser decodes the MIME parts and opens archives; with
// mode = "parts" the decoded parts from internal/mime are sent one by one
// instead (the whole message as well when the decoder had to truncate; text
// parts go as internal/mime decoded them, converted to UTF-8, while message
// mode sends the bytes as received).
//
// Outcomes:
//   - a virus: refused at end of data with 554 5.7.1 and the signature name;
//   - a signature listed in score_signatures (e.g. ClamAV's
//     Heuristics.Phishing.Email.SpoofedDomain, which fires on bank
//     notifications), optionally only for listed senders: scored instead of
//     refused, the narrow fix the SME guide recommends over turning a
//     signature off for everyone;
//   - a message over max_size (SME: MaxScannerSize, 25 MB): not scanned,
//     with a symbol;
//   - clamd unreachable, failing or too slow: on_failure decides, tempfail
//     (451 4.7.1, the MTA retries; the default) or accept with the
//     CLAM_FAIL symbol — never a silent accept.
//
// The check runs for whitelisted mail too (scoring.AlwaysRun) and for the
// profiles in its config (default all: inbound and outbound mail).
//
// Symbols (default weights):
//
//	CLAM_VIRUS         10.0  clamd found a virus (the message is refused)
//	CLAM_VIRUS_SCORED   5.0  a score_signatures signature matched (scored only)
//	CLAM_SKIPPED_SIZE   0.0  larger than max_size, not scanned
//	CLAM_FAIL           1.0  clamd failed; accepted because on_failure = "accept"
//
// Delivered mail gets X-Virus-Checked (the Header modifier, as SME's qpsmtpd
// plugin adds it): "Checked by ClamAV on HOST", or "Not checked ..." when it
// went through unscanned; copies that arrived with the message are removed.
//
// Config: [virus] enabled, clamd, timeout, max_size, mode, on_failure,
// sessions, header, profiles, and [[virus.score_signatures]] signature,
// senders.
package virus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/clamd"
	"github.com/mailwarden/mailwarden/internal/mime"
	"github.com/mailwarden/mailwarden/scoring"
)

// Symbols.
const (
	SymVirus       = "CLAM_VIRUS"
	SymVirusScored = "CLAM_VIRUS_SCORED"
	SymSkippedSize = "CLAM_SKIPPED_SIZE"
	SymFail        = "CLAM_FAIL"
)

// Modes.
const (
	ModeMessage = "message" // the whole message, clamd decodes
	ModeParts   = "parts"   // each decoded MIME part
)

// DefaultMaxSize is SME's MaxScannerSize (25 MB), also clamd's default
// StreamMaxLength: a larger stream would be cut off by clamd anyway.
const DefaultMaxSize = 25_000_000

// deadlineMargin is kept between the scan's deadline and the engine's
// budget for the check, so that a slow clamd ends in our on_failure mode
// rather than the engine's generic timeout handling.
const deadlineMargin = 200 * time.Millisecond

// SoftSignature turns a signature into a scored symbol.
type SoftSignature struct {
	// Signature is the ClamAV name; a ".UNOFFICIAL" suffix (third-party
	// databases) is ignored when comparing.
	Signature string
	// Senders, when given, limit the exception to envelope senders: a full
	// address ("alerts@bank.example") or a domain ("bank.example" or
	// "@bank.example", which also covers its subdomains).
	Senders []string
}

// Config of the check.
type Config struct {
	Client *clamd.Client
	// MaxSize: larger messages are not scanned (0: no limit).
	MaxSize int64
	// Mode is ModeMessage or ModeParts.
	Mode string
	// Tempfail on clamd failure (true, the default in the config), or
	// accept with SymFail.
	Tempfail bool
	Soft     []SoftSignature
	// Profiles the check runs for by default (none given: all).
	Profiles []scoring.Profile
	Logger   hclog.Logger
}

// Check is the virus check.
type Check struct {
	cfg Config
	log hclog.Logger
}

var (
	_ scoring.Check     = (*Check)(nil)
	_ scoring.Profiled  = (*Check)(nil)
	_ scoring.Blocking  = (*Check)(nil)
	_ scoring.AlwaysRun = (*Check)(nil)
	_ scoring.Closer    = (*Check)(nil)
)

// New returns the check.
func New(cfg Config) *Check {
	if len(cfg.Profiles) == 0 {
		cfg.Profiles = scoring.AllProfiles
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeMessage
	}
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Check{cfg: cfg, log: log}
}

func (c *Check) Name() string                       { return "virus" }
func (c *Check) Stage() scoring.Stage               { return scoring.StageEOM }
func (c *Check) DefaultProfiles() []scoring.Profile { return c.cfg.Profiles }
func (c *Check) Blocking() bool                     { return true }
func (c *Check) AlwaysRun() bool                    { return true }

// Close ends the client's idle clamd sessions when the engine is replaced.
func (c *Check) Close() error {
	if c.cfg.Client == nil {
		return nil
	}
	return c.cfg.Client.Close()
}

// Symbols implements scoring.Check.
func (c *Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{
		{Name: SymVirus, Weight: 10, Description: "ClamAV found a virus"},
		{Name: SymVirusScored, Weight: 5, Description: "ClamAV signature configured to score instead of reject"},
		{Name: SymSkippedSize, Weight: 0, Description: "Message too large for the virus scanner, not scanned"},
		{Name: SymFail, Weight: 1, Description: "Virus scanner unavailable; message accepted unscanned"},
	}
}

// TempfailReply is what the client is told when clamd cannot scan.
var TempfailReply = scoring.Reply{Code: 451, Enhanced: "4.7.1", Text: "Virus scanner unavailable, please try again later"}

// VirusReply names the signature to the sender, as SME's reply does.
func VirusReply(signature string) scoring.Reply {
	return scoring.Reply{Code: 554, Enhanced: "5.7.1", Text: "Virus found: " + signature}
}

// Run implements scoring.Check.
func (c *Check) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if tx.Message == nil || c.cfg.Client == nil {
		return nil
	}
	size := tx.Message.Size()
	if c.cfg.MaxSize > 0 && size > c.cfg.MaxSize {
		r.Add(SymSkippedSize, fmt.Sprintf("size=%d", size))
		tx.SetValue(valueKey, statusSkipped)
		c.log.Debug("clamd scan skipped", "qid", tx.QueueID, "size", size, "max", c.cfg.MaxSize)
		return nil
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) > 2*deadlineMargin {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-deadlineMargin))
		defer cancel()
	}
	res, err := c.scan(ctx, tx)
	if errors.Is(err, clamd.ErrSizeLimit) {
		// clamd's StreamMaxLength is below our max_size: say so, do not fail.
		c.log.Warn("message over clamd's StreamMaxLength; raise it or lower [virus] max_size", "qid", tx.QueueID, "size", size)
		r.Add(SymSkippedSize, fmt.Sprintf("size=%d", size), "clamd-limit")
		tx.SetValue(valueKey, statusSkipped)
		return nil
	}
	if err != nil {
		r.Add(SymFail, shortErr(err))
		tx.SetValue(valueKey, statusFailed)
		if c.cfg.Tempfail {
			r.Force(scoring.Tempfail, TempfailReply, "clamd: "+err.Error())
		} else {
			c.log.Warn("clamd failed; message accepted unscanned (on_failure = accept)", "qid", tx.QueueID, "error", err)
		}
		return nil
	}
	if !res.Infected {
		tx.SetValue(valueKey, statusClean)
		return nil
	}
	if c.soft(res.Signature, tx.MailFrom) {
		r.Add(SymVirusScored, res.Signature)
		tx.SetValue(valueKey, statusScored)
		return nil
	}
	tx.SetValue(valueKey, statusInfected)
	r.Add(SymVirus, res.Signature)
	r.Force(scoring.Reject, VirusReply(res.Signature), "virus "+res.Signature)
	return nil
}

// scan sends the message, or its parts, to clamd; the first infected
// stream ends the scan.
func (c *Check) scan(ctx context.Context, tx *scoring.Transaction) (res clamd.Result, err error) {
	start := time.Now()
	var n int64
	defer func() {
		c.log.Debug("clamd scan", "qid", tx.QueueID, "mode", c.cfg.Mode, "bytes", n,
			"infected", res.Infected, "signature", res.Signature, "error", err, "ms", time.Since(start).Milliseconds())
	}()
	if c.cfg.Mode == ModeParts {
		p := mime.Get(tx)
		whole := p.Truncated
		for _, pt := range p.Parts {
			if pt.Truncated {
				whole = true
			}
			if len(pt.Data) == 0 {
				continue
			}
			n += int64(len(pt.Data))
			data := pt.Data
			res, err = c.cfg.Client.ScanOpen(ctx, func() io.Reader { return bytes.NewReader(data) })
			if err != nil || res.Infected {
				return res, err
			}
		}
		if !whole {
			return res, nil
		}
	}
	cr := &countReader{}
	res, err = c.cfg.Client.ScanOpen(ctx, func() io.Reader {
		*cr = countReader{r: tx.Message.Reader()}
		return cr
	})
	n += cr.n
	return res, err
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// soft reports whether signature is configured to be scored for sender.
func (c *Check) soft(signature, sender string) bool {
	sig := strings.TrimSuffix(signature, ".UNOFFICIAL")
	for _, s := range c.cfg.Soft {
		if !strings.EqualFold(strings.TrimSuffix(s.Signature, ".UNOFFICIAL"), sig) {
			continue
		}
		if len(s.Senders) == 0 {
			return true
		}
		for _, want := range s.Senders {
			if senderMatches(want, sender) {
				return true
			}
		}
	}
	return false
}

func senderMatches(want, sender string) bool {
	want = strings.ToLower(strings.TrimSpace(want))
	sender = strings.ToLower(sender)
	if sender == "" || want == "" {
		return false
	}
	if strings.Contains(strings.TrimPrefix(want, "@"), "@") {
		return want == sender
	}
	dom := strings.TrimPrefix(want, "@")
	sd := scoring.DomainOf(sender)
	return sd == dom || strings.HasSuffix(sd, "."+dom)
}

// shortErr gives the symbol option: "timeout", "refused" or "error".
func shortErr(err error) string {
	s := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(s, "i/o timeout"):
		return "timeout"
	case strings.Contains(s, "connection refused") || strings.Contains(s, "no such file"):
		return "unreachable"
	}
	return "error"
}
