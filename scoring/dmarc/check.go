// Package dmarc implements DMARC (RFC 7489) as Koozali SME Server applies it:
// policy discovery with the organizational-domain fallback (Public Suffix
// List), relaxed and strict identifier alignment for SPF and DKIM, p=, sp=
// and pct=, and SME's reject settings:
//
//   - DMARCReject ([dmarc] reject, on by default): a message
//     that fails DMARC under p=reject is refused at end of data with
//     "550 5.7.1"; under p=quarantine it is quarantined, tagged or left
//     alone as [dmarc] quarantine_action says. Off: only symbols and scores.
//   - SPFRejectPolicy (the SPF check's [spf] reject_policy): SME applies it
//     only when the sender's domain publishes no DMARC policy. The SPF check
//     stores its would-be decision (authresult.SPF.WouldReject); this check
//     enforces it when discovery finds no usable record.
//   - DMARCReporting ([dmarc] reporting, on by default): every evaluation of
//     a domain with a record is handed to a Recorder (internal/dmarcreport)
//     for the daily aggregate reports.
//
// It runs at end of message after the "spf" and "dkim" checks (Needs), for
// the remote profile by default, reads their results (authresult.SPF under
// "spf", []authresult.DKIM under "dkim") and stores an *authresult.DMARC
// under "dmarc" for the Authentication-Results header.
//
// RFC5322.From with several addresses or several From fields (RFC 7489
// 6.6.1): every distinct domain is evaluated (at most
// authresult.MaxFromAddresses) and the most severe outcome applies. A
// message with no From domain gets DMARC_PERMERROR.
//
// Record parsing follows RFC 7489 6.3: invalid optional tags are ignored
// with a warning (OpenDMARC rejects the record instead; see record_test.go).
//
// Symbols (default weights after rspamd's DMARC module):
//
//	DMARC_PASS             -0.1  aligned SPF or DKIM pass
//	DMARC_FAIL_REJECT       2.0  failed under p=reject
//	DMARC_FAIL_QUARANTINE   1.5  failed under p=quarantine
//	DMARC_FAIL_NONE         0.1  failed under p=none (monitoring)
//	DMARC_NA                0    no DMARC record
//	DMARC_TEMPERROR         0    record lookup failed temporarily
//	DMARC_PERMERROR         0    unusable record or no From domain
//	DMARC_SAMPLED_OUT       0    pct= exempted the message from its policy
//	SPF_POLICY_REJECT       0    no DMARC record and SME's SPFRejectPolicy refused the message
//
// Config: [dmarc] enabled, reject, quarantine_action, reporting, psl_file
// (and the [dmarc] report_* keys read by internal/dmarcreport).
package dmarc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/authresult"
	"github.com/mailwarden/mailwarden/scoring"
)

// Symbols.
const (
	SymPass           = "DMARC_PASS"
	SymFailReject     = "DMARC_FAIL_REJECT"
	SymFailQuarantine = "DMARC_FAIL_QUARANTINE"
	SymFailNone       = "DMARC_FAIL_NONE"
	SymNA             = "DMARC_NA"
	SymTempError      = "DMARC_TEMPERROR"
	SymPermError      = "DMARC_PERMERROR"
	SymSampledOut     = "DMARC_SAMPLED_OUT"
	SymSPFPolicy      = "SPF_POLICY_REJECT"
)

// Quarantine actions ([dmarc] quarantine_action).
const (
	QuarantineHold = "quarantine" // hold the message (Postfix hold queue)
	QuarantineTag  = "tag"        // deliver it tagged as spam
	QuarantineNone = "none"       // symbols only
)

// Recorder keeps evaluations for aggregate reports (internal/dmarcreport).
type Recorder interface {
	Record(ctx context.Context, ev authresult.DMARCEvaluation) error
}

// Config of the check.
type Config struct {
	Resolver TXTResolver
	// Suffixes finds organizational domains (nil: the compiled-in PSL).
	Suffixes SuffixList
	// Reject is SME's DMARCReject.
	Reject bool
	// QuarantineAction applies to a failing p=quarantine when Reject is on.
	QuarantineAction string
	// Recorder, if set, receives every evaluation of a domain with a
	// record (SME DMARCReporting).
	Recorder Recorder
	Logger   hclog.Logger
	Profiles []scoring.Profile
	// Sample returns a number in [0, 100) for pct= sampling (default:
	// random).
	Sample func() int
	Now    func() time.Time
}

// Check is the DMARC check.
type Check struct{ cfg Config }

var (
	_ scoring.Check     = (*Check)(nil)
	_ scoring.Dependent = (*Check)(nil)
	_ scoring.Profiled  = (*Check)(nil)
	_ scoring.Blocking  = (*Check)(nil)
)

// New returns the check.
func New(cfg Config) *Check {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if len(cfg.Profiles) == 0 {
		cfg.Profiles = []scoring.Profile{scoring.ProfileRemote}
	}
	if cfg.Sample == nil {
		cfg.Sample = func() int { return rand.IntN(100) }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.QuarantineAction == "" {
		cfg.QuarantineAction = QuarantineHold
	}
	if cfg.Suffixes == nil {
		cfg.Suffixes = DefaultSuffixes
	}
	return &Check{cfg: cfg}
}

// Close implements scoring.Closer: a recorder that writes in the
// background (dmarcreport.Recorder with Async) writes what it holds.
func (c *Check) Close() error {
	if cl, ok := c.cfg.Recorder.(interface{ Close() error }); ok {
		return cl.Close()
	}
	return nil
}

// Name implements scoring.Check.
func (c *Check) Name() string { return "dmarc" }

// Stage implements scoring.Check.
func (c *Check) Stage() scoring.Stage { return scoring.StageEOM }

// Needs implements scoring.Dependent.
func (c *Check) Needs() []string { return []string{"spf", "dkim"} }

// Blocking implements scoring.Blocking.
func (c *Check) Blocking() bool { return true }

// DefaultProfiles implements scoring.Profiled.
func (c *Check) DefaultProfiles() []scoring.Profile { return c.cfg.Profiles }

// Symbols implements scoring.Check.
func (c *Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{
		{Name: SymPass, Weight: -0.1, Description: "DMARC: aligned SPF or DKIM pass"},
		{Name: SymFailReject, Weight: 2.0, Description: "DMARC failed; the domain asks for rejection (p=reject)"},
		{Name: SymFailQuarantine, Weight: 1.5, Description: "DMARC failed; the domain asks for quarantine (p=quarantine)"},
		{Name: SymFailNone, Weight: 0.1, Description: "DMARC failed; the domain only monitors (p=none)"},
		{Name: SymNA, Weight: 0, Description: "The From domain publishes no DMARC record"},
		{Name: SymTempError, Weight: 0, Description: "DMARC record lookup failed temporarily"},
		{Name: SymPermError, Weight: 0, Description: "DMARC record unusable, or no From domain"},
		{Name: SymSampledOut, Weight: 0, Description: "DMARC pct= exempted the message from the full policy"},
		{Name: SymSPFPolicy, Weight: 0, Description: "No DMARC record; SPF reject policy (SME SPFRejectPolicy) refused the message"},
	}
}

// Run implements scoring.Check.
func (c *Check) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if tx.Message == nil {
		return nil
	}
	spf := spfFrom(tx)
	dkims := authresult.DKIMFrom(tx.Value)
	domains := authresult.FromDomains(tx.Message.Header.Values("From"))
	var res *authresult.DMARC
	if len(domains) == 0 {
		res = &authresult.DMARC{Result: authresult.DMARCPermError, Disposition: authresult.DispositionNone,
			Applied: authresult.DispositionNone, Reason: "no RFC5322.From domain"}
	}
	var recs []authresult.DMARCEvaluation
	for _, d := range domains {
		one, ev := c.evaluate(ctx, tx, d, spf, dkims)
		if ev != nil {
			recs = append(recs, *ev)
		}
		if res == nil || worse(one, res) {
			res = one
		}
	}
	c.apply(tx, r, res, spf)
	tx.SetValue(authresult.KeyDMARC, res)
	if c.cfg.Recorder != nil {
		for _, ev := range recs {
			ev.Disposition = res.Applied
			if ev.HeaderFrom != res.FromDomain {
				ev.Disposition = authresult.DispositionNone
			}
			if res.Applied != res.Disposition && ev.HeaderFrom == res.FromDomain && ev.Reason == "" {
				ev.Reason = "local_policy"
			}
			if err := c.cfg.Recorder.Record(ctx, ev); err != nil {
				c.cfg.Logger.Warn("dmarc: recording evaluation for reports failed", "qid", tx.QueueID, "domain", ev.HeaderFrom, "error", err)
			}
		}
	}
	return nil
}

// spfInfo is what DMARC needs from the SPF check.
type spfInfo struct {
	ok          bool
	result      string // "pass", "fail", ...
	domain      string // the domain SPF checked
	scope       string // "mfrom" or "helo" (report wording)
	wouldReject bool
}

func spfFrom(tx *scoring.Transaction) spfInfo {
	s, ok := authresult.SPFSummaryFrom(tx.Value)
	if !ok {
		return spfInfo{}
	}
	return spfInfo{ok: true, result: s.Result, domain: s.Domain, scope: s.Scope, wouldReject: s.WouldReject}
}

// evaluate applies DMARC to one From domain. It returns the result and, when
// a record was found, the evaluation for reports.
func (c *Check) evaluate(ctx context.Context, tx *scoring.Transaction, domain string, spf spfInfo, dkims []authresult.DKIM) (*authresult.DMARC, *authresult.DMARCEvaluation) {
	res := &authresult.DMARC{FromDomain: domain, Disposition: authresult.DispositionNone, Applied: authresult.DispositionNone}
	found, err := Discover(ctx, c.cfg.Resolver, c.cfg.Suffixes, domain, c.cfg.Logger)
	switch {
	case err == nil:
	case err == ErrNoRecord:
		res.Result = authresult.DMARCNone
		res.Reason = "no DMARC record"
		return res, nil
	case isRecordError(err):
		res.Result = authresult.DMARCPermError
		res.Reason = err.Error()
		return res, nil
	default:
		res.Result = authresult.DMARCTempError
		res.Reason = err.Error()
		return res, nil
	}
	rec := found.Record
	res.Published = &authresult.PolicyPublished{
		Domain: found.Domain, ADKIM: string(rec.ADKIM), ASPF: string(rec.ASPF), P: string(rec.P), SP: string(rec.SP),
		Pct: rec.Pct, FO: rec.FO, RUA: rec.RUA,
	}
	policy := rec.P
	if found.AtOrg && rec.SP != "" {
		policy = rec.SP // RFC 7489 6.3 sp=: the policy for subdomains
	}
	res.Policy = string(policy)

	// RFC 7489 3.1.2: the SPF-authenticated identifier must pass and align.
	if spf.ok {
		res.SPFDomain = spf.domain
		res.SPFAligned = spf.result == "pass" && Aligned(c.cfg.Suffixes, spf.domain, domain, rec.ASPF)
	}
	// RFC 7489 3.1.1: any passing signature whose d= aligns.
	for _, d := range dkims {
		if d.Result != authresult.DKIMPass {
			continue
		}
		res.DKIMDomains = append(res.DKIMDomains, d.Domain)
		if Aligned(c.cfg.Suffixes, d.Domain, domain, rec.ADKIM) {
			res.DKIMAligned = true
		}
	}
	ev := &authresult.DMARCEvaluation{
		Time: c.cfg.Now(), SourceIP: tx.Client.Addr, EnvelopeFrom: tx.SenderDomain(),
		HeaderFrom: domain, Published: *res.Published, DKIMAligned: res.DKIMAligned, SPFAligned: res.SPFAligned,
	}
	if len(tx.Rcpts) > 0 {
		ev.EnvelopeTo = scoring.DomainOf(tx.Rcpts[0])
	}
	for _, d := range dkims {
		ev.DKIM = append(ev.DKIM, authresult.AuthIdentifier{Domain: d.Domain, Selector: d.Selector, Result: string(d.Result)})
	}
	if spf.ok {
		ev.SPF = append(ev.SPF, authresult.AuthIdentifier{Domain: spf.domain, Scope: spf.scope, Result: spf.result})
	}

	if res.SPFAligned || res.DKIMAligned {
		res.Result = authresult.DMARCPass
		res.Reason = "aligned " + alignedWhat(res)
		return res, ev
	}
	res.Result = authresult.DMARCFail
	res.Reason = fmt.Sprintf("no aligned SPF or DKIM pass for %s (p=%s)", domain, policy)
	res.Disposition = authresult.Disposition(policy)
	// RFC 7489 6.6.4: a message not selected by pct= gets the next policy
	// down (reject → quarantine, quarantine → none).
	if rec.Pct < 100 && policy != PolicyNone && c.cfg.Sample() >= rec.Pct {
		res.SampledOut = true
		ev.Reason = "sampled_out"
		if policy == PolicyReject {
			res.Disposition = authresult.DispositionQuarantine
		} else {
			res.Disposition = authresult.DispositionNone
		}
	}
	return res, ev
}

func alignedWhat(res *authresult.DMARC) string {
	switch {
	case res.SPFAligned && res.DKIMAligned:
		return "spf and dkim"
	case res.SPFAligned:
		return "spf"
	}
	return "dkim"
}

func isRecordError(err error) bool {
	_, ok := err.(*RecordError)
	return ok
}

// severity orders results for a message with several From domains.
func severity(d *authresult.DMARC) int {
	switch d.Result {
	case authresult.DMARCFail:
		switch d.Disposition {
		case authresult.DispositionReject:
			return 7
		case authresult.DispositionQuarantine:
			return 6
		}
		return 5
	case authresult.DMARCTempError:
		return 4
	case authresult.DMARCPermError:
		return 3
	case authresult.DMARCPass:
		return 2
	}
	return 1
}

func worse(a, b *authresult.DMARC) bool { return severity(a) > severity(b) }

// apply adds the symbols and forces SME's actions.
func (c *Check) apply(tx *scoring.Transaction, r *scoring.Result, res *authresult.DMARC, spf spfInfo) {
	reply := scoring.Reply{Code: 550, Enhanced: "5.7.1",
		Text: "Rejected by DMARC policy for " + res.FromDomain}
	switch res.Result {
	case authresult.DMARCPass:
		r.Add(SymPass, res.FromDomain)
	case authresult.DMARCTempError:
		r.Add(SymTempError, res.FromDomain)
	case authresult.DMARCPermError, authresult.DMARCNone:
		if res.Result == authresult.DMARCPermError {
			r.Add(SymPermError, res.FromDomain)
		} else {
			r.Add(SymNA, res.FromDomain)
		}
		// SME: SPFRejectPolicy applies only without a DMARC policy.
		if spf.ok && spf.wouldReject {
			r.Add(SymSPFPolicy, spf.result)
			r.Force(scoring.Reject, scoring.Reply{Code: 550, Enhanced: "5.7.1",
				Text: "Sender not authorized by SPF for " + spf.domain},
				"no DMARC policy; SPF reject policy: spf="+spf.result+" for "+spf.domain)
			res.Applied = authresult.DispositionReject
		}
	case authresult.DMARCFail:
		opts := []string{res.FromDomain}
		if res.SampledOut {
			r.Add(SymSampledOut, res.FromDomain, fmt.Sprintf("pct=%d", res.Published.Pct))
		}
		switch res.Disposition {
		case authresult.DispositionReject:
			r.Add(SymFailReject, opts...)
			if c.cfg.Reject {
				r.Force(scoring.Reject, reply, res.Reason)
				res.Applied = authresult.DispositionReject
			}
		case authresult.DispositionQuarantine:
			r.Add(SymFailQuarantine, opts...)
			if c.cfg.Reject {
				switch c.cfg.QuarantineAction {
				case QuarantineHold:
					r.Force(scoring.Quarantine, scoring.Reply{}, res.Reason)
					res.Applied = authresult.DispositionQuarantine
				case QuarantineTag:
					r.Force(scoring.Tag, scoring.Reply{}, res.Reason)
					res.Applied = authresult.DispositionQuarantine
				}
			}
		default:
			r.Add(SymFailNone, opts...)
		}
	}
	c.cfg.Logger.Debug("dmarc", "qid", tx.QueueID, "from", res.FromDomain, "result", res.Result, "policy", res.Policy,
		"disposition", res.Disposition, "applied", res.Applied, "spf_aligned", res.SPFAligned, "dkim_aligned", res.DKIMAligned,
		"reason", res.Reason)
}
