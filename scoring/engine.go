package scoring

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Options configure an engine; cmd/mailwarden builds them from the TOML file.
type Options struct {
	// CheckTimeout is each blocking check's time budget.
	CheckTimeout time.Duration
	// OnTimeout, OnError and OnPanic say what a check that times out, fails
	// or panics does to the message: Accept (skip the check, add a symbol)
	// or Tempfail.
	OnTimeout, OnError, OnPanic Action
	// Weights override symbol default weights ([scores] in the config).
	Weights map[string]float64
	// Profiles adjust which checks run for a profile.
	Profiles map[Profile]ProfileOverride
	// OtherChecks names checks that exist but are not in this engine
	// (switched off in their own section, or needing plumbing this process
	// lacks, as the store in `config check`): Profiles may name them, and
	// naming them does nothing.
	OtherChecks []string
	// Levels turn a score into an action.
	Levels Levels
	// Observers see every message's verdict, whatever its profile
	// (metrics, statistics); they must be fast and must not panic.
	Observers []Observer
	// Timer, if set, is told each check's duration and outcome.
	Timer CheckTimer
	// Classifier sorts clients into profiles.
	Classifier Classifier
	Logger     hclog.Logger
}

// ProfileOverride enables or disables checks for one profile, overriding
// each check's DefaultProfiles.
type ProfileOverride struct {
	Enable  []string
	Disable []string
}

// Outcome is what one stage found.
type Outcome struct {
	Symbols   []Symbol
	Forced    *Forced
	Whitelist bool
}

// Engine runs checks and turns their findings into a Verdict. An Engine is
// immutable once built; a reload builds a new one (see Current).
type Engine struct {
	opts    Options
	log     hclog.Logger
	checks  []Check
	mods    []Modifier
	defs    map[string]SymbolDef
	weights map[string]float64
	// plan[profile][stage] is the list of layers; the checks of one layer
	// may run concurrently, layers run in order (dependencies).
	plan map[Profile][numStages][][]Check
}

// New validates the checks and options and builds an engine.
func New(opts Options, checks []Check, mods []Modifier) (*Engine, error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = 10 * time.Second
	}
	e := &Engine{
		opts:    opts,
		log:     opts.Logger,
		checks:  checks,
		mods:    mods,
		defs:    make(map[string]SymbolDef),
		weights: make(map[string]float64),
		plan:    make(map[Profile][numStages][][]Check),
	}
	var errs []error
	names := make(map[string]Check)
	for _, d := range engineSymbols {
		e.defs[d.Name] = d
	}
	for _, c := range checks {
		if _, dup := names[c.Name()]; dup {
			errs = append(errs, fmt.Errorf("check %q configured twice", c.Name()))
			continue
		}
		names[c.Name()] = c
		for _, d := range c.Symbols() {
			if prev, dup := e.defs[d.Name]; dup && prev.Description != d.Description {
				errs = append(errs, fmt.Errorf("symbol %s declared by check %q and elsewhere", d.Name, c.Name()))
			}
			e.defs[d.Name] = d
		}
	}
	for name, d := range e.defs {
		e.weights[name] = d.Weight
	}
	var unknown []string
	for name, w := range opts.Weights {
		if _, ok := e.defs[name]; !ok {
			unknown = append(unknown, name)
			continue
		}
		e.weights[name] = w
	}
	sort.Strings(unknown)
	for _, u := range unknown {
		errs = append(errs, fmt.Errorf("[scores]: unknown symbol %s", u))
	}
	known := maps.Clone(names)
	for _, n := range opts.OtherChecks {
		if _, ok := known[n]; !ok {
			known[n] = nil
		}
	}
	for p, ov := range opts.Profiles {
		for _, n := range append(append([]string(nil), ov.Enable...), ov.Disable...) {
			if _, ok := known[n]; !ok {
				errs = append(errs, fmt.Errorf("[profiles.%s]: unknown check %q (known: %s)", p, n, strings.Join(sortedKeys(known), ", ")))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, p := range AllProfiles {
		var stages [numStages][][]Check
		for st := Stage(0); st < numStages; st++ {
			var list []Check
			for _, c := range checks {
				if c.Stage() == st && e.enabled(c, p) {
					list = append(list, c)
				}
			}
			layers, err := layer(list)
			if err != nil {
				return nil, err
			}
			stages[st] = layers
		}
		e.plan[p] = stages
	}
	return e, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (e *Engine) enabled(c Check, p Profile) bool {
	on := true
	if pc, ok := c.(Profiled); ok {
		on = false
		for _, dp := range pc.DefaultProfiles() {
			if dp == p {
				on = true
			}
		}
	}
	ov := e.opts.Profiles[p]
	for _, n := range ov.Enable {
		if n == c.Name() {
			on = true
		}
	}
	for _, n := range ov.Disable {
		if n == c.Name() {
			on = false
		}
	}
	return on
}

// layer orders the checks of one stage so that each runs after the checks it
// needs (Dependent). Needs naming checks not in the list are ignored: they
// ran in an earlier stage or are not enabled.
func layer(list []Check) ([][]Check, error) {
	in := make(map[string]bool, len(list))
	for _, c := range list {
		in[c.Name()] = true
	}
	done := make(map[string]bool)
	var layers [][]Check
	remaining := list
	for len(remaining) > 0 {
		var cur, next []Check
		for _, c := range remaining {
			ready := true
			if d, ok := c.(Dependent); ok {
				for _, n := range d.Needs() {
					if in[n] && !done[n] {
						ready = false
					}
				}
			}
			if ready {
				cur = append(cur, c)
			} else {
				next = append(next, c)
			}
		}
		if len(cur) == 0 {
			var names []string
			for _, c := range next {
				names = append(names, c.Name())
			}
			return nil, fmt.Errorf("checks depend on each other in a cycle: %s", strings.Join(names, ", "))
		}
		for _, c := range cur {
			done[c.Name()] = true
		}
		layers = append(layers, cur)
		remaining = next
	}
	return layers, nil
}

// Checks returns the engine's checks in configured order.
func (e *Engine) Checks() []Check { return e.checks }

// Weight returns the configured weight of a symbol.
func (e *Engine) Weight(name string) (float64, bool) {
	w, ok := e.weights[name]
	return w, ok
}

// SymbolDefs returns every symbol the engine knows, with configured weights.
func (e *Engine) SymbolDefs() []SymbolDef {
	out := make([]SymbolDef, 0, len(e.defs))
	for n, d := range e.defs {
		d.Weight = e.weights[n]
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Levels returns the configured levels.
func (e *Engine) Levels() Levels { return e.opts.Levels }

// Logger returns the engine's logger.
func (e *Engine) Logger() hclog.Logger { return e.log }

// RunStage runs the checks of one stage for tx. For every stage but
// StageRcpt the outcome is merged into the transaction at once; for
// StageRcpt the front-end calls tx.AcceptRcpt when it accepts the recipient,
// so that a refused recipient leaves no trace on the message.
//
// Mail submitted through sendmail(1) (tx.NonSMTP) is never rejected or
// tempfailed before end of message: such forced actions are logged and dropped.
func (e *Engine) RunStage(ctx context.Context, st Stage, tx *Transaction) *Outcome {
	out := &Outcome{}
	if tx.Profile == "" {
		tx.Profile = ProfileRemote
	}
	layers := e.plan[tx.Profile][st]
	for i, l := range layers {
		e.runLayer(ctx, st, tx, l, out)
		if out.Forced != nil && out.Forced.Action >= Tempfail {
			break
		}
		if st != StageRcpt && i < len(layers)-1 {
			// Later layers (checks that declared Needs, such as meta
			// rules over DKIM, DMARC and Bayes) see the symbols found so
			// far through tx.Symbols / tx.HasSymbol.
			tx.merge(&Outcome{Symbols: out.Symbols})
		}
		if out.Whitelist && st != StageRcpt {
			tx.mu.Lock()
			tx.whitelisted = true
			tx.mu.Unlock()
		}
	}
	if tx.NonSMTP && st <= StageRcpt && out.Forced != nil && out.Forced.Action >= Tempfail {
		e.log.Warn("not refusing locally submitted mail before end of message",
			"qid", tx.QueueID, "check", out.Forced.Check, "action", out.Forced.Action, "reason", out.Forced.Reason)
		out.Forced = nil
	}
	if st != StageRcpt {
		tx.merge(out)
	}
	if st == StageHelo || (st == StageConnect && len(e.plan[tx.Profile][StageHelo]) == 0) {
		tx.markConnectionDone()
	}
	return out
}

func (e *Engine) runLayer(ctx context.Context, st Stage, tx *Transaction, layer []Check, out *Outcome) {
	type pending struct {
		c    Check
		r    *Result
		done chan struct{}
		err  error
		pan  any
	}
	var blocking []*pending
	var wg sync.WaitGroup
	whitelisted := tx.Whitelisted() || (st == StageRcpt && out.Whitelist)
	for _, c := range layer {
		if whitelisted {
			if a, ok := c.(AlwaysRun); !ok || !a.AlwaysRun() {
				continue
			}
		}
		r := &Result{check: c.Name(), defs: e.defs, weights: e.weights}
		if b, ok := c.(Blocking); ok && b.Blocking() {
			p := &pending{c: c, r: r, done: make(chan struct{})}
			blocking = append(blocking, p)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(p.done)
				cctx, cancel := context.WithTimeout(ctx, e.opts.CheckTimeout)
				defer cancel()
				t0 := time.Now()
				p.err, p.pan = safeRun(cctx, c, tx, r)
				e.time(c, st, t0, p.err, p.pan)
			}()
			continue
		}
		t0 := time.Now()
		err, pan := safeRun(ctx, c, tx, r)
		e.time(c, st, t0, err, pan)
		e.collect(tx, c, r, err, pan, out)
	}
	if len(blocking) == 0 {
		return
	}
	// Wait for each blocking check until its budget (plus a grace period for
	// it to notice the cancelled context) is spent; a check that still has not
	// returned is abandoned and counted as a timeout.
	deadline := time.NewTimer(e.opts.CheckTimeout + 250*time.Millisecond)
	defer deadline.Stop()
	for _, p := range blocking {
		select {
		case <-p.done:
			err := p.err
			if errors.Is(err, context.DeadlineExceeded) {
				err = errTimeout
			}
			e.collect(tx, p.c, p.r, err, p.pan, out)
		case <-deadline.C:
			deadline.Reset(0)
			e.collect(tx, p.c, p.r, errTimeout, nil, out)
		case <-ctx.Done():
			e.collect(tx, p.c, p.r, ctx.Err(), nil, out)
		}
	}
}

var errTimeout = errors.New("time budget exceeded")

// time reports a check's duration to the configured timer.
func (e *Engine) time(c Check, st Stage, t0 time.Time, err error, pan any) {
	if e.opts.Timer == nil {
		return
	}
	outcome := "ok"
	switch {
	case pan != nil:
		outcome = "panic"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, errTimeout):
		outcome = "timeout"
	case err != nil:
		outcome = "error"
	}
	e.opts.Timer.CheckDone(c.Name(), st, time.Since(t0), outcome)
}

// panicError carries a recovered panic and its stack.
type panicError struct {
	value any
	stack []byte
}

func safeRun(ctx context.Context, c Check, tx *Transaction, r *Result) (err error, pan any) {
	defer func() {
		if v := recover(); v != nil {
			pan = panicError{value: v, stack: debug.Stack()}
		}
	}()
	return c.Run(ctx, tx, r), nil
}

func (e *Engine) collect(tx *Transaction, c Check, r *Result, err error, pan any, out *Outcome) {
	if pan != nil {
		pe := pan.(panicError)
		e.log.Error("check panicked", "check", c.Name(), "qid", tx.QueueID, "panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
		e.engineSymbol(out, SymCheckPanic, c.Name())
		e.failMode(out, c.Name(), e.opts.OnPanic, "check "+c.Name()+" panicked")
		return
	}
	if err != nil {
		if errors.Is(err, errTimeout) {
			e.log.Warn("check timed out", "check", c.Name(), "qid", tx.QueueID, "budget", e.opts.CheckTimeout)
			e.engineSymbol(out, SymCheckTimeout, c.Name())
			e.failMode(out, c.Name(), e.opts.OnTimeout, "check "+c.Name()+" timed out")
			return
		}
		e.log.Warn("check failed", "check", c.Name(), "qid", tx.QueueID, "error", err)
		e.engineSymbol(out, SymCheckError, c.Name())
		e.failMode(out, c.Name(), e.opts.OnError, "check "+c.Name()+" failed: "+err.Error())
		// What the check found before failing still counts.
	}
	r.mu.Lock()
	out.Symbols = append(out.Symbols, r.symbols...)
	if r.forced != nil && (out.Forced == nil || r.forced.Action > out.Forced.Action) {
		out.Forced = r.forced
	}
	if r.whitelist {
		out.Whitelist = true
	}
	r.mu.Unlock()
}

func (e *Engine) engineSymbol(out *Outcome, name, check string) {
	d := e.defs[name]
	for i := range out.Symbols {
		if out.Symbols[i].Name == name {
			out.Symbols[i].Options = append(out.Symbols[i].Options, check)
			return
		}
	}
	out.Symbols = append(out.Symbols, Symbol{Name: name, Score: e.weights[name], Options: []string{check}, Description: d.Description})
}

func (e *Engine) failMode(out *Outcome, check string, a Action, reason string) {
	if a == Accept {
		return
	}
	f := &Forced{Action: a, Reply: DefaultReply(a), Check: check, Reason: reason}
	if out.Forced == nil || f.Action > out.Forced.Action {
		out.Forced = f
	}
}

// Current holds the engine in force. A reload swaps it atomically; a
// transaction keeps the engine it started with.
type Current struct{ p atomic.Pointer[Engine] }

// Load returns the engine in force.
func (c *Current) Load() *Engine { return c.p.Load() }

// Store replaces the engine in force and returns the previous one.
func (c *Current) Store(e *Engine) *Engine { return c.p.Swap(e) }

// Classifier decides a client's peer profile, as SME does: authenticated
// clients, then hosts in the local networks or connecting to a submission
// service, then everybody else.
type Classifier struct {
	LocalNetworks     []netip.Prefix
	SubmissionDaemons []string
}

// Profile returns the profile of a client.
func (c Classifier) Profile(cl Client) Profile {
	if cl.AuthUser != "" {
		return ProfileAuthenticated
	}
	for _, d := range c.SubmissionDaemons {
		if d != "" && strings.EqualFold(d, cl.DaemonName) {
			return ProfileAuthenticated
		}
	}
	if cl.Addr.IsValid() {
		a := cl.Addr.Unmap()
		for _, p := range c.LocalNetworks {
			if p.Contains(a) {
				return ProfileLocal
			}
		}
	}
	return ProfileRemote
}

// Classify sets tx.Profile from its client data with the engine's classifier.
func (e *Engine) Classify(tx *Transaction) Profile {
	tx.Profile = e.opts.Classifier.Profile(tx.Client)
	tx.LocalNetworks = e.opts.Classifier.LocalNetworks
	return tx.Profile
}

// Plan returns, for a profile, the names of the checks that run at each
// stage, in order (what `mailwarden config checks` prints).
func (e *Engine) Plan(p Profile) map[Stage][]string {
	out := make(map[Stage][]string)
	for st := Stage(0); st < numStages; st++ {
		for _, l := range e.plan[p][st] {
			for _, c := range l {
				out[st] = append(out[st], c.Name())
			}
		}
	}
	return out
}

// Stages lists the stages in order.
func Stages() []Stage {
	out := make([]Stage, numStages)
	for i := range out {
		out[i] = Stage(i)
	}
	return out
}

// Modifiers returns the names of the modifiers in the order they apply.
func (e *Engine) Modifiers() []string {
	out := make([]string, len(e.mods))
	for i, m := range e.mods {
		out[i] = m.Name()
	}
	return out
}
