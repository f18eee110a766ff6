// Package message holds one mail message as mailwarden sees it: the header
// fields in order, exactly as received, and the body in canonical CRLF form,
// kept in memory up to a threshold and spooled to a temporary file past it.
//
// It parses .eml files (LF or CRLF line endings, optional mbox "From " line)
// for `mailwarden check` and the learner, and is filled field by field and
// chunk by chunk by the milter front-end. It does not decode MIME; see
// internal/mime for that.
package message
