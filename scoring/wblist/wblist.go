// Package wblist implements SpamAssassin's whitelist_from and blacklist_from
// (SME: the spamassassin whitelist and blacklist): sender address patterns
// with '*' (any run of characters) and '?' (one character), matched case-
// insensitively against the envelope sender and the From header address.
//
// Symbols (SpamAssassin's names and default weights):
//
//	USER_IN_WHITELIST  -100  sender matches whitelist_from
//	USER_IN_BLACKLIST   100  sender matches blacklist_from
//
// Both are scores, as in SpamAssassin, not bypasses: weights are overridable
// in [scores]; a forced action of another check (a virus, a DNS list set to
// reject) still applies. From headers are easily forged: list domains you
// trust to be authenticated (DMARC), or whole addresses.
//
// Config: [wblist] whitelist_from, blacklist_from. Runs at end of headers.
package wblist

import (
	"context"
	"fmt"
	"net/mail"
	"strings"

	"github.com/mailwarden/mailwarden/internal/mime"
	"github.com/mailwarden/mailwarden/scoring"
)

// Symbols.
const (
	SymWhitelist = "USER_IN_WHITELIST"
	SymBlacklist = "USER_IN_BLACKLIST"
)

// MaxPatterns bounds each list: the lists are matched linearly per message.
const MaxPatterns = 10000

// Config of the check.
type Config struct {
	WhitelistFrom []string
	BlacklistFrom []string
}

// Check is the whitelist/blacklist check.
type Check struct {
	white, black []string
}

var _ scoring.Check = (*Check)(nil)

// New validates the patterns and returns the check.
func New(cfg Config) (*Check, error) {
	if len(cfg.WhitelistFrom) > MaxPatterns || len(cfg.BlacklistFrom) > MaxPatterns {
		return nil, fmt.Errorf("more than %d patterns", MaxPatterns)
	}
	c := &Check{}
	for _, p := range cfg.WhitelistFrom {
		c.white = append(c.white, strings.ToLower(strings.TrimSpace(p)))
	}
	for _, p := range cfg.BlacklistFrom {
		c.black = append(c.black, strings.ToLower(strings.TrimSpace(p)))
	}
	return c, nil
}

func (c *Check) Name() string { return "wblist" }

// NoAutoLearn keeps the list's ±100 out of Bayes autolearn (bayes.NoAutoLearn),
// as SpamAssassin's USER_IN_WHITELIST / USER_IN_BLACKLIST are noautolearn.
func (c *Check) NoAutoLearn(string) bool { return true }
func (c *Check) Stage() scoring.Stage    { return scoring.StageHeaders }
func (c *Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{
		{Name: SymWhitelist, Weight: -100, Description: "Sender is in whitelist_from"},
		{Name: SymBlacklist, Weight: 100, Description: "Sender is in blacklist_from"},
	}
}

// Run implements scoring.Check.
func (c *Check) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if len(c.white) == 0 && len(c.black) == 0 {
		return nil
	}
	senders := Senders(tx)
	if p, who := match(c.black, senders); p != "" {
		r.Add(SymBlacklist, who, p)
	}
	if p, who := match(c.white, senders); p != "" {
		r.Add(SymWhitelist, who, p)
	}
	return nil
}

// Senders returns the lower-cased sender addresses a list is matched
// against: the envelope sender and the From header addresses.
func Senders(tx *scoring.Transaction) []string {
	var out []string
	if tx.MailFrom != "" {
		out = append(out, strings.ToLower(tx.MailFrom))
	}
	if tx.Message != nil {
		for _, v := range tx.Message.Header.Values("From") {
			list, err := mail.ParseAddressList(mime.DecodeHeader(v))
			if err != nil {
				continue
			}
			for _, a := range list {
				out = append(out, strings.ToLower(a.Address))
			}
		}
	}
	return out
}

func match(patterns, senders []string) (pattern, sender string) {
	for _, s := range senders {
		for _, p := range patterns {
			if Glob(p, s) {
				return p, s
			}
		}
	}
	return "", ""
}

// Glob matches s against a pattern with '*' and '?' (both lower-case),
// in time linear in len(p)*len(s) at worst (no backtracking blow-up).
func Glob(p, s string) bool {
	// Iterative wildcard match with a single backtrack point.
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
