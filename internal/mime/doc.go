// Package mime turns a received message into what content checks read:
// decoded leaf parts (RFC 2045 base64 and quoted-printable), text converted
// to UTF-8 from its declared charset (RFC 2046 4.1.2), HTML rendered to text
// with golang.org/x/net/html's tokenizer, URLs and their hosts (from plain
// text and from href/src attributes, with the link text kept for "link text
// says one host, target is another" rules), and attachments with their file
// names (RFC 2183, RFC 2231 via go-message), declared type, decoded size and
// first bytes for magic-number detection. Embedded message/rfc822 parts are
// descended into, as SpamAssassin does.
//
// It is built on github.com/emersion/go-message and its charset package.
//
// Everything is bounded: MaxDepth, MaxParts, MaxDecodedBytes, MaxURLs (see
// the constants for the reasons). A hostile or broken message never makes
// Parse fail or panic: what could not be decoded is recorded in
// Parsed.Errors (malformed boundary, bad base64, unknown charset) and the
// rest of the message is still available.
//
// Checks share one parse per message through Get(tx), which memoizes the
// result on the transaction (tx.Memo("mime", ...)). Call it at StageEOM,
// when the body is complete.
//
// This package adds no symbols and has no configuration keys; checks such
// as scoring/rules, scoring/bayes and scoring/attach read its result.
package mime
