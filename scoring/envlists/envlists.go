// Package envlists implements SME's envelope list files (qpsmtpd plugins of
// the same names), as engine checks usable from the milter and the Postfix
// policy server alike:
//
//   - whitelisthosts (connect): client IPs and CIDR networks whose mail skips
//     our checks (r.Whitelist). Symbol WHITELIST_HOST (0).
//   - whitelisthelo (helo): HELO names (wildcards allowed) whose mail skips our
//     checks. Symbol WHITELIST_HELO (0).
//   - whitelistsenders (mail): envelope senders whose mail skips our checks.
//     The sender is forgeable: list only addresses whose domains publish SPF,
//     or prefer whitelisthosts. Symbol WHITELIST_SENDER (0).
//   - badmailfrom (rcpt): envelope senders refused with 550 5.7.1. As in
//     qpsmtpd the refusal happens at RCPT, where the front-ends of both paths
//     refuse. Symbol BAD_MAIL_FROM (0; the check refuses).
//   - badrcptto (rcpt): recipients refused with 550 5.7.1. Symbol BAD_RCPT_TO (0).
//   - badmailfromto (rcpt): [sender, recipient] pairs; the recipient is
//     refused as if it did not exist (550 5.1.1 User unknown), so the sender
//     learns nothing. Symbol BAD_MAIL_FROM_TO (0).
//
// Whitelisting never means "permit relay": it only means that the checks
// after it skip the message (checks that always run, such as internal-only
// recipients and virus scanning, still run). Postfix's own relay
// restrictions stay in force.
//
// Patterns (package pattern): user@host, @host, user@, wildcards *@*.xyz.
// All checks run for the remote profile by default.
//
// Config: [envelope.lists] badmailfrom, badrcptto, badmailfromto,
// whitelisthosts, whitelisthelo, whitelistsenders.
package envlists

import (
	"context"
	"net/netip"

	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/envlists/pattern"
)

// Symbols.
const (
	SymWhitelistHost   = "WHITELIST_HOST"
	SymWhitelistHelo   = "WHITELIST_HELO"
	SymWhitelistSender = "WHITELIST_SENDER"
	SymBadMailFrom     = "BAD_MAIL_FROM"
	SymBadRcptTo       = "BAD_RCPT_TO"
	SymBadMailFromTo   = "BAD_MAIL_FROM_TO"
)

// Config holds the parsed lists.
type Config struct {
	WhitelistHosts   []netip.Prefix
	WhitelistHelo    pattern.List
	WhitelistSenders pattern.List
	BadMailFrom      pattern.List
	BadRcptTo        pattern.List
	BadMailFromTo    []pattern.Pair
}

// Checks returns the list checks in the order they belong in the engine's
// list: whitelists first. Lists left empty give no check.
func Checks(cfg Config) []scoring.Check {
	var out []scoring.Check
	if len(cfg.WhitelistHosts) > 0 {
		out = append(out, &WhitelistHosts{Nets: cfg.WhitelistHosts})
	}
	if len(cfg.WhitelistHelo) > 0 {
		out = append(out, &WhitelistHelo{List: cfg.WhitelistHelo})
	}
	if len(cfg.WhitelistSenders) > 0 {
		out = append(out, &WhitelistSenders{List: cfg.WhitelistSenders})
	}
	if len(cfg.BadMailFrom) > 0 {
		out = append(out, &BadMailFrom{List: cfg.BadMailFrom})
	}
	if len(cfg.BadRcptTo) > 0 {
		out = append(out, &BadRcptTo{List: cfg.BadRcptTo})
	}
	if len(cfg.BadMailFromTo) > 0 {
		out = append(out, &BadMailFromTo{Pairs: cfg.BadMailFromTo})
	}
	return out
}

var remote = []scoring.Profile{scoring.ProfileRemote}

// WhitelistHosts is SME's whitelisthosts.
type WhitelistHosts struct{ Nets []netip.Prefix }

// WhitelistHelo is SME's whitelisthelo.
type WhitelistHelo struct{ List pattern.List }

// WhitelistSenders is SME's whitelistsenders.
type WhitelistSenders struct{ List pattern.List }

// BadMailFrom is SME's badmailfrom.
type BadMailFrom struct{ List pattern.List }

// BadRcptTo is SME's badrcptto.
type BadRcptTo struct{ List pattern.List }

// BadMailFromTo is SME's badmailfromto.
type BadMailFromTo struct{ Pairs []pattern.Pair }

var (
	_ scoring.Profiled = (*WhitelistHosts)(nil)
	_ scoring.Check    = (*WhitelistHosts)(nil)
	_ scoring.Check    = (*WhitelistHelo)(nil)
	_ scoring.Check    = (*WhitelistSenders)(nil)
	_ scoring.Check    = (*BadMailFrom)(nil)
	_ scoring.Check    = (*BadRcptTo)(nil)
	_ scoring.Check    = (*BadMailFromTo)(nil)
)

func (*WhitelistHosts) Name() string                       { return "whitelisthosts" }
func (*WhitelistHosts) Stage() scoring.Stage               { return scoring.StageConnect }
func (*WhitelistHosts) DefaultProfiles() []scoring.Profile { return remote }
func (*WhitelistHosts) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{{Name: SymWhitelistHost, Description: "Client host is in whitelisthosts"}}
}

// Run implements scoring.Check.
func (c *WhitelistHosts) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	ip := tx.Client.Addr.Unmap()
	if !ip.IsValid() {
		return nil
	}
	for _, n := range c.Nets {
		if n.Contains(ip) {
			r.Add(SymWhitelistHost, n.String())
			r.Whitelist()
			return nil
		}
	}
	return nil
}

func (*WhitelistHelo) Name() string                       { return "whitelisthelo" }
func (*WhitelistHelo) Stage() scoring.Stage               { return scoring.StageHelo }
func (*WhitelistHelo) DefaultProfiles() []scoring.Profile { return remote }
func (*WhitelistHelo) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{{Name: SymWhitelistHelo, Description: "HELO name is in whitelisthelo"}}
}

// Run implements scoring.Check.
func (c *WhitelistHelo) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if tx.Client.HELO == "" {
		return nil
	}
	if p, ok := c.List.Match(tx.Client.HELO); ok {
		r.Add(SymWhitelistHelo, p.String())
		r.Whitelist()
	}
	return nil
}

func (*WhitelistSenders) Name() string                       { return "whitelistsenders" }
func (*WhitelistSenders) Stage() scoring.Stage               { return scoring.StageMail }
func (*WhitelistSenders) DefaultProfiles() []scoring.Profile { return remote }
func (*WhitelistSenders) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{{Name: SymWhitelistSender, Description: "Envelope sender is in whitelistsenders"}}
}

// Run implements scoring.Check.
func (c *WhitelistSenders) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if p, ok := c.List.Match(tx.MailFrom); ok {
		r.Add(SymWhitelistSender, p.String())
		r.Whitelist()
	}
	return nil
}

func (*BadMailFrom) Name() string                       { return "badmailfrom" }
func (*BadMailFrom) Stage() scoring.Stage               { return scoring.StageRcpt }
func (*BadMailFrom) DefaultProfiles() []scoring.Profile { return remote }
func (*BadMailFrom) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{{Name: SymBadMailFrom, Description: "Envelope sender is in badmailfrom"}}
}

// Run implements scoring.Check.
func (c *BadMailFrom) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if p, ok := c.List.Match(tx.MailFrom); ok {
		r.Add(SymBadMailFrom, p.String())
		r.Force(scoring.Reject, scoring.Reply{Code: 550, Enhanced: "5.7.1",
			Text: "<" + tx.MailFrom + ">: Sender address rejected: not accepted here"},
			"sender matches badmailfrom "+p.String())
	}
	return nil
}

func (*BadRcptTo) Name() string                       { return "badrcptto" }
func (*BadRcptTo) Stage() scoring.Stage               { return scoring.StageRcpt }
func (*BadRcptTo) DefaultProfiles() []scoring.Profile { return remote }
func (*BadRcptTo) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{{Name: SymBadRcptTo, Description: "Recipient is in badrcptto"}}
}

// Run implements scoring.Check.
func (c *BadRcptTo) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if p, ok := c.List.Match(tx.Rcpt); ok {
		r.Add(SymBadRcptTo, p.String())
		r.Force(scoring.Reject, scoring.Reply{Code: 550, Enhanced: "5.7.1",
			Text: rcptRejected(tx, "mail to this address is not accepted here")},
			"recipient matches badrcptto "+p.String())
	}
	return nil
}

func (*BadMailFromTo) Name() string                       { return "badmailfromto" }
func (*BadMailFromTo) Stage() scoring.Stage               { return scoring.StageRcpt }
func (*BadMailFromTo) DefaultProfiles() []scoring.Profile { return remote }
func (*BadMailFromTo) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{{Name: SymBadMailFromTo, Description: "Sender and recipient pair is in badmailfromto"}}
}

// Run implements scoring.Check.
func (c *BadMailFromTo) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	for _, p := range c.Pairs {
		if p.From.Match(tx.MailFrom) && p.To.Match(tx.Rcpt) {
			r.Add(SymBadMailFromTo, p.From.String()+"->"+p.To.String())
			// "As if the recipient did not exist": the reply a sender gets
			// for an unknown user, nothing that reveals the list.
			r.Force(scoring.Reject, scoring.Reply{Code: 550, Enhanced: "5.1.1",
				Text: rcptRejected(tx, "User unknown")},
				"sender/recipient pair matches badmailfromto "+p.From.String()+" "+p.To.String())
			return nil
		}
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
