// Package spf implements the Sender Policy Framework (RFC 7208) on the
// project resolver (internal/resolver), and the SPF check of the rule
// engine (SME: the qpsmtpd sender_permitted_from plugin, SPFRejectPolicy).
//
// # Evaluation
//
// Evaluator.CheckHost is RFC 7208's check_host(): record selection (4.5;
// only TXT records, the type-99 SPF RR is not queried), a strict parser
// (4.6, 5, 6; any syntax error anywhere is a permerror, including non-ASCII
// and control characters, bad CIDR lengths with leading zeros, unknown
// mechanisms, duplicate redirect= or exp=, and domain-specs without a valid
// top-level label), all mechanisms (all, include, a, mx, ptr, ip4, ip6,
// exists) and modifiers (redirect=, exp=; unknown modifiers are checked and
// ignored), macros (7; letters s l o d i p h v, and c r t in explanations,
// with digit/reverse transformers and delimiters, upper-case letters
// URL-escaped, expansions over 253 characters shortened from the left), the
// limits of 4.6.4 (MaxLookups 10 DNS-querying terms across recursion,
// MaxVoidLookups 2 NXDOMAIN/NODATA answers, MaxMXNames 10 MX names per mx
// mechanism, MaxPTRNames 10 names validated per ptr or %{p}), the HELO
// identity (2.3; Evaluator.CheckHELO, and MAIL FROM <> is checked as
// postmaster@HELO, 2.4) and explanations (6.2; an exp= from an included
// record is not used; a failing exp lookup or a bad explanation string gives
// no explanation). Results are none, neutral, pass, fail, softfail,
// temperror and permerror (authresult.SPFResult).
//
// Conformance: the OpenSPF RFC 7208 test suite (release 2014.04, in
// ../shared/testdata/spf/rfc7208-tests.yml) passes 203 of 203 cases in
// TestRFC7208Suite, each scenario's zone served by a loopback miekg/dns
// server (internal/dnstest). TestOlderSuites also passes the RFC 4408 suite
// (191/191) and pyspf's regression file but for its two tests of pyspf's
// own "default=" modifier extension (14/16; an unknown modifier is ignored,
// RFC 7208 6). Deliberate choices where the RFC leaves room:
//   - %{i} for IPv6 writes the nibbles in upper case (the suite's
//     v-macro-ip6 expects it, as pyspf does; DNS compares names
//     case-insensitively, RFC 7208 7.4's example happens to use lower case).
//   - A DNS error (not NXDOMAIN) on an MX host's address lookup makes the
//     mx mechanism a temperror; NXDOMAIN/NODATA for an MX host is skipped
//     and not counted as a void lookup (only the mechanism's own query is).
//   - A DNS error on the ptr mechanism's PTR lookup is "no match" (RFC 7208
//     5.5); NXDOMAIN there counts as a void lookup.
//   - The %{p} macro's lookups are not counted against the 10-term limit.
//
// # The check
//
// Check runs at MAIL FROM (StageMail; also in the Postfix policy path), for
// the remote profile by default ([spf] profiles), within [dns]
// stage_budget. It checks the MAIL FROM identity and, with [spf]
// helo_check, the HELO identity, adds one symbol per identity, and stores an
// *authresult.SPF under "spf" (authresult.KeySPF; the HELO result when MAIL
// FROM is <>) and the HELO result under "spf.helo" for DMARC and the
// Authentication-Results header.
//
// The check never rejects by itself. SME's SPFRejectPolicy ([spf]
// reject_policy: 0 never, 1 reject on fail, 2 also softfail, 3 also
// neutral, 4 also on temperror, permerror and none) is applied in SME only
// when the sender's domain publishes no DMARC policy; so this check stores
// the decision as authresult.SPF.WouldReject and the DMARC check (which
// Needs "spf") enforces it when the domain has no DMARC record.
//
// Symbols and default weights (SpamAssassin's):
//
//	SPF_PASS           -0.001   SPF_HELO_PASS       -0.001
//	SPF_FAIL            0.919   SPF_HELO_FAIL        0.919
//	SPF_SOFTFAIL        0.665   SPF_HELO_SOFTFAIL    0.665
//	SPF_NEUTRAL         0.652   SPF_HELO_NEUTRAL     0.652
//	SPF_NONE            0.001   SPF_HELO_NONE        0.001
//	SPF_TEMPERROR       0       SPF_HELO_TEMPERROR   0
//	SPF_PERMERROR       0.01    SPF_HELO_PERMERROR   0.01
//
// Config keys ([spf]): enabled, helo_check, reject_policy (SME
// SPFRejectPolicy), profiles; and from [dns]: stage_budget.
package spf
