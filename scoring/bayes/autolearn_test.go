package bayes

import (
	"context"
	"testing"

	"github.com/mailwarden/mailwarden/internal/store/storetest"
	"github.com/mailwarden/mailwarden/scoring"
)

// fixed adds one symbol of a fixed weight at a stage.
type fixed struct {
	name  string
	stage scoring.Stage
	w     float64
}

func (f *fixed) Name() string         { return f.name }
func (f *fixed) Stage() scoring.Stage { return f.stage }
func (f *fixed) Symbols() []scoring.SymbolDef {
	return []scoring.SymbolDef{{Name: "SYM_" + f.name, Weight: f.w, Description: f.name}}
}
func (f *fixed) Run(context.Context, *scoring.Transaction, *scoring.Result) error { return nil }

type adding struct{ *fixed }

func (a adding) Run(_ context.Context, _ *scoring.Transaction, r *scoring.Result) error {
	r.Add("SYM_" + a.name)
	return nil
}

// listed is a white/blacklist-like check: its symbols are noautolearn.
type listed struct{ adding }

func (listed) NoAutoLearn(string) bool { return true }

func TestAutoLearn(t *testing.T) {
	tests := []struct {
		name       string
		head, body float64
		list       float64 // a noautolearn check's symbol (whitelist_from -100, blacklist_from +100)
		want       Class
	}{
		{"clear spam: 3.5 header + 3.5 body", 3.5, 3.5, 0, Spam},
		{"high score from headers only is not learned", 7, 0.5, 0, Forget},
		{"high score from body only is not learned", 0.5, 7, 0, Forget},
		{"clean message learned as ham", 0, 0, 0, Ham},
		{"in between is not learned", 1, 1, 0, Forget},
		{"spammy but whitelisted sender: not learned as ham", 3.5, 1, -100, Forget},
		{"clean but blacklisted sender: not learned as spam", 0, 0, 100, Ham},
		{"clear spam from a whitelisted sender is still spam", 3.5, 3.5, -100, Spam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storetest.Bolt(t)
			db := NewDB(s)
			// Pre-train so that Bayes judges (min 1/1) and would add its own
			// strong symbol: autolearn must not count it.
			learn(t, db, item("seed-s", Spam, "subject:hello"), item("seed-h", Ham, "unrelated"))
			bc := New(Config{MinSpam: 1, MinHam: 1, AutoLearn: DefaultAutoLearn}, db, nil)
			checks := []scoring.Check{
				adding{&fixed{"head", scoring.StageHeaders, tt.head}},
				adding{&fixed{"body", scoring.StageEOM, tt.body}},
				bc,
			}
			if tt.list != 0 {
				checks = append(checks, listed{adding{&fixed{"wblist", scoring.StageHeaders, tt.list}}})
			}
			bc.SetChecks(checks)
			e, err := scoring.New(scoring.Options{Levels: scoring.Levels{TagLevel: 5}}, checks, nil)
			if err != nil {
				t.Fatal(err)
			}
			tx := &scoring.Transaction{Profile: scoring.ProfileRemote, Message: parse(t, "Subject: hello\n\nsome body text here\n")}
			ctx := context.Background()
			e.RunStage(ctx, scoring.StageHeaders, tx)
			e.RunStage(ctx, scoring.StageEOM, tx)
			v := e.Verdict(tx)
			e.Observe(ctx, tx, v)
			id, _ := MessageID(tx.Message, "")
			got, err := db.Class(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("learned as %v, want %v (verdict %v %v)", got, tt.want, v.Score, v.SymbolNames())
			}
		})
	}
}

func TestAutoLearnNeverOverridesUser(t *testing.T) {
	s := storetest.Bolt(t)
	db := NewDB(s)
	ctx := context.Background()
	bc := New(Config{AutoLearn: DefaultAutoLearn}, db, nil)
	checks := []scoring.Check{bc}
	bc.SetChecks(checks)
	e, err := scoring.New(scoring.Options{Levels: scoring.Levels{TagLevel: 5}}, checks, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := parse(t, "Subject: x\n\nuser says spam\n")
	id, _ := MessageID(m, "")
	learn(t, db, Item{ID: id, Class: Spam, Hashes: Hashes([]string{"x"})})
	tx := &scoring.Transaction{Profile: scoring.ProfileRemote, Message: m}
	e.RunStage(ctx, scoring.StageEOM, tx)
	v := e.Verdict(tx) // score 0: would be autolearned as ham
	e.Observe(ctx, tx, v)
	if c, _ := db.Class(ctx, id); c != Spam {
		t.Errorf("autolearn moved a user-learned message to %v", c)
	}
}

func TestCheckSkipsOverScanLimit(t *testing.T) {
	tests := []struct {
		name    string
		maxSize int64
		judged  bool
	}{
		{"under the limit", 1 << 20, true},
		{"no limit", 0, true},
		{"over the limit", 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := NewDB(storetest.Bolt(t))
			learn(t, db, item("s", Spam, "subject:hello"), item("h", Ham, "x"))
			c := New(Config{MinSpam: 1, MinHam: 1, MaxSize: tt.maxSize}, db, nil)
			e, err := scoring.New(scoring.Options{}, []scoring.Check{c}, nil)
			if err != nil {
				t.Fatal(err)
			}
			tx := &scoring.Transaction{Profile: scoring.ProfileRemote, Message: parse(t, "Subject: hello\n\nbody words here\n")}
			e.RunStage(context.Background(), scoring.StageEOM, tx)
			_, judged := tx.Value(ValueProb)
			if judged != tt.judged || (len(tx.Symbols()) > 0) != tt.judged {
				t.Errorf("judged=%v symbols=%v, want judged=%v", judged, tx.Symbols(), tt.judged)
			}
		})
	}
}

// TestAsyncAutoLearn: the daemon learns in the background, in batches; Close
// writes what is queued, and a user-learned message is still never moved.
func TestAsyncAutoLearn(t *testing.T) {
	s := storetest.Bolt(t)
	db := NewDB(s)
	ctx := context.Background()
	bc := New(Config{AutoLearn: DefaultAutoLearn, AsyncAutoLearn: true}, db, nil)
	checks := []scoring.Check{bc}
	bc.SetChecks(checks)
	e, err := scoring.New(scoring.Options{Levels: scoring.Levels{TagLevel: 5}}, checks, nil)
	if err != nil {
		t.Fatal(err)
	}
	userSpam := parse(t, "Subject: u\n\nthe user said spam\n")
	uid, _ := MessageID(userSpam, "")
	learn(t, db, Item{ID: uid, Class: Spam, Hashes: Hashes([]string{"u"})})
	var ids []MsgID
	for i, m := range []string{"Subject: a\n\nfirst clean text\n", "Subject: b\n\nsecond clean text\n", "Subject: u\n\nthe user said spam\n"} {
		tx := &scoring.Transaction{Profile: scoring.ProfileRemote, Message: parse(t, m)}
		e.RunStage(ctx, scoring.StageEOM, tx)
		e.Observe(ctx, tx, e.Verdict(tx)) // score 0: autolearn as ham
		if _, ok := tx.Value(ValueItem); !ok {
			t.Fatalf("message %d: no item", i)
		}
		id, _ := MessageID(tx.Message, "")
		ids = append(ids, id)
	}
	if err := bc.Close(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []Class{Ham, Ham, Spam} {
		if got, _ := db.Class(ctx, ids[i]); got != want {
			t.Errorf("message %d learned as %v, want %v", i, got, want)
		}
	}
	// After Close, Observe is a no-op rather than a panic.
	tx := &scoring.Transaction{Profile: scoring.ProfileRemote, Message: parse(t, "Subject: c\n\nlate\n")}
	e.RunStage(ctx, scoring.StageEOM, tx)
	e.Observe(ctx, tx, e.Verdict(tx))
}
