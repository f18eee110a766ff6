// Package sortspam adds the junk-sorting header a delivery agent acts on
// (SME: SortSpam, which files tagged mail into the user's junkmail folder).
// Tagged mail gets, by default,
//
//	X-Mailwarden-Sort: Junk
//
// and the Dovecot Sieve, maildrop and procmail recipes in deploy/recipes
// move it to the Junk folder. Copies of the header that arrived with the
// message are removed first, so a sender can neither sort a message into
// someone's junk nor pre-label it.
//
// Per-user opt-out (SME: a user's SortSpam disabled): [sorting] opt_out lists
// recipients or patterns ("*@example.com"). A milter header is per message,
// not per recipient: a message only for opted-out recipients gets no header;
// one with opted-out and other recipients gets it, and opted-out users who
// want to be sure leave the recipe out of their delivery.
//
// Config: [sorting] enabled, header, value, opt_out. No symbols.
package sortspam

import (
	"context"
	"strings"

	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/wblist"
)

// Config of the modifier.
type Config struct {
	Enabled bool
	Header  string // "X-Mailwarden-Sort"
	Value   string // "Junk"
	OptOut  []string
}

// Modifier adds the sort header.
type Modifier struct{ cfg Config }

var _ scoring.Modifier = (*Modifier)(nil)

// New returns the modifier.
func New(cfg Config) *Modifier {
	for i, p := range cfg.OptOut {
		cfg.OptOut[i] = strings.ToLower(strings.TrimSpace(p))
	}
	return &Modifier{cfg: cfg}
}

// Name implements scoring.Modifier.
func (m *Modifier) Name() string { return "sort_spam" }

// Modify implements scoring.Modifier.
func (m *Modifier) Modify(_ context.Context, tx *scoring.Transaction, v *scoring.Verdict, c *scoring.Changes) error {
	if !m.cfg.Enabled || tx.Message == nil || m.cfg.Header == "" {
		return nil
	}
	for i := tx.Message.Header.Count(m.cfg.Header); i >= 1; i-- {
		c.Delete(m.cfg.Header, i)
	}
	if !v.Scanned {
		return nil
	}
	spam := v.Action == scoring.Tag || (v.Action >= scoring.Quarantine && v.IsSpam())
	if !spam || m.allOptedOut(tx.Rcpts) {
		return nil
	}
	c.Add(m.cfg.Header, m.cfg.Value)
	return nil
}

// allOptedOut reports whether every recipient opted out of sorting.
func (m *Modifier) allOptedOut(rcpts []string) bool {
	if len(m.cfg.OptOut) == 0 || len(rcpts) == 0 {
		return false
	}
	for _, r := range rcpts {
		r = strings.ToLower(strings.Trim(r, "<>"))
		out := false
		for _, p := range m.cfg.OptOut {
			if wblist.Glob(p, r) || (!strings.Contains(p, "@") && strings.HasPrefix(r, p+"@")) {
				out = true
				break
			}
		}
		if !out {
			return false
		}
	}
	return true
}
