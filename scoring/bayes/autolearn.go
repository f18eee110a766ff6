package bayes

import (
	"context"
	"fmt"
	"time"

	"github.com/mailwarden/mailwarden/scoring"
)

// AutoLearn configures learning from the verdict (SME UseBayesAutoLearn).
type AutoLearn struct {
	Enabled bool
	// ThresholdSpam (SME BayesAutoLearnThresholdSpam, 6.0): learn as spam
	// at or above this score (Bayes' own symbols left out).
	ThresholdSpam float64
	// ThresholdNonspam (SME BayesAutoLearnThresholdNonspam, 0.1): learn as
	// ham at or below it.
	ThresholdNonspam float64
	// MinHeaderPoints, MinBodyPoints: spam is learned only with at least
	// this many points from header checks and from body checks (as
	// SpamAssassin requires 3 and 3), so one kind of evidence alone never
	// trains the filter.
	MinHeaderPoints, MinBodyPoints float64
}

// DefaultAutoLearn is SME's and SpamAssassin's autolearn setting.
var DefaultAutoLearn = AutoLearn{Enabled: true, ThresholdSpam: 6.0, ThresholdNonspam: 0.1, MinHeaderPoints: 3, MinBodyPoints: 3}

// BodyPart is implemented by checks whose symbols may come from the body
// even though the check runs with the whole message (a rule engine mixing
// header and body rules). Without it, symbols of checks running at end of
// message count as body points and all others as header points.
type BodyPart interface {
	SymbolIsBody(symbol string) bool
}

// NoAutoLearn is implemented by checks whose symbols never count towards
// autolearn (SpamAssassin's tflags noautolearn): white- and blacklists,
// whose ±100 says who the sender claims to be, not what the message is (a
// forged whitelisted sender would otherwise teach spam as ham), and GTUBE.
type NoAutoLearn interface {
	NoAutoLearn(symbol string) bool
}

// SetChecks tells autolearn which checks exist, to sort their symbols into
// header and body points. Call it once, before the engine runs.
func (c *Check) SetChecks(checks []scoring.Check) {
	c.checks = make(map[string]scoring.Check, len(checks))
	for _, k := range checks {
		c.checks[k.Name()] = k
	}
}

var _ scoring.Observer = (*Check)(nil)

// Decide returns the class autolearn would learn a verdict as, and why; ok
// is false when the message is not a clear case.
func (c *Check) Decide(v *scoring.Verdict) (class Class, ok bool, why string) {
	al := c.cfg.AutoLearn
	var score, head, body float64
	for _, s := range v.Symbols {
		if IsBayesSymbol(s.Name) || c.noAutoLearn(s) {
			continue
		}
		score += s.Score
		if s.Score <= 0 {
			continue
		}
		if c.isBody(s) {
			body += s.Score
		} else {
			head += s.Score
		}
	}
	switch {
	case score >= al.ThresholdSpam && head >= al.MinHeaderPoints && body >= al.MinBodyPoints:
		return Spam, true, fmt.Sprintf("score %.2f (header %.2f, body %.2f) without Bayes >= %.2f", score, head, body, al.ThresholdSpam)
	case score <= al.ThresholdNonspam:
		return Ham, true, fmt.Sprintf("score %.2f without Bayes <= %.2f", score, al.ThresholdNonspam)
	case score >= al.ThresholdSpam:
		return Forget, false, fmt.Sprintf("score %.2f but header %.2f / body %.2f points, need %.0f / %.0f", score, head, body, al.MinHeaderPoints, al.MinBodyPoints)
	}
	return Forget, false, fmt.Sprintf("score %.2f between the thresholds", score)
}

func (c *Check) noAutoLearn(s scoring.Symbol) bool {
	k, ok := c.checks[s.Check].(NoAutoLearn)
	return ok && k.NoAutoLearn(s.Name)
}

func (c *Check) isBody(s scoring.Symbol) bool {
	k, ok := c.checks[s.Check]
	if !ok {
		return false
	}
	if bp, ok := k.(BodyPart); ok {
		return bp.SymbolIsBody(s.Name)
	}
	return k.Stage() == scoring.StageEOM
}

// Observe implements scoring.Observer: autolearn from the final verdict.
// A message already learned (by hand or earlier) is left as it is: autolearn
// never overrides what a user taught.
func (c *Check) Observe(ctx context.Context, tx *scoring.Transaction, v *scoring.Verdict) {
	if !c.cfg.AutoLearn.Enabled || tx.Message == nil || !v.Scanned || tx.Whitelisted() || v.Forced != nil {
		return
	}
	iv, ok := tx.Value(ValueItem)
	if !ok {
		return // Bayes did not see the message
	}
	it := iv.(Item)
	class, ok, why := c.Decide(v)
	if !ok {
		c.log.Trace("autolearn: not a clear case", "qid", tx.QueueID, "why", why)
		return
	}
	id, err := MessageID(tx.Message, c.cfg.Tokenizer.SubjectTag)
	if err != nil {
		c.log.Warn("autolearn: reading the message", "qid", tx.QueueID, "error", err)
		return
	}
	it.ID, it.Class = id, class
	if c.cfg.AsyncAutoLearn {
		// The background batch skips what was already learned; no store
		// read on the reply path.
		c.enqueue(it, tx.QueueID)
		return
	}
	prev, err := c.db.Class(ctx, it.ID)
	if err != nil {
		c.log.Warn("autolearn: store", "qid", tx.QueueID, "error", err)
		return
	}
	if prev != Forget {
		c.log.Debug("autolearn: already learned", "qid", tx.QueueID, "as", prev)
		return
	}
	out, err := c.db.Learn(ctx, []Item{it})
	if err != nil {
		c.log.Warn("autolearn: store", "qid", tx.QueueID, "error", err)
		return
	}
	c.log.Debug("autolearn", "qid", tx.QueueID, "class", class, "outcome", out[0], "why", why)
}

// Asynchronous autolearn limits: the queue bounds memory when the store is
// slow (items past it are dropped: autolearning is best effort); a batch
// gathers messages for autoLearnLinger (a learn commits hundreds of token
// pages whatever the batch size: without it the daemon spent 12 % more CPU
// per message on the inbound benchmark), at most autoLearnBatch of them.
const (
	autoLearnQueue  = 1000
	autoLearnBatch  = 100
	autoLearnLinger = 500 * time.Millisecond
)

func (c *Check) enqueue(it Item, qid string) {
	if !c.autoLearnQ.Offer(it) {
		c.log.Warn("autolearn queue full or closed; message not learned", "qid", qid)
	}
}

// learnBatch is the background autolearner's write (internal/writebehind):
// it learns what was queued since the last batch.
func (c *Check) learnBatch(batch []Item) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Learn skips messages already learned as that class; an autolearned
	// message never overrides what a user taught.
	var fresh []Item
	for _, it := range batch {
		if prev, err := c.db.Class(ctx, it.ID); err == nil && prev == Forget {
			fresh = append(fresh, it)
		}
	}
	if len(fresh) == 0 {
		return
	}
	if _, err := c.db.Learn(ctx, fresh); err != nil {
		c.log.Warn("autolearn: store", "messages", len(fresh), "error", err)
	} else {
		c.log.Debug("autolearn batch", "messages", len(fresh))
	}
}

// Close stops the background autolearner after writing what it holds.
func (c *Check) Close() error {
	c.autoLearnQ.Close()
	return nil
}
