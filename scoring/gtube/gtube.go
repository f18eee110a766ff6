// Package gtube recognises GTUBE, the Generic Test for Unsolicited Bulk
// Email (https://spamassassin.apache.org/gtube/): a fixed string that every
// spam scanner scores far above any reject level, so that an admin can check
// the whole path (tagging, rejection, sorting) end to end.
//
// Symbol: GTUBE (default weight 1000). No configuration: it always runs at
// end of message, on the decoded text parts (as SpamAssassin does), and on
// the raw body as well so that it works when content scanning is skipped.
package gtube

import (
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/mailwarden/mailwarden/internal/mime"
	"github.com/mailwarden/mailwarden/scoring"
)

// String is the GTUBE test string.
const String = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

// Symbol is added when the message contains String.
const Symbol = "GTUBE"

// MaxRawScan bounds the raw-body scan: GTUBE test messages are tiny.
const MaxRawScan = 1 << 20

// Check is the GTUBE check.
type Check struct{}

var _ scoring.Check = (*Check)(nil)

func (Check) Name() string { return "gtube" }

// NoAutoLearn keeps the test string out of Bayes autolearn (bayes.NoAutoLearn),
// as SpamAssassin's GTUBE is noautolearn.
func (Check) NoAutoLearn(string) bool { return true }
func (Check) Stage() scoring.Stage    { return scoring.StageEOM }
func (Check) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{{Name: Symbol, Weight: 1000, Description: "GTUBE anti-spam test string"}}
}

// Run implements scoring.Check.
func (Check) Run(_ context.Context, tx *scoring.Transaction, r *scoring.Result) error {
	if tx.Message == nil {
		return nil
	}
	raw, _ := io.ReadAll(io.LimitReader(tx.Message.BodyReader(), MaxRawScan))
	if bytes.Contains(raw, []byte(String)) {
		r.Add(Symbol)
		return nil
	}
	for _, pt := range mime.Get(tx).Parts {
		if pt.IsText && strings.Contains(pt.Text, String) {
			r.Add(Symbol)
			return nil
		}
	}
	return nil
}
