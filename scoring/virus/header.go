package virus

import (
	"context"

	"github.com/mailwarden/mailwarden/scoring"
)

// HeaderName is the field SME's qpsmtpd clamav plugin adds, which users'
// filters may already match.
const HeaderName = "X-Virus-Checked"

// status is what the check leaves on the transaction for the header.
type status string

const (
	statusClean    status = "clean"
	statusScored   status = "scored"   // a score_signatures match
	statusSkipped  status = "skipped"  // over max_size
	statusFailed   status = "failed"   // clamd failed, accepted (on_failure = accept)
	statusInfected status = "infected" // refused; no header needed
)

// valueKey is the transaction value the check writes.
const valueKey = "virus.status"

// Header is the modifier that adds X-Virus-Checked to delivered mail, so
// that a message that went through unscanned is visibly so ("accept and
// tag"). Copies of the field that arrived with the message are removed
// first: a sender cannot pre-label mail as checked.
type Header struct {
	Enabled bool
	// Host names the scanning host in the field, as SME's does.
	Host string
}

var _ scoring.Modifier = (*Header)(nil)

// Name implements scoring.Modifier.
func (h *Header) Name() string { return "virus_header" }

// Modify implements scoring.Modifier.
func (h *Header) Modify(_ context.Context, tx *scoring.Transaction, v *scoring.Verdict, c *scoring.Changes) error {
	if !h.Enabled || tx.Message == nil || !v.Scanned {
		return nil
	}
	st, ok := tx.Value(valueKey)
	if !ok {
		return nil // the check did not run for this message (profile, disabled)
	}
	for i := tx.Message.Header.Count(HeaderName); i >= 1; i-- {
		c.Delete(HeaderName, i)
	}
	host := h.Host
	if host == "" {
		host = "localhost"
	}
	var text string
	switch st.(status) {
	case statusClean:
		text = "Checked by ClamAV on " + host
	case statusScored:
		text = "Checked by ClamAV on " + host + " (signature scored, not refused)"
	case statusSkipped:
		text = "Not checked by ClamAV on " + host + ": message too large"
	case statusFailed:
		text = "Not checked by ClamAV on " + host + ": scanner unavailable"
	default:
		return nil
	}
	c.Add(HeaderName, " "+text)
	return nil
}
