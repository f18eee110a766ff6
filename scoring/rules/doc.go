// Package rules runs SpamAssassin-style rule files, so that an SME admin's
// local.cf rules work here unchanged where Go's RE2 regexp engine allows.
//
// Supported directives (SpamAssassin's Mail::SpamAssassin::Conf subset):
//
//	header NAME Field =~ /re/flags [if-unset: X]   also !~, Field:raw, Field:addr, Field:name
//	header NAME exists:Field                        also ALL, ToCc, MESSAGEID, EnvelopeFrom
//	body NAME /re/       decoded text, HTML rendered to text, Subject first, per paragraph
//	rawbody NAME /re/    decoded text parts, HTML not rendered, per part
//	full NAME /re/       the whole raw message (up to the scan size limit)
//	uri NAME /re/        each URL found in text and href/src attributes
//	meta NAME expr       ! && || ( ) + - * / < > <= >= == != over rule hit counts
//	score NAME n         absolute; four scores: the fourth (Bayes + network set) is used
//	score NAME (n)       relative: added to the score set earlier (error without one)
//	describe NAME text
//	tflags NAME multiple maxhits=N ...   (multiple: each hit scores, capped)
//	include FILE
//
// Rules named "__X" are meta sub-rules: evaluated, never scored or shown.
// A rule without a score scores 1.0 (T_ rules 0.01), as in SpamAssassin; a
// score of 0 disables the symbol. Settings with a mailwarden.toml
// equivalent (required_score, rewrite_header, whitelist_from, ...) and
// if/ifplugin blocks are skipped with a warning; unknown directives and
// eval: rules are errors naming file and line.
//
// Perl regexps that RE2 cannot run — look-ahead/behind, back-references,
// possessive quantifiers, atomic groups, recursion, conditionals — are
// refused at load time with file and line, never silently changed. /i /m /s
// /x, \Z, \h and \e are translated.
//
// Performance: rules compile once per (re)load. For body, rawbody and full
// rules the set of literals every match must contain is derived from the
// parsed regexp (regexp/syntax); one Aho-Corasick pass over the text
// selects the rules whose literals occur, and only those regexps run.
//
// Symbols: every rule with a non-zero score, with its score and describe
// text as default weight and description ([scores] overrides them), and
// SCAN_SKIPPED_SIZE (0) when the message is over [limits] scan_size_limit
// (SME: 500 kB): header and meta rules still run, content rules do not.
// A meta rule may name another check's symbol; it counts when that symbol
// is on the transaction when the rules check runs: symbols of earlier
// stages (SPF, DNS lists, HELO, ...). The rules check runs after the dkim,
// dmarc, bayes, gtube, attachments and virus checks of its own stage
// (Needs), but the engine merges a stage's symbols into the transaction
// only when the stage ends, so those are not visible to metas yet.
//
// Config: [rules] paths (files or directories of *.cf), enabled.
package rules
