// Package bcc copies mail to an archive mailbox by adding an envelope
// recipient, as SME Server's Bcc, BccUser and BccMode settings do.
//
// Scope "all" copies every accepted message; "outgoing" only mail from the
// outbound profiles (local networks, authenticated clients, sendmail(1)).
// Mode "bcc" is invisible to the recipients; mode "cc" also adds
// "X-Copied-To: ARCHIVE" so that readers can see a copy was kept.
//
// The recipient is added at end of message (milter ADDRCPT), after the
// verdict: rejected, discarded and tempfailed mail is not archived. It runs
// last among the modifiers, after DKIM signing (X-Copied-To is not signed).
// A message already addressed to the archive is not given a second copy.
//
// Config keys ([bcc]): enabled, mailbox, mode, scope. No symbols.
package bcc

import (
	"context"
	"strings"

	"github.com/mailwarden/mailwarden/scoring"
)

// Config of the modifier.
type Config struct {
	Enabled  bool
	Mailbox  string
	Visible  bool // mode "cc": add X-Copied-To
	Outgoing bool // scope "outgoing"
}

// Modifier adds the archive recipient.
type Modifier struct{ cfg Config }

var _ scoring.Modifier = (*Modifier)(nil)

// New returns the modifier.
func New(cfg Config) *Modifier { return &Modifier{cfg: cfg} }

// Name implements scoring.Modifier.
func (m *Modifier) Name() string { return "bcc" }

// HeaderName is the field added in "cc" mode.
const HeaderName = "X-Copied-To"

// Modify implements scoring.Modifier.
func (m *Modifier) Modify(_ context.Context, tx *scoring.Transaction, v *scoring.Verdict, c *scoring.Changes) error {
	if !m.cfg.Enabled || m.cfg.Mailbox == "" {
		return nil
	}
	if m.cfg.Outgoing && !(tx.NonSMTP || tx.Profile.Outbound()) {
		return nil
	}
	for _, r := range tx.Rcpts {
		if strings.EqualFold(r, m.cfg.Mailbox) {
			return nil
		}
	}
	for _, r := range c.AddRcpts {
		if strings.EqualFold(r, m.cfg.Mailbox) {
			return nil
		}
	}
	c.AddRcpts = append(c.AddRcpts, m.cfg.Mailbox)
	if m.cfg.Visible {
		c.Add(HeaderName, m.cfg.Mailbox)
	}
	tx.SetValue("bcc.copied", m.cfg.Mailbox)
	return nil
}
