// Package spamheaders adds the SpamAssassin-format result headers that users'
// Sieve, procmail and maildrop rules already match, and the subject tag:
//
//	X-Spam-Status: Yes, score=7.3 required=4.0 tests=A,B
//	X-Spam-Level: *******
//	X-Spam-Flag: YES            (only when tagged)
//	Subject: [SPAM] original    (only when tagged and subject tagging is on)
//
// X-Spam-Status and X-Spam-Level go on every scanned message. Copies of these
// headers that arrived with the message are removed first, so a spammer
// cannot pre-label a message as clean, nor a forged flag mislead a filter.
// SME settings: spamassassin SubjectTag, SubjectTagText (here subject_prefix).
package spamheaders

import (
	"context"
	"fmt"
	"strings"

	"github.com/mailwarden/mailwarden/scoring"
)

// Config of the spam headers modifier.
type Config struct {
	Enabled       bool   // add X-Spam-* headers
	SubjectTag    bool   // prefix the subject of tagged mail
	SubjectPrefix string // "[SPAM]"
	MaxStars      int    // X-Spam-Level is capped at this many stars (SA: 50)
}

// Modifier adds the headers.
type Modifier struct{ cfg Config }

var _ scoring.Modifier = (*Modifier)(nil)

// New returns the modifier.
func New(cfg Config) *Modifier {
	if cfg.MaxStars <= 0 {
		cfg.MaxStars = 50
	}
	return &Modifier{cfg: cfg}
}

// Name implements scoring.Modifier.
func (m *Modifier) Name() string { return "spam_headers" }

// ours lists the fields we own and remove from incoming mail.
var ours = []string{"X-Spam-Flag", "X-Spam-Status", "X-Spam-Level"}

// Modify implements scoring.Modifier.
func (m *Modifier) Modify(_ context.Context, tx *scoring.Transaction, v *scoring.Verdict, c *scoring.Changes) error {
	if !m.cfg.Enabled || !v.Scanned || tx.Message == nil {
		return nil
	}
	h := &tx.Message.Header
	for _, name := range ours {
		// Delete from the last so the 1-based indexes stay valid.
		for i := h.Count(name); i >= 1; i-- {
			c.Delete(name, i)
		}
	}
	spam := v.Action == scoring.Tag || (v.Action >= scoring.Quarantine && v.IsSpam())
	c.Add("X-Spam-Status", Status(v, spam))
	c.Add("X-Spam-Level", Stars(v.Score, m.cfg.MaxStars))
	if spam {
		c.Add("X-Spam-Flag", "YES")
		if m.cfg.SubjectTag && m.cfg.SubjectPrefix != "" {
			subj := h.Get("Subject")
			if !strings.HasPrefix(subj, m.cfg.SubjectPrefix) {
				tagged := m.cfg.SubjectPrefix + " " + subj
				if h.Has("Subject") {
					c.Change("Subject", 1, " "+tagged)
				} else {
					c.Add("Subject", " "+m.cfg.SubjectPrefix)
				}
			}
		}
	}
	return nil
}

// Status renders the X-Spam-Status value, folded as SpamAssassin folds it.
func Status(v *scoring.Verdict, spam bool) string {
	yes := "No"
	if spam {
		yes = "Yes"
	}
	var tests []string
	for _, s := range v.Symbols {
		tests = append(tests, s.Name)
	}
	t := strings.Join(tests, ",")
	if t == "" {
		t = "none"
	}
	return fmt.Sprintf("%s, score=%.1f required=%.1f tests=%s", yes, v.Score, v.Required, t)
}

// Stars renders X-Spam-Level: one star per whole point, none when negative.
func Stars(score float64, max int) string {
	n := int(score)
	if n < 0 {
		n = 0
	}
	if n > max {
		n = max
	}
	return strings.Repeat("*", n)
}
