package dmarc

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/mailwarden/mailwarden/scoring"
)

// spfKey is where the SPF check stores its authresult.SPF.
const spfKey = "spf"

// spfFrom reads the SPF check's result: an authresult.SPF (or pointer) with
// the fields Result, Domain, Scope and WouldReject. It is read by field name
// so that this check does not depend on the exact field types of the SPF
// package's result.
func spfFrom(tx *scoring.Transaction) spfInfo {
	v, ok := tx.Value(spfKey)
	if !ok || v == nil {
		return spfInfo{}
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return spfInfo{}
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return spfInfo{}
	}
	str := func(name string) string {
		f := rv.FieldByName(name)
		if !f.IsValid() {
			return ""
		}
		if s, ok := f.Interface().(fmt.Stringer); ok {
			return s.String()
		}
		if f.Kind() == reflect.String {
			return f.String()
		}
		return ""
	}
	info := spfInfo{ok: true, result: strings.ToLower(str("Result")), domain: strings.ToLower(str("Domain"))}
	// Aggregate reports say "mfrom" or "helo" (RFC 7489 Appendix C).
	switch strings.ToLower(str("Scope")) {
	case "helo", "ehlo":
		info.scope = "helo"
	default:
		info.scope = "mfrom"
	}
	if f := rv.FieldByName("WouldReject"); f.IsValid() && f.Kind() == reflect.Bool {
		info.wouldReject = f.Bool()
	}
	if info.result == "" {
		return spfInfo{}
	}
	return info
}
