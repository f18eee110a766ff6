// Package milter is mailwarden's milter front-end (Postfix smtpd_milters /
// non_smtpd_milters, Sendmail INPUT_MAIL_FILTER), built on
// github.com/d--j/go-milter, the maintained fork of emersion/go-milter: the
// original replaces its handler after every non-continue reply and speaks
// protocol 2, so the second message of an SMTP connection reached the filter
// without the client's address and HELO (a DNS-list bypass). The fork keeps
// the connection's data for every message, speaks protocol 6 and drains
// sessions on shutdown.
//
// One session serves one MTA connection. It builds a scoring.Transaction per
// message, runs the engine's stages as the events arrive (connect and helo
// checks run at MAIL FROM, once the client's authentication is known), and at
// end of message turns the verdict into a reply and modifications. Every
// callback recovers from panics: a crash in one session answers that message
// with the configured failure action and never takes the daemon down.
package milter
