// Package smeimport turns the configuration of a Koozali SME Server (its
// e-smith databases, read with internal/smedb) into a mailwarden policy file
// (`mailwarden import-sme DIR [-o FILE]`).
//
// DIR is a copy of /home/e-smith/db (or the SME root: DIR/home/e-smith/db
// and DIR/db are tried too). `configuration` is required; `accounts`,
// `domains`, `spamassassin` and `networks` are read when present.
//
// Only the settings found are written (everything else keeps mailwarden's
// default, which follows SME's); each line carries its SME origin as a
// comment, and every setting that could not be carried over is listed at the
// top of the file with the reason.
//
// Mapping (SME database: record property -> mailwarden key):
//
//	configuration: spamassassin status=disabled   -> rules.enabled = false, bayes.enabled = false
//	configuration: spamassassin TagLevel          -> spam.tag_level
//	configuration: spamassassin RejectLevel       -> spam.reject_level (0: never reject)
//	configuration: spamassassin Sensitivity       -> spam.sensitivity (veryhigh..verylow, custom)
//	configuration: spamassassin SubjectTag/Text   -> spam.subject_tag, spam.subject_prefix
//	configuration: spamassassin SortSpam          -> sorting.enabled
//	configuration: spamassassin UseBayes          -> bayes.enabled
//	configuration: spamassassin UseBayesAutoLearn -> bayes.autolearn (also BayesAutoLearn)
//	configuration: spamassassin BayesAutoLearnThresholdSpam    -> bayes.autolearn_threshold_spam
//	configuration: spamassassin BayesAutoLearnThresholdNonspam -> bayes.autolearn_threshold_nonspam
//	configuration: spamassassin MessageRetentionTime -> bayes.learn.message_retention_time (days)
//	configuration: qpsmtpd DNSBL / RBLList        -> envelope.dnsbl.enabled / .zones
//	configuration: qpsmtpd RHSBL / SBLList        -> envelope.rhsbl.enabled / .zones
//	configuration: qpsmtpd URIBL / UBLList        -> envelope.uribl.enabled / .zones
//	configuration: qpsmtpd HeloPolicy             -> envelope.helo.policy (off, lenient, rfc, strict)
//	configuration: qpsmtpd Karma                  -> karma.enabled
//	configuration: qpsmtpd KarmaNegative / KarmaStrikes -> karma.negative / karma.strikes
//	configuration: qpsmtpd MaxLoad                -> load.enabled = true, load.max_load
//	configuration: qpsmtpd SPFRejectPolicy        -> spf.reject_policy (0..4)
//	configuration: qpsmtpd DMARCReject            -> dmarc.reject
//	configuration: qpsmtpd DMARCReporting         -> dmarc.reporting
//	configuration: qpsmtpd DKIMSigning            -> dkim.signing, dkim.keys_dir = /home/e-smith/dkimkeys
//	configuration: qpsmtpd Bcc / BccUser / BccMode -> bcc.enabled / bcc.mailbox (user@DomainName) / bcc.mode
//	configuration: qpsmtpd Disclaimer (+ DisclaimerText, or the file DIR/disclaimer)
//	                                               -> disclaimer.enabled, .text, .local_domains (every domain)
//	configuration: qpsmtpd MaxScannerSize (or clamav MaxScannerSize) -> virus.max_size
//	configuration: qmail MaxMessageSize (or qpsmtpd MaxMessageSize)  -> limits.max_message_size
//	configuration: clamav status                  -> virus.enabled
//	configuration: SystemName + DomainName        -> server.hostname
//	networks:      NET=network|Mask|M             -> profiles.local_networks (+ loopback)
//	domains:       D=domain|DKIMSigning|disabled  -> [dkim.domain."D"] signing = false
//	domains:       D=domain|DisclaimerText|T      -> [disclaimer.domains] "D" = T
//	accounts:      NAME=user|group|pseudonym with Visible=internal -> envelope.internal.recipients "NAME@"
//	spamassassin:  SENDER=White / SENDER=Black    -> wblist.whitelist_from / blacklist_from
//
// SME's lists (RBLList, SBLList, UBLList) are colon separated as SME stores
// them ("zen.spamhaus.org:bl.spamcop.net"); comma, semicolon and blank
// separated lists are read too. Sizes are byte counts or numbers with a K, M
// or G suffix (any case, 1024-based as in clamd: "25M" = 26214400) and are
// written as byte counts (mailwarden's own "25M" would mean 25000000).
//
// Where SME keeps the disclaimer differs between contribs; the DisclaimerText
// property and the DIR/disclaimer file are this importer's convention (copy
// the text there). Properties of the records above that are not in the table
// (ports, access, TLS, logging, ...) are listed as not carried over.
package smeimport
