// Package dnsbl implements SME's DNS list checks as engine checks, usable
// from the milter and from the Postfix policy server:
//
//   - DNSBL ("dnsbl" check; SME: DNSBL status, RBLList): the client IP is
//     looked up in each list of [envelope.dnsbl] zones, IPv4 with its octets
//     reversed and IPv6 as 32 reversed nibbles (RFC 5782 2.1, 2.4).
//   - RHSBL ("rhsbl" check; SME: RHSBL status, SBLList): the envelope
//     sender's domain (and its registered domain, when different, found with
//     golang.org/x/net/publicsuffix) is looked up (RFC 5782 2.2).
//   - URIBL ("uribl" check; SME: URIBL status, UBLList): the registered
//     domains of the URLs in the body (internal/mime), at most max_domains
//     per message, at end of message.
//
// All lists of one request are queried in parallel, so that a cold lookup
// costs one DNS round trip, not the sum over lists; the whole lookup has a
// time budget ([envelope.*] budget), and a list that has not answered by then
// is skipped with a *_TIMEOUT symbol (SERVFAIL and refused queries: *_ERROR).
// A listing is an answer in 127.0.0.0/8 (RFC 5782 2.3); other answers, and
// the lists' "query refused" codes (Spamhaus 127.255.255.x, URIBL 127.0.0.1),
// are errors, never listings. Return codes are given meanings per list
// (KnownZones for zen.spamhaus.org, dbl.spamhaus.org, multi.uribl.com, ...;
// [envelope.dnsbl.zone."NAME"] codes/ignore in the config).
//
// Mode, per section or per list: "reject" (SME's default for RBLList and
// SBLList) refuses with a reply naming the list, "Blocked by
// zen.spamhaus.org: ...", with the list's TXT explanation when it has one;
// "score" adds the symbol with its weight (times the list's weight). DNSBL
// and RHSBL run at RCPT like qpsmtpd's plugins, so that the exempt
// recipients ([envelope] exempt_recipients, default postmaster@ and abuse@)
// still get mail from listed clients; the lookups are done once per
// message (tx.Memo) however many recipients there are. All three checks run
// for the remote profile only by default.
//
// Symbols and default weights:
//
//	RBL_LISTED     3.0  client IP listed (options: zone:meaning)
//	RBL_TIMEOUT    0    a DNSBL did not answer within the budget
//	RBL_ERROR      0    a DNSBL failed (SERVFAIL, refused query)
//	RHSBL_LISTED   3.0  sender domain listed
//	RHSBL_TIMEOUT  0
//	RHSBL_ERROR    0
//	URIBL_LISTED   3.0  a URL domain in the body listed
//	URIBL_TIMEOUT  0
//	URIBL_ERROR    0
//
// Config: [envelope] exempt_recipients; [envelope.dnsbl], [envelope.rhsbl],
// [envelope.uribl]: enabled, zones, mode, budget, max_domains (uribl),
// zone."NAME".{mode, weight, codes, ignore}.
package dnsbl
