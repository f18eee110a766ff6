package authresult

import "strings"

// SPFSummary is what DMARC, aggregate reports and the
// Authentication-Results header need of the SPF check's result.
type SPFSummary struct {
	Result      string // "pass", "fail", "softfail", ...
	Domain      string // the domain SPF evaluated, lower-cased
	Scope       string // "mfrom" or "helo" (aggregate report wording, RFC 7489 Appendix C)
	Identity    string // the checked identity: the MAIL FROM address or the HELO name
	WouldReject bool   // SME SPFRejectPolicy would refuse it (enforced by DMARC)
}

// SPFSummaryFrom reads the SPF check's result (KeySPF) from a transaction's
// values; ok is false when SPF did not run.
func SPFSummaryFrom(value func(string) (any, bool)) (SPFSummary, bool) {
	s := SPFFrom(value, KeySPF)
	if s == nil || s.Result == "" {
		return SPFSummary{}, false
	}
	out := SPFSummary{Result: strings.ToLower(string(s.Result)), Domain: strings.ToLower(s.Domain),
		Identity: s.Identity, WouldReject: s.WouldReject, Scope: "mfrom"}
	if s.Scope == SPFScopeHELO {
		out.Scope = "helo"
	}
	return out, true
}
