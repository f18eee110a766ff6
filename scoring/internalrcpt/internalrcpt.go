// Package internalrcpt refuses mail from remote clients to recipients that
// are internal only: SME's "Visible: internal" setting of groups, users and
// pseudonyms (mail to everyone@ or to a department list from the outside
// world is refused at RCPT with 550 5.7.1).
//
// The recipients are patterns (scoring/envlists/pattern): "staff@" (a local
// part at any of our domains, as SME group names are), "all@example.com",
// "@internal.example.com". The check runs for the remote profile only:
// local networks and authenticated users may write to them. It is an access
// rule, not a spam check, so it runs even for whitelisted messages
// (AlwaysRun): whitelisthosts means "skip our spam checks", not "reach the
// internal lists".
//
// Symbol: INTERNAL_ONLY_RCPT (0; the check refuses).
// Config: [envelope.internal] recipients.
package internalrcpt

import (
	"context"

	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/envlists/pattern"
)

// SymInternalOnly is added when a remote client writes to an internal-only recipient.
const SymInternalOnly = "INTERNAL_ONLY_RCPT"

// Check is the internal-only recipients check.
type Check struct{ list pattern.List }

var (
	_ scoring.Check     = (*Check)(nil)
	_ scoring.Profiled  = (*Check)(nil)
	_ scoring.AlwaysRun = (*Check)(nil)
)

// New returns the check for a list of recipient patterns.
func New(list pattern.List) *Check { return &Check{list: list} }

func (c *Check) Name() string                       { return "internal_recipients" }
func (c *Check) Stage() scoring.Stage               { return scoring.StageRcpt }
func (c *Check) DefaultProfiles() []scoring.Profile { return []scoring.Profile{scoring.ProfileRemote} }
func (c *Check) AlwaysRun() bool                    { return true }

func (c *Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{{Name: SymInternalOnly, Description: "Recipient accepts mail from internal senders only"}}
}

// Run implements scoring.Check.
func (c *Check) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if p, ok := c.list.Match(tx.Rcpt); ok {
		r.Add(SymInternalOnly, p.String())
		r.Force(scoring.Reject, scoring.Reply{Code: 550, Enhanced: "5.7.1",
			Text: rcptRejected(tx, "accepts mail from internal senders only")},
			"recipient "+tx.Rcpt+" is internal only ("+p.String()+")")
	}
	return nil
}

// rcptRejected words a recipient refusal as Postfix does ("<rcpt>:
// Recipient address rejected: why"). Through the policy server Postfix adds
// that prefix itself, so there the reason goes alone.
func rcptRejected(tx *scoring.Transaction, why string) string {
	if tx.Front == "policy" {
		return why
	}
	return "<" + tx.Rcpt + ">: Recipient address rejected: " + why
}
