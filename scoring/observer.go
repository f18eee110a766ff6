package scoring

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"
)

// Observer is implemented by checks that learn from the outcome of a message
// (karma counts good and bad messages per client). Front-ends call
// Engine.Observe once per message after the verdict: the milter at end of
// message (or when it refuses the message earlier), the policy server when
// it refuses a recipient (it never sees the end of the message).
type Observer interface {
	Observe(ctx context.Context, tx *Transaction, v *Verdict)
}

// observeBudget bounds the time an observer may take (a store write).
const observeBudget = 2 * time.Second

// Observe gives the verdict to every check that implements Observer and is
// enabled for the transaction's profile. Panics are logged and swallowed.
func (e *Engine) Observe(ctx context.Context, tx *Transaction, v *Verdict) {
	p := tx.Profile
	if p == "" {
		p = ProfileRemote
	}
	for _, c := range e.checks {
		o, ok := c.(Observer)
		if !ok || !e.enabled(c, p) {
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					e.log.Error("observer panicked", "check", c.Name(), "qid", tx.QueueID,
						"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				}
			}()
			octx, cancel := context.WithTimeout(ctx, observeBudget)
			defer cancel()
			o.Observe(octx, tx, v)
		}()
	}
	for _, o := range e.opts.Observers {
		o.Observe(ctx, tx, v)
	}
}

// CheckTimer receives how long each check took (metrics).
type CheckTimer interface {
	CheckDone(check string, stage Stage, d time.Duration, outcome string)
}
