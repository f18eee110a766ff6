package scoring

import (
	"context"
	"testing"
)

type observing struct {
	name     string
	profiles []Profile
	seen     []Action
	panics   bool
}

func (o *observing) Name() string                                     { return o.name }
func (o *observing) Stage() Stage                                     { return StageMail }
func (o *observing) Symbols() []SymbolDef                             { return nil }
func (o *observing) Run(context.Context, *Transaction, *Result) error { return nil }
func (o *observing) DefaultProfiles() []Profile                       { return o.profiles }
func (o *observing) Observe(_ context.Context, _ *Transaction, v *Verdict) {
	if o.panics {
		panic("observer boom")
	}
	o.seen = append(o.seen, v.Action)
}

func TestObserve(t *testing.T) {
	tests := []struct {
		name    string
		profile Profile
		want    int // observations by the remote-only observer
	}{
		{"remote sees it", ProfileRemote, 1},
		{"local is skipped", ProfileLocal, 0},
		{"empty profile counts as remote", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remote := &observing{name: "remote_only", profiles: []Profile{ProfileRemote}}
			bad := &observing{name: "panicky", profiles: AllProfiles, panics: true}
			e, err := New(Options{}, []Check{bad, remote}, nil)
			if err != nil {
				t.Fatal(err)
			}
			tx := &Transaction{Profile: tt.profile}
			e.Observe(context.Background(), tx, &Verdict{Action: Reject})
			if len(remote.seen) != tt.want {
				t.Fatalf("observed %d times, want %d", len(remote.seen), tt.want)
			}
			if tt.want > 0 && remote.seen[0] != Reject {
				t.Fatalf("observed action %v", remote.seen[0])
			}
		})
	}
}
