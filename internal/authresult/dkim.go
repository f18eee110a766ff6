package authresult

import "strings"

// KeyDKIM is the transaction value key under which the DKIM check stores its
// []DKIM (one entry per DKIM-Signature field, in header order).
const KeyDKIM = "dkim"

// DKIMResult is one signature's outcome, named as RFC 8601 2.7.1 names the
// dkim method's results.
type DKIMResult string

// DKIM results (RFC 8601 2.7.1).
const (
	DKIMNone      DKIMResult = "none"      // the message was not signed
	DKIMPass      DKIMResult = "pass"      // the signature verified
	DKIMFail      DKIMResult = "fail"      // body hash or signature did not verify
	DKIMPolicy    DKIMResult = "policy"    // verified, but not acceptable by local policy
	DKIMNeutral   DKIMResult = "neutral"   // signed, but the signature could not be processed
	DKIMTempError DKIMResult = "temperror" // key lookup failed temporarily (DNS)
	DKIMPermError DKIMResult = "permerror" // no key, bad syntax, expired, weak algorithm
)

// DKIM is the evaluation of one DKIM-Signature field (RFC 6376 6).
type DKIM struct {
	Result     DKIMResult
	Domain     string // d=, the SDID, lower-cased
	Selector   string // s=
	Identifier string // i=, the AUID ("@" + d= when absent)
	Algorithm  string // a=, e.g. "rsa-sha256", "ed25519-sha256"
	// HeaderB is the first 8 characters of b=, enough to tell signatures of
	// one domain apart in Authentication-Results (RFC 6008).
	HeaderB string
	// Reason says why the result is not pass (for the log and the header
	// comment); "" on pass.
	Reason string
}

// DKIMFrom returns the DKIM results stored in a transaction's values, as
// returned by a Value func (tx.Value).
func DKIMFrom(value func(string) (any, bool)) []DKIM {
	v, ok := value(KeyDKIM)
	if !ok {
		return nil
	}
	list, _ := v.([]DKIM)
	return list
}

// AnyPass reports whether one of the signatures verified.
func AnyPass(list []DKIM) bool {
	for _, d := range list {
		if d.Result == DKIMPass {
			return true
		}
	}
	return false
}

// PassFor reports whether a signature with exactly this d= domain verified.
func PassFor(list []DKIM, domain string) bool {
	for _, d := range list {
		if d.Result == DKIMPass && strings.EqualFold(d.Domain, domain) {
			return true
		}
	}
	return false
}
