// Package msgsize refuses messages over the configured maximum size (SME:
// MaxMessageSize; Postfix's own message_size_limit should match it). It
// refuses early at MAIL FROM when the client announces a SIZE= (RFC 1870)
// over the limit, and at end of message on the real size.
//
// Symbols: MESSAGE_TOO_BIG (0; the check rejects).
// Config: [limits] max_message_size.
package msgsize

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/mailwarden/mailwarden/scoring"
)

const SymTooBig = "MESSAGE_TOO_BIG"

func symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{{Name: SymTooBig, Weight: 0, Description: "Message exceeds the maximum size"}}
}

func reply(limit int64) scoring.Reply {
	return scoring.Reply{Code: 552, Enhanced: "5.3.4", Text: fmt.Sprintf("Message too big (limit %d bytes)", limit)}
}

// Declared is the MAIL FROM part: it compares the SIZE= parameter.
type Declared struct{ Max int64 }

// Actual is the end-of-message part: it compares the real size.
type Actual struct{ Max int64 }

var (
	_ scoring.Check = (*Declared)(nil)
	_ scoring.Check = (*Actual)(nil)
)

func (c *Declared) Name() string                 { return "max_size_declared" }
func (c *Declared) Stage() scoring.Stage         { return scoring.StageMail }
func (c *Declared) Symbols() []scoring.SymbolDef { return symbols() }

// Run implements scoring.Check.
func (c *Declared) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if c.Max <= 0 {
		return nil
	}
	for _, arg := range strings.Fields(tx.MailArgs) {
		if k, v, ok := strings.Cut(arg, "="); ok && strings.EqualFold(k, "SIZE") {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil && n > c.Max {
				r.Add(SymTooBig, "declared="+v)
				r.Force(scoring.Reject, reply(c.Max), fmt.Sprintf("declared size %d > %d", n, c.Max))
			}
		}
	}
	return nil
}

func (c *Actual) Name() string                 { return "max_size" }
func (c *Actual) Stage() scoring.Stage         { return scoring.StageEOM }
func (c *Actual) Symbols() []scoring.SymbolDef { return symbols() }

// Run implements scoring.Check.
func (c *Actual) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if c.Max <= 0 || tx.Message == nil {
		return nil
	}
	if n := tx.Message.Size(); n > c.Max {
		r.Add(SymTooBig, "size="+strconv.FormatInt(n, 10))
		r.Force(scoring.Reject, reply(c.Max), fmt.Sprintf("size %d > %d", n, c.Max))
	}
	return nil
}
