package scoring

import (
	"context"
	"sync"
)

// Check is one named unit of the rule engine. It runs at one stage, reads the
// transaction and adds symbols to r. It never decides accept or reject on its
// own account: when its configured mode says so, it calls r.Force.
type Check interface {
	// Name is the check's config name ("basic_headers", "spf", ...).
	Name() string
	// Stage is the earliest stage that has the check's data.
	Stage() Stage
	// Symbols lists every symbol the check may add, with default weights.
	Symbols() []SymbolDef
	// Run does the work. An error means the check could not decide (DNS
	// failure, store down); the engine applies the configured on_error mode.
	Run(ctx context.Context, tx *Transaction, r *Result) error
}

// Optional interfaces a Check may implement.
type (
	// Dependent checks run after the named checks of the same stage.
	Dependent interface{ Needs() []string }
	// Profiled checks run by default only for the profiles they list
	// (otherwise: all profiles). [profiles.NAME] enable/disable override.
	Profiled interface{ DefaultProfiles() []Profile }
	// Blocking checks wait on the network or disk; they run concurrently
	// with a deadline. Others run inline, one after another.
	Blocking interface{ Blocking() bool }
	// Closer checks hold resources released when an engine is replaced.
	Closer interface{ Close() error }
)

// Result collects what one check found. It is safe for concurrent use by
// the check's own goroutines.
type Result struct {
	check   string
	defs    map[string]SymbolDef
	weights map[string]float64

	mu        sync.Mutex
	symbols   []Symbol
	forced    *Forced
	whitelist bool
}

// Add adds a symbol with its configured weight. Adding a symbol the check did
// not declare panics in tests and is a programming error.
func (r *Result) Add(name string, options ...string) {
	w, ok := r.weights[name]
	if !ok {
		panic("scoring: check " + r.check + " added undeclared symbol " + name)
	}
	r.add(Symbol{Name: name, Score: w, Options: options, Description: r.defs[name].Description, Check: r.check})
}

// AddScaled adds a symbol whose weight is multiplied by factor (as rspamd's
// dynamic scores: a Bayes probability, a list's return code weight).
func (r *Result) AddScaled(name string, factor float64, options ...string) {
	w, ok := r.weights[name]
	if !ok {
		panic("scoring: check " + r.check + " added undeclared symbol " + name)
	}
	r.add(Symbol{Name: name, Score: w * factor, Options: options, Description: r.defs[name].Description, Check: r.check})
}

func (r *Result) add(s Symbol) {
	r.mu.Lock()
	r.symbols = append(r.symbols, s)
	r.mu.Unlock()
}

// Force asks for an action regardless of the score (a virus, a DNS-list hit
// configured to reject). reason goes to the log; reply to the client. A zero
// reply gets the action's generic reply.
func (r *Result) Force(a Action, reply Reply, reason string) {
	if reply.Code == 0 {
		reply = DefaultReply(a)
	}
	r.mu.Lock()
	if r.forced == nil || a > r.forced.Action {
		r.forced = &Forced{Action: a, Reply: reply, Check: r.check, Reason: reason}
	}
	r.mu.Unlock()
}

// Symbols returns what was added so far.
func (r *Result) Symbols() []Symbol {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Symbol(nil), r.symbols...)
}

// Whitelist marks the message as whitelisted: the checks after this one skip
// it, but for checks implementing AlwaysRun (virus scanning, for one).
// Whitelisting never means "permit relay"; it only means "skip our checks".
func (r *Result) Whitelist() {
	r.mu.Lock()
	r.whitelist = true
	r.mu.Unlock()
}

// AlwaysRun checks run even for whitelisted messages.
type AlwaysRun interface{ AlwaysRun() bool }
