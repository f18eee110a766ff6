// Package greylist implements greylisting (off by default, as in SME): the
// first attempt of a new triplet — client network, envelope sender,
// recipient — is deferred with a 4xx; a retry after the delay (and within
// the retry window) passes, and the triplet is then remembered, so mail
// from the same sender to the same recipient is not delayed again. Real
// MTAs retry; most spam engines do not.
//
// The client is taken by network (IPv4 /24, IPv6 /64), because large
// senders retry from another address of the same pool. A client network
// that passed AutoWhitelist distinct triplets skips greylisting
// altogether (auto-whitelisting of returning senders, as postgrey does).
// Runs for the remote profile only, at RCPT, after the checks that reject
// (a whitelisted message skips it).
//
// State in the store: "grey:t:NET|SENDER|RCPT" = "FIRSTSEEN[ passed]"
// (Unix milliseconds), "grey:awl:NET" = count of passed triplets.
//
// Symbols (default weights): GREYLIST (0; the check defers),
// GREYLIST_PASSED (0; informational), GREYLIST_AWL (0; informational).
//
// Config: [greylist] enabled (false), delay ("5m"), retry_window ("24h"),
// expiry ("840h", 35 days), auto_whitelist (5; 0 disables).
package greylist

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/scoring"
)

// Symbols.
const (
	SymGreylist = "GREYLIST"
	SymPassed   = "GREYLIST_PASSED"
	SymAWL      = "GREYLIST_AWL"
)

// Network sizes a client is taken by.
const (
	v4Bits = 24
	v6Bits = 64
)

// Config of the check.
type Config struct {
	Store         store.Store
	Delay         time.Duration
	RetryWindow   time.Duration
	Expiry        time.Duration
	AutoWhitelist int
	Logger        hclog.Logger
	Now           func() time.Time // nil: time.Now
}

// Check is the greylisting check.
type Check struct{ cfg Config }

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
	return &Check{cfg: cfg}
}

func (c *Check) Name() string                       { return "greylist" }
func (c *Check) Stage() scoring.Stage               { return scoring.StageRcpt }
func (c *Check) Blocking() bool                     { return true }
func (c *Check) DefaultProfiles() []scoring.Profile { return []scoring.Profile{scoring.ProfileRemote} }

func (c *Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{
		{Name: SymGreylist, Weight: 0, Description: "Greylisted: first attempt of a new sender/recipient/client triplet"},
		{Name: SymPassed, Weight: 0, Description: "Passed greylisting"},
		{Name: SymAWL, Weight: 0, Description: "Client network auto-whitelisted by greylisting"},
	}
}

// Network returns the client network a triplet is keyed by.
func Network(a netip.Addr) string {
	a = a.Unmap()
	bits := v6Bits
	if a.Is4() {
		bits = v4Bits
	}
	p, _ := a.Prefix(bits)
	return p.String()
}

// TripletKey returns the store key of a triplet.
func TripletKey(a netip.Addr, sender, rcpt string) string {
	return "grey:t:" + Network(a) + "|" + strings.ToLower(sender) + "|" + strings.ToLower(rcpt)
}

func awlKey(a netip.Addr) string { return "grey:awl:" + Network(a) }

type state int

const (
	stNew state = iota
	stEarly
	stStale
	stPass
	stKnown
)

// Run implements scoring.Check.
func (c *Check) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	a := tx.Client.Addr
	if !a.IsValid() || tx.Rcpt == "" {
		return nil
	}
	start := time.Now()
	if c.cfg.AutoWhitelist > 0 {
		v, _, err := c.cfg.Store.Get(ctx, awlKey(a))
		if err != nil {
			return err
		}
		if n, _ := store.ParseInt(v); n >= int64(c.cfg.AutoWhitelist) {
			r.Add(SymAWL, Network(a))
			c.cfg.Logger.Debug("greylist lookup", "net", Network(a), "result", "auto-whitelisted", "duration", time.Since(start))
			return nil
		}
	}
	now := c.cfg.Now()
	var st state
	var first int64
	err := c.cfg.Store.Update(ctx, TripletKey(a, tx.MailFrom, tx.Rcpt), func(old []byte) ([]byte, time.Duration, error) {
		f, passed, ok := parse(old)
		switch {
		case !ok:
			st, first = stNew, now.UnixMilli()
			return format(first, false), c.cfg.RetryWindow, nil
		case passed:
			st, first = stKnown, f
			return format(f, true), c.cfg.Expiry, nil
		case now.Sub(time.UnixMilli(f)) < c.cfg.Delay:
			st, first = stEarly, f
			return nil, 0, store.ErrNoChange
		case now.Sub(time.UnixMilli(f)) > c.cfg.RetryWindow:
			st, first = stStale, now.UnixMilli()
			return format(first, false), c.cfg.RetryWindow, nil
		default:
			st, first = stPass, f
			return format(f, true), c.cfg.Expiry, nil
		}
	})
	c.cfg.Logger.Debug("greylist lookup", "net", Network(a), "from", tx.MailFrom, "rcpt", tx.Rcpt, "state", int(st), "duration", time.Since(start), "error", err)
	if err != nil {
		return err
	}
	switch st {
	case stPass:
		if c.cfg.AutoWhitelist > 0 {
			if _, err := c.cfg.Store.Incr(ctx, awlKey(a), 1, c.cfg.Expiry); err != nil {
				c.cfg.Logger.Warn("greylist auto-whitelist count failed", "net", Network(a), "error", err)
			}
		}
		r.Add(SymPassed, "delay="+now.Sub(time.UnixMilli(first)).Round(time.Second).String())
	case stKnown:
		r.Add(SymPassed)
	default:
		wait := time.UnixMilli(first).Add(c.cfg.Delay).Sub(now).Round(time.Second)
		r.Add(SymGreylist, Network(a))
		r.Force(scoring.Tempfail, scoring.Reply{Code: 451, Enhanced: "4.7.1",
			Text: fmt.Sprintf("Greylisted, please try again in %d seconds", int(wait.Seconds()))},
			"greylisted triplet "+Network(a)+" <"+tx.MailFrom+"> <"+tx.Rcpt+">")
	}
	return nil
}

func format(first int64, passed bool) []byte {
	b := strconv.AppendInt(nil, first, 10)
	if passed {
		b = append(b, " passed"...)
	}
	return b
}

func parse(b []byte) (first int64, passed, ok bool) {
	if b == nil {
		return 0, false, false
	}
	s := string(b)
	s, passed = strings.CutSuffix(s, " passed")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, false // corrupt: start over
	}
	return n, passed, true
}
