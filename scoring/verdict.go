package scoring

import (
	"fmt"
	"math"
	"strings"
)

// Levels turn a spam score into an action, as SME's spamassassin settings do.
type Levels struct {
	// TagLevel: at or above it the message is tagged (X-Spam-Flag, subject prefix).
	TagLevel float64
	// RejectLevel: at or above it the message is refused at end of data, if
	// RejectEnabled (SME rejects only with Sensitivity=custom).
	RejectLevel   float64
	RejectEnabled bool
	// RejectReply is what the client is told on a score rejection.
	RejectReply Reply
}

// Verdict is the engine's one decision on a message.
type Verdict struct {
	Action   Action   `json:"action"`
	Score    float64  `json:"score"`
	Required float64  `json:"required"` // the tag level
	Symbols  []Symbol `json:"symbols"`
	Reply    Reply    `json:"reply,omitzero"`
	// Reason says, for the log, why the action was chosen.
	Reason string `json:"reason"`
	// Forced is set when a check forced the action.
	Forced *Forced `json:"-"`
	// Scanned is set when the message content was seen (end of message).
	Scanned bool `json:"-"`
}

// IsSpam reports whether the score reached the tag level.
func (v *Verdict) IsSpam() bool { return v.Score >= v.Required }

// SymbolNames returns the symbol names, sorted as the Symbols are.
func (v *Verdict) SymbolNames() []string {
	out := make([]string, len(v.Symbols))
	for i, s := range v.Symbols {
		out[i] = s.Name
	}
	return out
}

// Verdict sums the transaction's symbols and decides. A forced action wins
// over the score when it is more severe.
func (e *Engine) Verdict(tx *Transaction) *Verdict {
	syms := tx.Symbols()
	SortSymbols(syms)
	score := 0.0
	for _, s := range syms {
		score += s.Score
	}
	score = math.Round(score*100) / 100
	lv := e.opts.Levels
	v := &Verdict{Score: score, Required: lv.TagLevel, Symbols: syms, Scanned: tx.Message != nil}
	switch {
	case lv.RejectEnabled && score >= lv.RejectLevel:
		v.Action = Reject
		v.Reply = lv.RejectReply
		if v.Reply.Code == 0 {
			v.Reply = Reply{Code: 550, Enhanced: "5.7.1", Text: "Message rejected as spam"}
		}
		v.Reason = fmt.Sprintf("score %.2f >= reject level %.2f", score, lv.RejectLevel)
	case score >= lv.TagLevel:
		v.Action = Tag
		v.Reason = fmt.Sprintf("score %.2f >= tag level %.2f", score, lv.TagLevel)
	default:
		v.Action = Accept
		v.Reason = "score below tag level"
	}
	if f := tx.Forced(); f != nil && f.Action >= v.Action {
		v.Action = f.Action
		v.Reply = f.Reply
		v.Forced = f
		v.Reason = f.Check + ": " + f.Reason
	}
	return v
}

// SummaryLine renders the per-message INFO log fields as key/value pairs.
func SummaryFields(tx *Transaction, v *Verdict) []any {
	names := make([]string, len(v.Symbols))
	for i, s := range v.Symbols {
		names[i] = fmt.Sprintf("%s(%.2f)", s.Name, s.Score)
	}
	client := tx.Client.Addr.String()
	if !tx.Client.Addr.IsValid() {
		client = "local"
	}
	fields := []any{
		"qid", tx.QueueID,
		"client", client,
		"helo", tx.Client.HELO,
		"profile", string(tx.Profile),
		"from", "<" + tx.MailFrom + ">",
		"rcpts", strings.Join(tx.Rcpts, ","),
		"action", v.Action.String(),
		"score", fmt.Sprintf("%.2f", v.Score),
		"symbols", strings.Join(names, ","),
		"reason", v.Reason,
	}
	// Outbound signing outcome: "signed d=… s=…" or why not.
	if d, ok := tx.Value("dkim.sign"); ok {
		fields = append(fields, "dkim", d)
	}
	return fields
}
