// Package policy is mailwarden's Postfix SMTPD access policy delegation
// server (Postfix SMTPD_POLICY_README): Postfix connects from
// smtpd_recipient_restrictions (`check_policy_service inet:127.0.0.1:10040`)
// and sends, per recipient, a request of name=value lines ended by an empty
// line; we answer one `action=...` line and an empty line, and the
// connection carries many requests.
//
// Each request becomes a scoring.Transaction (Front "policy") with the
// client_address, client_name, helo_name, sender, recipient, sasl_username,
// instance and queue_id attributes. The connect, helo and mail stages of
// the engine run once per message — Postfix sends one request per
// recipient with the same `instance` attribute, and the first request's
// results are cached per instance — and the rcpt stage runs per request.
// The policy path never has headers or a body: content checks run in the
// milter.
//
// Replies: a check's forced Reject becomes `REJECT text`, a forced Tempfail
// `DEFER_IF_PERMIT text` (or `DEFER text`, [policy] tempfail_action);
// anything else `DUNNO`, so that Postfix goes on with its own restrictions.
// The server NEVER answers `OK`: a whitelisted client only skips our checks,
// it is not permitted to relay (that is what reject_unauth_destination,
// placed before us, decides). PREPEND is supported by the reply writer.
//
// Bad input: a request over the limits below or with a malformed line is
// logged and its connection closed without a reply, as SMTPD_POLICY_README
// asks ("in case of trouble the policy server must not send a reply");
// Postfix then applies its default (a temporary error). Other connections
// carry on, and a panic in a check is recovered by the engine (and, as a
// last resort, per connection here).
//
// Config: [server] policy_listen ("inet:127.0.0.1:10040" or
// "unix:/path", socket_mode 0660), [policy] tempfail_action, idle_timeout,
// cache_size.
package policy
