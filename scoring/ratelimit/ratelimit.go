// Package ratelimit implements outbound rate limits: messages and
// recipients per hour per authenticated user (SASL login) and, for clients
// in the local networks that did not authenticate (a web server's contact
// form, a script), per envelope sender address. Above a limit the
// recipient is deferred (451 4.7.1) and a WARN line names the account:
// this is the compromised-web-form and stolen-password case the SME guide
// warns about, caught before the server's reputation is burnt. Remote
// (inbound) mail is never counted.
//
// Counting: a sliding one-hour window approximated from two fixed hourly
// counters in the state store (the previous hour's count weighted by the
// part of it still inside the window, plus this hour's), so a sender cannot
// double its rate across an hour boundary. A message counts once, at its
// first recipient; every accepted recipient counts. Deferred attempts do
// not count. Several instances sharing a Redis store share the limits.
//
// Postfix with both check_policy_service and smtpd_milters pointing at one
// daemon asks both front-ends about each recipient, the policy server
// first: what it counted, the milter does not count again.
//
// Symbols (default weights): RATELIMIT_MESSAGES, RATELIMIT_RECIPIENTS
// (0; the check defers).
//
// Config: [rate_limit] enabled (default false), messages_per_hour (200),
// recipients_per_hour (1000), exempt (SASL users or sender addresses).
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/scoring"
)

// Symbols.
const (
	SymMessages   = "RATELIMIT_MESSAGES"
	SymRecipients = "RATELIMIT_RECIPIENTS"
)

// window is the rate-limit period ("per hour").
const window = time.Hour

// countedKey marks, in the transaction, that its message was counted.
const countedKey = "ratelimit.counted"

// Config of the check.
type Config struct {
	Store             store.Store
	MessagesPerHour   int // 0: no limit
	RecipientsPerHour int // 0: no limit
	Exempt            []string
	Logger            hclog.Logger
	Now               func() time.Time // nil: time.Now
}

// Check is the rate-limit check.
type Check struct {
	cfg    Config
	exempt map[string]bool

	// Recipients the policy front-end counted, by recipientKey, that the
	// milter has not seen yet: Postfix asks both about the same recipient
	// (its restrictions, with check_policy_service, run before the milter's
	// RCPT), and it must count once.
	mu            sync.Mutex
	policyCounted map[string]*handoff
	lastPrune     time.Time
}

// handoff is how many times the policy front-end counted one recipient
// event, and when it last did.
type handoff struct {
	n    int
	last time.Time
}

// Handoff bounds: Postfix asks the milter about a recipient right after the
// policy service (the same RCPT command), so an entry is needed for
// milliseconds; one the milter never asks about (Postfix refused the
// recipient later, or no milter is configured) is forgotten after
// handoffTTL, in a sweep at most every handoffPrune; the map never holds
// more than handoffMax entries.
const (
	handoffTTL   = 2 * time.Minute
	handoffPrune = 10 * time.Second
	handoffMax   = 50000
)

// recipientKey identifies one recipient event across the two front-ends.
func recipientKey(acct string, tx *scoring.Transaction) string {
	return acct + "\x00" + tx.Client.Addr.String() + "\x00" + strings.ToLower(tx.MailFrom) + "\x00" + strings.ToLower(tx.Rcpt)
}

// notePolicyCount records a recipient the policy front-end counted.
func (c *Check) notePolicyCount(key string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.policyCounted == nil {
		c.policyCounted = make(map[string]*handoff)
	}
	// Forget what no milter asked about (Postfix refused the recipient
	// after the policy service, or only the policy service is used); at
	// most once per handoffPrune, so that a full map costs no scan per
	// recipient.
	if now.Sub(c.lastPrune) > handoffPrune {
		c.lastPrune = now
		for k, h := range c.policyCounted {
			if now.Sub(h.last) > handoffTTL {
				delete(c.policyCounted, k)
			}
		}
	}
	if len(c.policyCounted) >= handoffMax {
		return // no room: the milter counts this one again (over- rather than under-counting)
	}
	h := c.policyCounted[key]
	if h == nil {
		h = &handoff{}
		c.policyCounted[key] = h
	}
	h.n++
	h.last = now
}

// takePolicyCount reports whether the policy front-end already counted this
// recipient event, and uses that count up.
func (c *Check) takePolicyCount(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.policyCounted[key]
	if h == nil {
		return false
	}
	if now.Sub(h.last) > handoffTTL {
		delete(c.policyCounted, key)
		return false
	}
	h.n--
	if h.n <= 0 {
		delete(c.policyCounted, key)
	}
	return true
}

var (
	_ scoring.Check    = (*Check)(nil)
	_ scoring.Profiled = (*Check)(nil)
	_ scoring.Blocking = (*Check)(nil)
)

// New returns the check.
func New(cfg Config) *Check {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	c := &Check{cfg: cfg, exempt: make(map[string]bool)}
	for _, e := range cfg.Exempt {
		c.exempt[strings.ToLower(strings.TrimSpace(e))] = true
	}
	return c
}

func (c *Check) Name() string         { return "rate_limit" }
func (c *Check) Stage() scoring.Stage { return scoring.StageRcpt }
func (c *Check) Blocking() bool       { return true }
func (c *Check) DefaultProfiles() []scoring.Profile {
	return []scoring.Profile{scoring.ProfileLocal, scoring.ProfileAuthenticated}
}

func (c *Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{
		{Name: SymMessages, Weight: 0, Description: "Sender over its hourly message limit"},
		{Name: SymRecipients, Weight: 0, Description: "Sender over its hourly recipient limit"},
	}
}

// Account returns what the message is counted against ("user:NAME" or
// "sender:ADDR"), or "" when it is not counted.
func (c *Check) Account(tx *scoring.Transaction) string {
	if u := strings.ToLower(tx.Client.AuthUser); u != "" {
		if c.exempt[u] {
			return ""
		}
		return "user:" + u
	}
	if tx.Profile == scoring.ProfileLocal || tx.Profile == scoring.ProfileAuthenticated {
		s := strings.ToLower(tx.MailFrom)
		if s == "" || c.exempt[s] {
			return "" // bounces are not counted
		}
		return "sender:" + s
	}
	return ""
}

func keys(kind, account string, now time.Time) (cur, prev string, frac float64) {
	slot := now.Unix() / int64(window/time.Second)
	into := float64(now.Unix()%int64(window/time.Second)) / float64(window/time.Second)
	base := "rate:" + kind + ":" + account + ":"
	return base + strconv.FormatInt(slot, 10), base + strconv.FormatInt(slot-1, 10), 1 - into
}

// Run implements scoring.Check.
func (c *Check) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	acct := c.Account(tx)
	if acct == "" {
		return nil
	}
	now := c.cfg.Now()
	key := recipientKey(acct, tx)
	if tx.Front == scoring.FrontMilter && c.takePolicyCount(key, now) {
		// Counted (and checked against the limits) by the policy server
		// for this very recipient; so was the message, at its first one.
		tx.SetValue(countedKey, true)
		return nil
	}
	_, counted := tx.Value(countedKey)
	type limit struct {
		sym, kind string
		max       int
		delta     int64
	}
	var limits []limit
	if c.cfg.MessagesPerHour > 0 && !counted {
		limits = append(limits, limit{SymMessages, "msg", c.cfg.MessagesPerHour, 1})
	}
	if c.cfg.RecipientsPerHour > 0 {
		limits = append(limits, limit{SymRecipients, "rcpt", c.cfg.RecipientsPerHour, 1})
	}
	if len(limits) == 0 {
		return nil
	}
	var cur, prev []string
	var deltas []int64
	frac := 0.0
	for _, l := range limits {
		k, p, f := keys(l.kind, acct, now)
		cur, prev, deltas, frac = append(cur, k), append(prev, p), append(deltas, l.delta), f
	}
	start := time.Now()
	// Count first (atomic), then compare: concurrent messages cannot all
	// slip under the limit. Over the limit, the count is taken back.
	counts, err := c.cfg.Store.IncrMany(ctx, cur, deltas, 2*window)
	if err != nil {
		return err
	}
	olds, err := c.cfg.Store.GetMany(ctx, prev)
	c.cfg.Logger.Debug("rate lookup", "account", acct, "counts", counts, "duration", time.Since(start), "error", err)
	if err != nil {
		return err
	}
	over := -1
	var est float64
	for i, l := range limits {
		p, _ := store.ParseInt(olds[i])
		est = float64(p)*frac + float64(counts[i])
		if est > float64(l.max) {
			over = i
			break
		}
	}
	if over < 0 {
		if !counted {
			tx.SetValue(countedKey, true)
		}
		if tx.Front == scoring.FrontPolicy {
			c.notePolicyCount(key, now)
		}
		return nil
	}
	neg := make([]int64, len(deltas))
	for i, d := range deltas {
		neg[i] = -d
	}
	if _, err := c.cfg.Store.IncrMany(ctx, cur, neg, 2*window); err != nil {
		c.cfg.Logger.Warn("rate limit: cannot take back a deferred count", "account", acct, "error", err)
	}
	l := limits[over]
	c.cfg.Logger.Warn("OUTBOUND RATE LIMIT EXCEEDED: deferring mail; check this account for a stolen password or an abused form",
		"account", acct, "limit", l.kind+"/hour", "max", l.max, "count", int(est), "client", tx.Client.Addr, "from", "<"+tx.MailFrom+">")
	r.Add(l.sym, acct, fmt.Sprintf("%d/%d", int(est), l.max))
	r.Force(scoring.Tempfail, scoring.Reply{Code: 451, Enhanced: "4.7.1", Text: "Sending rate limit exceeded, please try again later"},
		fmt.Sprintf("%s over %d %s/hour", acct, l.max, l.kind))
	return nil
}
