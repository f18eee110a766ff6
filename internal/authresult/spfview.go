package authresult

import (
	"fmt"
	"reflect"
	"strings"
)

// KeySPFValue is where the SPF check stores its result.
const KeySPFValue = "spf"

// SPFSummary is what DMARC and the Authentication-Results header need of
// the SPF check's result.
type SPFSummary struct {
	Result      string // "pass", "fail", "softfail", ...
	Domain      string // the domain SPF evaluated
	Scope       string // "mfrom" or "helo" (aggregate report wording)
	Identity    string // the checked identity: the MAIL FROM address or the HELO name
	WouldReject bool   // SME SPFRejectPolicy would refuse it (enforced by DMARC)
}

// SPFSummaryFrom reads the SPF result stored in a transaction's values. It
// reads the fields Result, Domain, Scope, Identity/Sender (optional) and
// WouldReject by name, so that readers do not depend on the exact field
// types of the SPF check's result (a typed string status, a pointer or a
// value).
func SPFSummaryFrom(value func(string) (any, bool)) (SPFSummary, bool) {
	v, ok := value(KeySPFValue)
	if !ok || v == nil {
		return SPFSummary{}, false
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return SPFSummary{}, false
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return SPFSummary{}, false
	}
	str := func(names ...string) string {
		for _, name := range names {
			f := rv.FieldByName(name)
			if !f.IsValid() || !f.CanInterface() {
				continue
			}
			if s, ok := f.Interface().(fmt.Stringer); ok {
				return s.String()
			}
			if f.Kind() == reflect.String {
				return f.String()
			}
		}
		return ""
	}
	s := SPFSummary{Result: strings.ToLower(str("Result")), Domain: strings.ToLower(str("Domain")),
		Identity: str("Identity", "Sender", "MailFrom")}
	switch strings.ToLower(str("Scope")) {
	case "helo", "ehlo":
		s.Scope = "helo"
	default:
		s.Scope = "mfrom"
	}
	if f := rv.FieldByName("WouldReject"); f.IsValid() && f.Kind() == reflect.Bool {
		s.WouldReject = f.Bool()
	}
	if s.Result == "" {
		return SPFSummary{}, false
	}
	return s, true
}
