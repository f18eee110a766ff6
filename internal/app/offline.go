package app

import (
	"context"
	"time"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

// Envelope is what `mailwarden check` is told about a message's delivery.
type Envelope struct {
	Client   scoring.Client
	MailFrom string
	Rcpts    []string
}

// Judge runs every stage of the engine on one message, as the milter would
// see it, and returns the transaction, the verdict and the modifications.
// Recipients refused at RCPT are dropped, as the MTA would.
func Judge(ctx context.Context, e *scoring.Engine, env Envelope, msg *message.Message) (*scoring.Transaction, *scoring.Verdict, *scoring.Changes) {
	tx := &scoring.Transaction{Front: scoring.FrontCheck, Client: env.Client, MailFrom: env.MailFrom, Start: time.Now(), Macros: map[string]string{}}
	e.Classify(tx)
	stop := func() bool { f := tx.Forced(); return f != nil && f.Action >= scoring.Tempfail }
	for _, st := range []scoring.Stage{scoring.StageConnect, scoring.StageHelo, scoring.StageMail} {
		if e.RunStage(ctx, st, tx); stop() {
			return tx, e.Verdict(tx), &scoring.Changes{}
		}
	}
	for _, r := range env.Rcpts {
		tx.Rcpt = r
		o := e.RunStage(ctx, scoring.StageRcpt, tx)
		tx.Rcpt = ""
		if o.Forced != nil && o.Forced.Action >= scoring.Tempfail {
			continue
		}
		tx.AcceptRcpt(r, o)
	}
	tx.Message = msg
	for _, st := range []scoring.Stage{scoring.StageHeaders, scoring.StageEOM} {
		if e.RunStage(ctx, st, tx); stop() {
			return tx, e.Verdict(tx), &scoring.Changes{}
		}
	}
	v := e.Verdict(tx)
	return tx, v, e.Modify(ctx, tx, v)
}
