// Package basicheaders implements SME's check_basicheaders (a qpsmtpd
// plugin): mail must carry the header fields RFC 5322 3.6 requires, From and
// Date, or it is refused (or only scored, when so configured). It runs at end
// of headers; by default only for the remote profile, since local scripts and
// MUAs of authenticated users may leave Date to the MTA.
//
// Symbols: MISSING_FROM (default 1.0), MISSING_DATE (default 1.0).
// Config: [basic_headers] required, action ("reject" or "score").
package basicheaders

import (
	"context"
	"strings"

	"github.com/mailwarden/mailwarden/scoring"
)

// Symbols and default weights.
const (
	SymMissingFrom = "MISSING_FROM"
	SymMissingDate = "MISSING_DATE"
	SymMissingHdr  = "MISSING_HEADER"
)

// Config of the check.
type Config struct {
	Required []string // header field names that must be present
	Reject   bool     // refuse the message (true) or only score it
	Profiles []scoring.Profile
}

// Check is the basic headers check.
type Check struct{ cfg Config }

var (
	_ scoring.Check    = (*Check)(nil)
	_ scoring.Profiled = (*Check)(nil)
)

// New returns the check.
func New(cfg Config) *Check { return &Check{cfg: cfg} }

func (c *Check) Name() string                       { return "basic_headers" }
func (c *Check) Stage() scoring.Stage               { return scoring.StageHeaders }
func (c *Check) DefaultProfiles() []scoring.Profile { return c.cfg.Profiles }

func (c *Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{
		{Name: SymMissingFrom, Weight: 1.0, Description: "Message has no From header"},
		{Name: SymMissingDate, Weight: 1.0, Description: "Message has no Date header"},
		{Name: SymMissingHdr, Weight: 1.0, Description: "Message lacks a required header"},
	}
}

// Run implements scoring.Check.
func (c *Check) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if tx.Message == nil {
		return nil
	}
	var missing []string
	for _, name := range c.cfg.Required {
		if tx.Message.Header.Has(name) {
			continue
		}
		missing = append(missing, name)
		switch strings.ToLower(name) {
		case "from":
			r.Add(SymMissingFrom)
		case "date":
			r.Add(SymMissingDate)
		default:
			r.Add(SymMissingHdr, name)
		}
	}
	if len(missing) > 0 && c.cfg.Reject {
		r.Force(scoring.Reject, scoring.Reply{Code: 550, Enhanced: "5.6.0",
			Text: "Mail with no " + strings.Join(missing, " or ") + " header not accepted here"},
			"missing header: "+strings.Join(missing, ","))
	}
	return nil
}
