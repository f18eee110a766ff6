package authresult

import (
	"net/netip"
	"time"
)

// KeyDMARC is the transaction value key under which the DMARC check stores
// its *DMARC.
const KeyDMARC = "dmarc"

// DMARCResult is the DMARC outcome as RFC 7489 11.2 and RFC 8601 name it.
type DMARCResult string

// DMARC results.
const (
	DMARCNone      DMARCResult = "none"      // no policy published (or no From domain to check)
	DMARCPass      DMARCResult = "pass"      // an aligned SPF or DKIM pass
	DMARCFail      DMARCResult = "fail"      // a policy exists and nothing aligned passed
	DMARCTempError DMARCResult = "temperror" // the record could not be fetched (DNS)
	DMARCPermError DMARCResult = "permerror" // the record or the From field is unusable
)

// Disposition is what the receiver applied (RFC 7489 Appendix C,
// DispositionType): none, quarantine or reject.
type Disposition string

// Dispositions.
const (
	DispositionNone       Disposition = "none"
	DispositionQuarantine Disposition = "quarantine"
	DispositionReject     Disposition = "reject"
)

// PolicyPublished is the DMARC record that applied, as aggregate reports
// repeat it (RFC 7489 Appendix C, PolicyPublishedType).
type PolicyPublished struct {
	Domain string   // the domain where the record was found
	ADKIM  string   // "r" or "s"
	ASPF   string   // "r" or "s"
	P      string   // none, quarantine, reject
	SP     string   // subdomain policy ("" = same as P)
	Pct    int      // 0-100
	FO     string   // failure reporting options ("0" by default)
	RUA    []string // aggregate report URIs as published (mailto:...)
}

// DMARC is the DMARC evaluation of one message.
type DMARC struct {
	Result DMARCResult
	// FromDomain is the RFC5322.From domain evaluated (header.from).
	FromDomain string
	// Policy is the policy that applied to FromDomain: P, or SP for a
	// subdomain that found its record at the organizational domain.
	Policy string
	// Disposition is what the policy asks for after pct sampling; Applied
	// is what mailwarden actually did (it may be softer: [dmarc] reject off,
	// quarantine_action, or the "none" of a sampled-out message).
	Disposition Disposition
	Applied     Disposition
	// SampledOut is set when pct < 100 exempted the message (RFC 7489 6.6.4).
	SampledOut bool

	SPFAligned  bool
	DKIMAligned bool
	// SPFDomain and DKIMDomains are the authenticated identifiers that were
	// checked for alignment.
	SPFDomain   string
	DKIMDomains []string

	Published *PolicyPublished // nil when no record was found
	// Reason says, for the log and the header comment, why the result is
	// what it is.
	Reason string
}

// DMARCFrom returns the DMARC result stored in a transaction's values.
func DMARCFrom(value func(string) (any, bool)) *DMARC {
	v, ok := value(KeyDMARC)
	if !ok {
		return nil
	}
	d, _ := v.(*DMARC)
	return d
}

// AuthIdentifier is one authentication result as an aggregate report lists
// it under auth_results (RFC 7489 Appendix C, DKIMAuthResultType and
// SPFAuthResultType).
type AuthIdentifier struct {
	Domain   string
	Selector string // DKIM only
	Scope    string // SPF only: "mfrom" or "helo"
	Result   string
}

// DMARCEvaluation is what the DMARC check records for aggregate reports:
// one per message and From domain that has a published record.
type DMARCEvaluation struct {
	Time         time.Time
	SourceIP     netip.Addr
	EnvelopeFrom string // domain of the envelope sender ("" for <>)
	EnvelopeTo   string // domain of the first recipient
	HeaderFrom   string
	Published    PolicyPublished
	Disposition  Disposition // what was applied
	DKIMAligned  bool        // policy_evaluated dkim pass/fail
	SPFAligned   bool        // policy_evaluated spf pass/fail
	// Reason is a PolicyOverrideType ("sampled_out", "local_policy") when
	// the applied disposition differs from the policy, else "".
	Reason string
	DKIM   []AuthIdentifier
	SPF    []AuthIdentifier
}
