package authresult

import "net/netip"

// KeySPF is the transaction value key under which the SPF check stores its
// *SPF (the MAIL FROM result, or the HELO result when MAIL FROM is <>).
const KeySPF = "spf"

// KeySPFHELO is the key of the separate HELO-identity result (*SPF with
// Scope "helo"), stored when [spf] helo_check is on.
const KeySPFHELO = "spf.helo"

// SPFResult is an SPF result (RFC 7208 2.6).
type SPFResult string

// SPF results (RFC 7208 2.6, RFC 8601 2.7.2).
const (
	SPFNone      SPFResult = "none"      // no SPF record, or no domain to check
	SPFNeutral   SPFResult = "neutral"   // the domain asserts nothing about the client
	SPFPass      SPFResult = "pass"      // the client is authorized
	SPFFail      SPFResult = "fail"      // the client is not authorized
	SPFSoftFail  SPFResult = "softfail"  // probably not authorized
	SPFTempError SPFResult = "temperror" // a transient (DNS) error
	SPFPermError SPFResult = "permerror" // the record could not be interpreted
)

// String implements fmt.Stringer.
func (r SPFResult) String() string { return string(r) }

// SPF scopes (the identity checked).
const (
	SPFScopeMailFrom = "mailfrom" // RFC 7208 2.4: the MAIL FROM identity
	SPFScopeHELO     = "helo"     // RFC 7208 2.3: the HELO identity
)

// SPF is the result of one SPF evaluation.
type SPF struct {
	Result SPFResult
	// Domain is the domain whose policy was evaluated (the MAIL FROM
	// domain, or the HELO name).
	Domain string
	// Scope is "mailfrom" or "helo".
	Scope string
	// Identity is the checked identity: the MAIL FROM address
	// ("postmaster@HELO" when MAIL FROM is <>) or the HELO name.
	Identity string
	// Explanation is the exp= text on fail (RFC 7208 6.2), "" otherwise.
	Explanation string
	// ClientIP is the address that was checked.
	ClientIP netip.Addr
	// Reason is a short description for logs and header comments (the
	// matching mechanism, or what made it an error).
	Reason string
	// WouldReject says SME's SPFRejectPolicy ([spf] reject_policy) would
	// refuse the message. SME applies it only when the sender's domain
	// publishes no DMARC policy, so the SPF check does not reject: the
	// DMARC check (which Needs "spf") enforces it.
	WouldReject bool
}

// SPFFrom returns the SPF result stored under key (KeySPF or KeySPFHELO),
// as returned by a Value func (tx.Value); nil when absent.
func SPFFrom(value func(string) (any, bool), key string) *SPF {
	v, ok := value(key)
	if !ok {
		return nil
	}
	s, _ := v.(*SPF)
	return s
}
