package scoring

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// fakeCheck is a configurable check for engine tests.
type fakeCheck struct {
	name     string
	stage    Stage
	syms     []SymbolDef
	run      func(ctx context.Context, tx *Transaction, r *Result) error
	needs    []string
	profiles []Profile
	blocking bool
	always   bool
}

func (c *fakeCheck) Name() string         { return c.name }
func (c *fakeCheck) Stage() Stage         { return c.stage }
func (c *fakeCheck) Symbols() []SymbolDef { return c.syms }
func (c *fakeCheck) Run(ctx context.Context, tx *Transaction, r *Result) error {
	return c.run(ctx, tx, r)
}
func (c *fakeCheck) Needs() []string { return c.needs }
func (c *fakeCheck) DefaultProfiles() []Profile {
	if c.profiles == nil {
		return AllProfiles
	}
	return c.profiles
}
func (c *fakeCheck) Blocking() bool  { return c.blocking }
func (c *fakeCheck) AlwaysRun() bool { return c.always }

func adds(sym string, w float64) *fakeCheck {
	return &fakeCheck{name: strings.ToLower(sym), stage: StageEOM, syms: []SymbolDef{{sym, w, "test " + sym}},
		run: func(_ context.Context, _ *Transaction, r *Result) error { r.Add(sym); return nil }}
}

func mustEngine(t *testing.T, opts Options, checks ...Check) *Engine {
	t.Helper()
	e, err := New(opts, checks, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func runAll(e *Engine, tx *Transaction) *Verdict {
	for st := StageConnect; st < numStages; st++ {
		o := e.RunStage(context.Background(), st, tx)
		if st == StageRcpt {
			tx.AcceptRcpt("r@example.org", o)
		}
	}
	return e.Verdict(tx)
}

func TestVerdictLevels(t *testing.T) {
	levels := Levels{TagLevel: 4, RejectLevel: 12, RejectEnabled: true}
	tests := []struct {
		name   string
		weight float64
		lv     Levels
		want   Action
	}{
		{"below tag", 3.9, levels, Accept},
		{"at tag", 4, levels, Tag},
		{"between", 11.9, levels, Tag},
		{"at reject", 12, levels, Reject},
		{"reject disabled", 50, Levels{TagLevel: 4, RejectLevel: 12}, Tag},
		{"negative", -5, levels, Accept},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustEngine(t, Options{Levels: tt.lv}, adds("SYM", tt.weight))
			v := runAll(e, &Transaction{})
			if v.Action != tt.want || v.Score != tt.weight {
				t.Fatalf("action %v score %.2f, want %v %.2f", v.Action, v.Score, tt.want, tt.weight)
			}
			if tt.want == Reject && v.Reply.Code != 550 {
				t.Errorf("reject reply %v", v.Reply)
			}
		})
	}
}

func TestWeightOverrideAndUnknownSymbol(t *testing.T) {
	e := mustEngine(t, Options{Levels: Levels{TagLevel: 4}, Weights: map[string]float64{"SYM": 7.5}}, adds("SYM", 1))
	if v := runAll(e, &Transaction{}); v.Score != 7.5 || v.Action != Tag {
		t.Fatalf("override not applied: %+v", v)
	}
	_, err := New(Options{Weights: map[string]float64{"NOPE": 1}}, []Check{adds("SYM", 1)}, nil)
	if err == nil || !strings.Contains(err.Error(), "unknown symbol NOPE") {
		t.Fatalf("unknown symbol weight: err = %v", err)
	}
}

func TestForcedActionWinsAndMostSevere(t *testing.T) {
	q := &fakeCheck{name: "q", stage: StageEOM, run: func(_ context.Context, _ *Transaction, r *Result) error {
		r.Force(Quarantine, Reply{}, "hold it")
		return nil
	}}
	rj := &fakeCheck{name: "rj", stage: StageEOM, run: func(_ context.Context, _ *Transaction, r *Result) error {
		r.Force(Reject, Reply{Code: 554, Enhanced: "5.7.1", Text: "virus"}, "found")
		return nil
	}}
	e := mustEngine(t, Options{Levels: Levels{TagLevel: 4}}, q, rj)
	v := runAll(e, &Transaction{})
	if v.Action != Reject || v.Reply.Code != 554 || v.Forced.Check != "rj" {
		t.Fatalf("got %v %v", v.Action, v.Reply)
	}
}

func TestProfiles(t *testing.T) {
	remoteOnly := adds("REMOTE", 1)
	remoteOnly.profiles = []Profile{ProfileRemote}
	everyone := adds("ALL", 1)
	cl := Classifier{LocalNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, SubmissionDaemons: []string{"ORIGINATING"}}
	tests := []struct {
		name   string
		client Client
		ov     map[Profile]ProfileOverride
		want   Profile
		syms   string
	}{
		{"remote", Client{Addr: netip.MustParseAddr("192.0.2.1")}, nil, ProfileRemote, "ALL,REMOTE"},
		{"local", Client{Addr: netip.MustParseAddr("10.1.2.3")}, nil, ProfileLocal, "ALL"},
		{"v4-mapped local", Client{Addr: netip.MustParseAddr("::ffff:10.1.2.3")}, nil, ProfileLocal, "ALL"},
		{"authenticated", Client{Addr: netip.MustParseAddr("192.0.2.1"), AuthUser: "bob"}, nil, ProfileAuthenticated, "ALL"},
		{"submission daemon", Client{Addr: netip.MustParseAddr("192.0.2.1"), DaemonName: "ORIGINATING"}, nil, ProfileAuthenticated, "ALL"},
		{"enabled for local", Client{Addr: netip.MustParseAddr("10.1.2.3")},
			map[Profile]ProfileOverride{ProfileLocal: {Enable: []string{"remote"}}}, ProfileLocal, "ALL,REMOTE"},
		{"disabled for remote", Client{Addr: netip.MustParseAddr("192.0.2.1")},
			map[Profile]ProfileOverride{ProfileRemote: {Disable: []string{"all"}}}, ProfileRemote, "REMOTE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustEngine(t, Options{Classifier: cl, Profiles: tt.ov, Levels: Levels{TagLevel: 100}}, remoteOnly, everyone)
			tx := &Transaction{Client: tt.client}
			if p := e.Classify(tx); p != tt.want {
				t.Fatalf("profile %s, want %s", p, tt.want)
			}
			v := runAll(e, tx)
			names := v.SymbolNames()
			sortStrings(names)
			if got := strings.Join(names, ","); got != tt.syms {
				t.Fatalf("symbols %s, want %s", got, tt.syms)
			}
		})
	}
	if _, err := New(Options{Profiles: map[Profile]ProfileOverride{ProfileLocal: {Enable: []string{"nope"}}}}, []Check{everyone}, nil); err == nil {
		t.Fatal("unknown check in a profile override accepted")
	}
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func TestDependenciesRunInOrder(t *testing.T) {
	var order []string
	mk := func(name string, needs ...string) *fakeCheck {
		return &fakeCheck{name: name, stage: StageEOM, needs: needs, run: func(_ context.Context, tx *Transaction, _ *Result) error {
			order = append(order, name)
			tx.SetValue(name, true)
			return nil
		}}
	}
	dmarc := mk("dmarc", "spf", "dkim")
	dmarc.run = func(_ context.Context, tx *Transaction, _ *Result) error {
		_, a := tx.Value("spf")
		_, b := tx.Value("dkim")
		if !a || !b {
			t.Error("dmarc ran before its dependencies")
		}
		order = append(order, "dmarc")
		return nil
	}
	e := mustEngine(t, Options{}, dmarc, mk("dkim"), mk("spf"))
	runAll(e, &Transaction{})
	if order[len(order)-1] != "dmarc" {
		t.Fatalf("order %v", order)
	}
	a, b := mk("a", "b"), mk("b", "a")
	if _, err := New(Options{}, []Check{a, b}, nil); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("cycle not detected: %v", err)
	}
}

func TestFailureModes(t *testing.T) {
	panics := &fakeCheck{name: "boom", stage: StageEOM, run: func(context.Context, *Transaction, *Result) error { panic("kaboom") }}
	fails := &fakeCheck{name: "fails", stage: StageEOM, run: func(context.Context, *Transaction, *Result) error { return errors.New("dns down") }}
	slow := &fakeCheck{name: "slow", stage: StageEOM, blocking: true, run: func(ctx context.Context, _ *Transaction, _ *Result) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
			return nil
		}
	}}
	stuck := &fakeCheck{name: "stuck", stage: StageEOM, blocking: true, run: func(context.Context, *Transaction, *Result) error {
		time.Sleep(3 * time.Second) // ignores its context
		return nil
	}}
	tests := []struct {
		name   string
		check  Check
		opts   Options
		action Action
		sym    string
	}{
		{"panic tempfails by config", panics, Options{OnPanic: Tempfail}, Tempfail, SymCheckPanic},
		{"panic skipped", panics, Options{OnPanic: Accept}, Accept, SymCheckPanic},
		{"error skipped", fails, Options{}, Accept, SymCheckError},
		{"error tempfails", fails, Options{OnError: Tempfail}, Tempfail, SymCheckError},
		{"timeout skipped", slow, Options{CheckTimeout: 50 * time.Millisecond}, Accept, SymCheckTimeout},
		{"timeout tempfails", slow, Options{CheckTimeout: 50 * time.Millisecond, OnTimeout: Tempfail}, Tempfail, SymCheckTimeout},
		{"stuck check abandoned", stuck, Options{CheckTimeout: 50 * time.Millisecond}, Accept, SymCheckTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Levels = Levels{TagLevel: 5}
			e := mustEngine(t, tt.opts, tt.check, adds("OTHER", 1))
			start := time.Now()
			v := runAll(e, &Transaction{})
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %v: the budget was not enforced", time.Since(start))
			}
			if v.Action != tt.action {
				t.Fatalf("action %v, want %v", v.Action, tt.action)
			}
			found := false
			for _, s := range v.Symbols {
				if s.Name == tt.sym && len(s.Options) == 1 && s.Options[0] == tt.check.Name() {
					found = true
				}
			}
			if !found {
				t.Fatalf("no %s(%s) in %v", tt.sym, tt.check.Name(), v.Symbols)
			}
			if !strings.Contains(strings.Join(v.SymbolNames(), ","), "OTHER") {
				t.Fatalf("the other check's result was lost: %v", v.Symbols)
			}
		})
	}
}

func TestWhitelistSkipsAllButAlwaysRun(t *testing.T) {
	wl := &fakeCheck{name: "wl", stage: StageMail, run: func(_ context.Context, _ *Transaction, r *Result) error { r.Whitelist(); return nil }}
	later := adds("LATER", 5)
	virus := adds("VIRUS", 100)
	virus.always = true
	e := mustEngine(t, Options{Levels: Levels{TagLevel: 4}}, wl, later, virus)
	v := runAll(e, &Transaction{})
	if got := strings.Join(v.SymbolNames(), ","); got != "VIRUS" {
		t.Fatalf("symbols %s, want VIRUS only", got)
	}
}

func TestNonSMTPNeverRefusedAtRcpt(t *testing.T) {
	rj := &fakeCheck{name: "rj", stage: StageRcpt, run: func(_ context.Context, _ *Transaction, r *Result) error {
		r.Force(Reject, Reply{}, "listed")
		return nil
	}}
	e := mustEngine(t, Options{}, rj)
	for _, nonSMTP := range []bool{false, true} {
		tx := &Transaction{NonSMTP: nonSMTP}
		o := e.RunStage(context.Background(), StageRcpt, tx)
		refused := o.Forced != nil && o.Forced.Action >= Tempfail
		if refused == nonSMTP {
			t.Errorf("NonSMTP=%v: refused=%v", nonSMTP, refused)
		}
	}
}

func TestRcptOutcomeMergedOnlyWhenAccepted(t *testing.T) {
	c := &fakeCheck{name: "c", stage: StageRcpt, syms: []SymbolDef{{"RCPT_SYM", 2, ""}}, run: func(_ context.Context, tx *Transaction, r *Result) error {
		r.Add("RCPT_SYM", tx.Rcpt)
		return nil
	}}
	e := mustEngine(t, Options{Levels: Levels{TagLevel: 10}}, c)
	tx := &Transaction{}
	tx.Rcpt = "a@x"
	e.RunStage(context.Background(), StageRcpt, tx) // refused by the MTA: not accepted
	if len(tx.Symbols()) != 0 {
		t.Fatal("rcpt outcome merged before AcceptRcpt")
	}
	tx.Rcpt = "b@x"
	tx.AcceptRcpt("b@x", e.RunStage(context.Background(), StageRcpt, tx))
	tx.Rcpt = "c@x"
	tx.AcceptRcpt("c@x", e.RunStage(context.Background(), StageRcpt, tx))
	if v := e.Verdict(tx); v.Score != 2 || len(tx.Rcpts) != 2 {
		t.Fatalf("score %.1f rcpts %v: a symbol must count once per message", v.Score, tx.Rcpts)
	}
}

func TestNextMessageKeepsConnectionState(t *testing.T) {
	conn := &fakeCheck{name: "conn", stage: StageConnect, syms: []SymbolDef{{"CONN", 1, ""}},
		run: func(_ context.Context, _ *Transaction, r *Result) error { r.Add("CONN"); return nil }}
	e := mustEngine(t, Options{Levels: Levels{TagLevel: 10}}, conn, adds("BODY", 2))
	first := &Transaction{Client: Client{Addr: netip.MustParseAddr("192.0.2.7"), HELO: "h"}}
	e.RunStage(context.Background(), StageConnect, first)
	e.RunStage(context.Background(), StageHelo, first)
	e.RunStage(context.Background(), StageEOM, first)
	next := first.NextMessage()
	if next.Client.Addr != first.Client.Addr || next.Client.HELO != "h" {
		t.Fatal("client data lost")
	}
	if got := strings.Join(e.Verdict(next).SymbolNames(), ","); got != "CONN" {
		t.Fatalf("next message symbols %q, want CONN only", got)
	}
}

func TestCurrentSwap(t *testing.T) {
	var c Current
	a := mustEngine(t, Options{}, adds("A", 1))
	b := mustEngine(t, Options{}, adds("B", 1))
	c.Store(a)
	held := c.Load()
	if prev := c.Store(b); prev != a {
		t.Fatal("Store did not return the previous engine")
	}
	if held != a || c.Load() != b {
		t.Fatal("swap broke the held engine")
	}
}

func TestLaterLayerSeesEarlierSymbols(t *testing.T) {
	first := adds("FIRST", 1)
	var saw bool
	meta := &fakeCheck{name: "meta", stage: StageEOM, needs: []string{"first"}, run: func(_ context.Context, tx *Transaction, _ *Result) error {
		saw = tx.HasSymbol("FIRST")
		return nil
	}}
	e := mustEngine(t, Options{Levels: Levels{TagLevel: 10}}, meta, first)
	v := runAll(e, &Transaction{})
	if !saw {
		t.Fatal("a dependent check did not see the symbol of the check it needs")
	}
	if v.Score != 1 {
		t.Fatalf("score %.1f: the symbol counted twice?", v.Score)
	}
}
