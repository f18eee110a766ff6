// Package karma implements SME's karma setting (qpsmtpd's karma plugin):
// a per-client-IP history of nice and naughty messages kept in the state
// store, and a one-day refusal of hosts that have been naughty more often
// than nice.
//
// How a message counts (decided when the front-end hands the verdict to
// Engine.Observe; see scoring.Observer):
//
//   - naughty: the message was rejected or discarded (by any check but
//     karma itself), its score reached the spam tag level, or it collected
//     at least KarmaStrikes "strikes" — symbols weighing 1 or more (a DNS
//     list hit, a bad HELO, a missing header, ...);
//   - nice: none of that, and the content was seen and accepted (the
//     milter's end of message). The policy front-end only ever sees
//     refusals, so through it a client can only lose karma;
//   - neither: temporary failures (greylisting, load, rate limits), and
//     whitelisted messages.
//
// After a naughty message, a client whose naughty count exceeds its nice
// count by KarmaNegative or more is refused at connect for the penalty time
// (default one day, qpsmtpd's penalty_days 1). History is forgotten after
// [karma] expiry of silence. Karma runs for the remote profile only.
//
// Naughty judgements are written before the verdict is answered, so a
// penalty holds from the client's next connection; in the daemon, nice ones
// are written by a background writer (Config.AsyncNice), off the reply path,
// within a store write's time.
//
// Symbols (default weights): KARMA_PENALTY (0; the check rejects),
// KARMA_NAUGHTY (1.0; the history leans naughty), KARMA_NICE (-0.5; the
// history is nice by at least KarmaStrikes messages).
//
// Config: [karma] enabled (built-in default false; deploy/mailwarden.toml
// turns it on, as SME), negative (SME KarmaNegative, 2), strikes (SME
// KarmaStrikes, 3), penalty ("24h"), expiry ("1440h"). Needs the state store
// ([store]); `mailwarden karma list|show|forget` inspects and clears it.
package karma

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/writebehind"
	"github.com/mailwarden/mailwarden/scoring"
)

// Symbols.
const (
	SymPenalty = "KARMA_PENALTY"
	SymNaughty = "KARMA_NAUGHTY"
	SymNice    = "KARMA_NICE"
)

// strikeWeight: a symbol weighing at least this much is a strike.
const strikeWeight = 1.0

// Config of the check.
type Config struct {
	Store    store.Store
	Negative int           // SME KarmaNegative
	Strikes  int           // SME KarmaStrikes
	Penalty  time.Duration // how long a naughty host is refused
	Expiry   time.Duration // history kept after the last message
	Logger   hclog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// AsyncNice writes nice judgements in the background (the daemon sets
	// it): a store write costs a commit with fsync on the embedded store
	// or a round trip to Redis, and delivered ham is most of the mail, so
	// it is kept off the SMTP reply path. The writer takes whatever is
	// queued and writes it at once (no waiting for a batch to fill), so a
	// nice message counts within a store write's time. Naughty judgements
	// are always written before the verdict is answered: a penalty must be
	// in force for the client's next connection, on every instance.
	AsyncNice bool
}

// Record is a client's history as stored under "karma:IP".
type Record struct {
	Nice         int   `json:"nice"`
	Naughty      int   `json:"naughty"`
	PenaltyUntil int64 `json:"penalty_until,omitempty"` // Unix seconds
	Last         int64 `json:"last"`
}

// Check is the karma check.
type Check struct {
	cfg Config

	// nice is the background writer of nice judgements (Config.AsyncNice).
	nice *writebehind.Queue[niceUpdate]
}

// niceUpdate is a nice judgement waiting for the background writer.
type niceUpdate struct {
	addr netip.Addr
	at   time.Time
}

var (
	_ scoring.Check    = (*Check)(nil)
	_ scoring.Observer = (*Check)(nil)
	_ scoring.Profiled = (*Check)(nil)
	_ scoring.Blocking = (*Check)(nil)
	_ scoring.Closer   = (*Check)(nil)
)

// New returns the check.
func New(cfg Config) *Check {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	c := &Check{cfg: cfg}
	c.nice = writebehind.New(niceQueueSize, niceBatchMax, c.writeBatch)
	return c
}

func (c *Check) Name() string                       { return "karma" }
func (c *Check) Stage() scoring.Stage               { return scoring.StageConnect }
func (c *Check) DefaultProfiles() []scoring.Profile { return []scoring.Profile{scoring.ProfileRemote} }
func (c *Check) Blocking() bool                     { return true }

func (c *Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{
		{Name: SymPenalty, Weight: 0, Description: "Client is in the karma penalty box"},
		{Name: SymNaughty, Weight: 1.0, Description: "Client has sent more naughty than nice mail"},
		{Name: SymNice, Weight: -0.5, Description: "Client has a history of nice mail"},
	}
}

// Key returns the store key of a client's history.
func Key(a netip.Addr) string { return "karma:" + a.Unmap().String() }

// Lookup returns a client's history (zero when none).
func Lookup(ctx context.Context, s store.Store, a netip.Addr) (Record, error) {
	var r Record
	b, ok, err := s.Get(ctx, Key(a))
	if err != nil || !ok {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("karma: bad record for %s: %w", a, err)
	}
	return r, nil
}

// Run implements scoring.Check.
func (c *Check) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	a := tx.Client.Addr
	if !a.IsValid() {
		return nil
	}
	start := time.Now()
	rec, err := Lookup(ctx, c.cfg.Store, a)
	c.cfg.Logger.Debug("karma lookup", "client", a, "nice", rec.Nice, "naughty", rec.Naughty, "error", err, "duration", time.Since(start))
	if err != nil {
		return err
	}
	now := c.cfg.Now()
	if rec.PenaltyUntil > now.Unix() {
		left := time.Unix(rec.PenaltyUntil, 0).Sub(now).Round(time.Minute)
		r.Add(SymPenalty, "naughty="+strconv.Itoa(rec.Naughty), "nice="+strconv.Itoa(rec.Nice))
		r.Force(scoring.Reject, scoring.Reply{Code: 550, Enhanced: "5.7.1",
			Text: "You were naughty. You are refused for " + left.String() + " more."},
			fmt.Sprintf("karma penalty: naughty=%d nice=%d until %s", rec.Naughty, rec.Nice, time.Unix(rec.PenaltyUntil, 0).UTC().Format(time.RFC3339)))
		return nil
	}
	switch {
	case rec.Naughty > rec.Nice:
		r.Add(SymNaughty, "naughty="+strconv.Itoa(rec.Naughty), "nice="+strconv.Itoa(rec.Nice))
	case rec.Nice-rec.Naughty >= c.cfg.Strikes:
		r.Add(SymNice, "naughty="+strconv.Itoa(rec.Naughty), "nice="+strconv.Itoa(rec.Nice))
	}
	return nil
}

// Judge says how a verdict counts: +1 nice, -1 naughty, 0 neither.
func (c *Check) Judge(tx *scoring.Transaction, v *scoring.Verdict) int {
	if v.Forced != nil && v.Forced.Check == c.Name() {
		return 0 // our own refusal is not new evidence
	}
	if tx.Whitelisted() {
		return 0
	}
	switch v.Action {
	case scoring.Reject, scoring.Discard:
		return -1
	case scoring.Tempfail:
		return 0
	}
	if v.Required > 0 && v.IsSpam() {
		return -1
	}
	strikes := 0
	for _, s := range v.Symbols {
		if s.Score >= strikeWeight {
			strikes++
		}
	}
	if strikes >= c.cfg.Strikes {
		return -1
	}
	if v.Scanned && v.Action == scoring.Accept {
		return +1
	}
	return 0
}

// Observe implements scoring.Observer: it adds the message to the client's
// history and puts a naughty client in the penalty box.
func (c *Check) Observe(ctx context.Context, tx *scoring.Transaction, v *scoring.Verdict) {
	a := tx.Client.Addr
	if !a.IsValid() {
		return
	}
	j := c.Judge(tx, v)
	if j == 0 {
		return
	}
	now := c.cfg.Now()
	if j > 0 && c.cfg.AsyncNice && c.nice.Offer(niceUpdate{addr: a, at: now}) {
		return
	}
	c.record(ctx, a, j, now, tx.QueueID)
}

// record adds judgements to a client's history in the store: j nice ones
// when j > 0, one naughty one when j < 0.
func (c *Check) record(ctx context.Context, a netip.Addr, j int, now time.Time, qid string) {
	var rec Record
	err := c.cfg.Store.Update(ctx, Key(a), func(old []byte) ([]byte, time.Duration, error) {
		rec = Record{}
		if old != nil {
			if err := json.Unmarshal(old, &rec); err != nil {
				rec = Record{} // a corrupt record starts over
			}
		}
		if j > 0 {
			rec.Nice += j
		} else {
			rec.Naughty++
			if rec.Naughty-rec.Nice >= c.cfg.Negative {
				rec.PenaltyUntil = now.Add(c.cfg.Penalty).Unix()
			}
		}
		rec.Last = now.Unix()
		b, err := json.Marshal(rec)
		return b, c.cfg.Expiry, err
	})
	if err != nil {
		c.cfg.Logger.Warn("karma update failed", "client", a, "error", err)
		return
	}
	if j < 0 && rec.PenaltyUntil == now.Add(c.cfg.Penalty).Unix() {
		c.cfg.Logger.Warn("client put in the karma penalty box", "client", a, "naughty", rec.Naughty, "nice", rec.Nice,
			"until", time.Unix(rec.PenaltyUntil, 0).UTC().Format(time.RFC3339), "qid", qid)
	} else {
		c.cfg.Logger.Debug("karma updated", "client", a, "nice", rec.Nice, "naughty", rec.Naughty)
	}
}

// Background writer limits: the queue bounds memory while the store is slow
// (a judgement past it is written on the reply path instead, so none is
// lost); one pass writes at most niceBatchMax judgements, one update per
// client, concurrently, so that the embedded store commits them in one
// transaction.
const (
	niceQueueSize = 10000
	niceBatchMax  = 1024
)

// writeBatch writes judgements: one store update per client, adding all of
// its nice messages at once (one busy relay can send most of the mail), and
// the clients' updates concurrently (bbolt's Batch folds concurrent updates
// into one commit; with Redis the round trips overlap).
func (c *Check) writeBatch(batch []niceUpdate) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type sum struct {
		n    int
		last time.Time
	}
	byClient := make(map[netip.Addr]*sum, len(batch))
	for _, u := range batch {
		s := byClient[u.addr]
		if s == nil {
			s = &sum{}
			byClient[u.addr] = s
		}
		s.n++
		if u.at.After(s.last) {
			s.last = u.at
		}
	}
	var wg sync.WaitGroup
	for a, s := range byClient {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.record(ctx, a, s.n, s.last, "")
		}()
	}
	wg.Wait()
}

// Close implements scoring.Closer: it writes what the background writer
// holds and stops it. Later judgements are written on the reply path.
func (c *Check) Close() error {
	c.nice.Close()
	return nil
}

// Entry is one client's history, for listings.
type Entry struct {
	Addr netip.Addr
	Record
}

// Penalized reports whether the client is in the penalty box at now.
func (r Record) Penalized(now time.Time) bool { return r.PenaltyUntil > now.Unix() }

// List returns every client with a history (bounded by the store's Scan).
func List(ctx context.Context, s store.Store) ([]Entry, error) {
	var out []Entry
	err := s.Scan(ctx, "karma:", func(key string, val []byte) error {
		a, err := netip.ParseAddr(key[len("karma:"):])
		if err != nil {
			return nil // not ours
		}
		var r Record
		if json.Unmarshal(val, &r) != nil {
			return nil
		}
		out = append(out, Entry{Addr: a, Record: r})
		return nil
	})
	return out, err
}

// Forget deletes a client's history (takes it out of the penalty box).
func Forget(ctx context.Context, s store.Store, a netip.Addr) error {
	return s.Delete(ctx, Key(a))
}
