package bayes

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/mime"
	"github.com/mailwarden/mailwarden/internal/writebehind"
	"github.com/mailwarden/mailwarden/scoring"
)

// Symbols and SpamAssassin's default scores (50_scores.cf, score set 3).
const (
	Sym00  = "BAYES_00"
	Sym05  = "BAYES_05"
	Sym20  = "BAYES_20"
	Sym40  = "BAYES_40"
	Sym50  = "BAYES_50"
	Sym60  = "BAYES_60"
	Sym80  = "BAYES_80"
	Sym95  = "BAYES_95"
	Sym99  = "BAYES_99"
	Sym999 = "BAYES_999"
)

// band is one probability range and its symbol.
type band struct {
	upTo   float64 // exclusive upper bound
	name   string
	weight float64
	desc   string
}

var bands = []band{
	{0.01, Sym00, -1.9, "Bayes spam probability is 0 to 1%"},
	{0.05, Sym05, -0.5, "Bayes spam probability is 1 to 5%"},
	{0.20, Sym20, -0.001, "Bayes spam probability is 5 to 20%"},
	{0.40, Sym40, -0.001, "Bayes spam probability is 20 to 40%"},
	{0.60, Sym50, 0.8, "Bayes spam probability is 40 to 60%"},
	{0.80, Sym60, 1.5, "Bayes spam probability is 60 to 80%"},
	{0.95, Sym80, 2.0, "Bayes spam probability is 80 to 95%"},
	{0.99, Sym95, 3.0, "Bayes spam probability is 95 to 99%"},
	{2, Sym99, 3.5, "Bayes spam probability is 99 to 100%"},
}

// sym999 is added on top of BAYES_99 from this probability, as in SpamAssassin.
const (
	p999      = 0.999
	weight999 = 0.2
)

// Symbols returns the symbols with their default weights.
func Symbols() []scoring.SymbolDef {
	out := make([]scoring.SymbolDef, 0, len(bands)+1)
	for _, b := range bands {
		out = append(out, scoring.SymbolDef{Name: b.name, Weight: b.weight, Description: b.desc})
	}
	return append(out, scoring.SymbolDef{Name: Sym999, Weight: weight999, Description: "Bayes spam probability is 99.9 to 100%"})
}

// SymbolFor returns the band symbol for a probability.
func SymbolFor(p float64) string {
	for _, b := range bands {
		if p < b.upTo {
			return b.name
		}
	}
	return Sym99
}

// IsBayesSymbol reports whether a symbol is one of ours (autolearn leaves
// them out of the score it judges by).
func IsBayesSymbol(name string) bool {
	if name == Sym999 {
		return true
	}
	for _, b := range bands {
		if b.name == name {
			return true
		}
	}
	return false
}

// Transaction values this check sets for later readers (autolearn, logs).
const (
	// ValueProb is the spam probability (float64), set when Bayes judged.
	ValueProb = "bayes.prob"
	// ValueItem is the message's prepared Item (its token hashes), set when
	// the message was tokenized, for autolearn. Its ID is left empty:
	// autolearn computes it only for a message it learns (it reads the
	// whole body).
	ValueItem = "bayes.item"
)

// Config of the check.
type Config struct {
	// MinSpam, MinHam: Bayes adds nothing until this many spam and ham
	// messages were learned (SpamAssassin bayes_min_spam_num/_ham_num: 200).
	MinSpam, MinHam uint64
	Tokenizer       Tokenizer
	Params          Params
	AutoLearn       AutoLearn
	// MaxSize: larger messages are not judged (SME's scanning limit,
	// [limits] scan_size_limit; spamc -s); 0 means no limit.
	MaxSize int64
	// AsyncAutoLearn learns autolearned messages in the background, in
	// batches, instead of on the message's reply path (a store commit, an
	// fsync on the embedded store, per learned message). The daemon sets it;
	// a crash loses at most the last batch, which is only autolearning.
	AsyncAutoLearn bool
}

// DefaultMin is SpamAssassin's bayes_min_spam_num and bayes_min_ham_num.
const DefaultMin = 200

// Check classifies each message at end of data.
type Check struct {
	cfg    Config
	db     *DB
	log    hclog.Logger
	checks map[string]scoring.Check // for autolearn: symbol → header or body

	// asynchronous autolearn (Config.AsyncAutoLearn)
	autoLearnQ *writebehind.Queue[Item]
}

var _ scoring.Check = (*Check)(nil)

// New returns the check reading db.
func New(cfg Config, db *DB, log hclog.Logger) *Check {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams
	}
	c := &Check{cfg: cfg, db: db, log: log}
	c.autoLearnQ = writebehind.New(autoLearnQueue, autoLearnBatch, c.learnBatch).Linger(autoLearnLinger)
	return c
}

// Name implements scoring.Check.
func (c *Check) Name() string { return "bayes" }

// Stage implements scoring.Check.
func (c *Check) Stage() scoring.Stage { return scoring.StageEOM }

// Symbols implements scoring.Check.
func (c *Check) Symbols() []scoring.SymbolDef { return Symbols() }

// Blocking implements scoring.Blocking: the store may be Redis or a file
// another process holds for a moment.
func (c *Check) Blocking() bool { return true }

// Judgement is the classifier's answer for one message.
type Judgement struct {
	Prob        float64
	Clues       []Clue
	NSpam, NHam uint64
	Ready       bool // enough messages learned to judge
}

// Classify judges a prepared message against the database.
func (c *Check) Classify(ctx context.Context, toks []string, hashes []uint64) (Judgement, error) {
	counts, nspam, nham, err := c.db.Lookup(ctx, hashes)
	if err != nil {
		return Judgement{}, err
	}
	j := Judgement{NSpam: nspam, NHam: nham, Ready: nspam >= c.cfg.MinSpam && nham >= c.cfg.MinHam}
	j.Prob, j.Clues = c.cfg.Params.Classify(toks, counts, nspam, nham)
	return j, nil
}

// Run implements scoring.Check.
func (c *Check) Run(ctx context.Context, tx *scoring.Transaction, r *scoring.Result) (err error) {
	if tx.Message == nil {
		return nil
	}
	if c.cfg.MaxSize > 0 && tx.Message.Size() > c.cfg.MaxSize {
		c.log.Debug("bayes skipped: message over the scan size limit", "qid", tx.QueueID, "size", tx.Message.Size(), "limit", c.cfg.MaxSize)
		return nil
	}
	start := time.Now()
	toks := c.cfg.Tokenizer.Tokens(FromParsed(tx.Message.Header.Fields, mime.Get(tx)))
	hashes := Hashes(toks)
	tx.SetValue(ValueItem, Item{Hashes: hashes})
	j, err := c.Classify(ctx, toks, hashes)
	defer func() {
		c.log.Debug("bayes lookup", "qid", tx.QueueID, "tokens", len(toks), "prob", fmt.Sprintf("%.4f", j.Prob),
			"nspam", j.NSpam, "nham", j.NHam, "ready", j.Ready, "error", err, "ms", time.Since(start).Milliseconds())
	}()
	if err != nil {
		return err
	}
	if !j.Ready {
		return nil
	}
	tx.SetValue(ValueProb, j.Prob)
	opt := fmt.Sprintf("%.4f", j.Prob)
	r.Add(SymbolFor(j.Prob), opt)
	if j.Prob >= p999 {
		r.Add(Sym999, opt)
	}
	return nil
}
