package internalrcpt

import (
	"context"
	"testing"

	"github.com/mailwarden/mailwarden/scoring"
	"github.com/mailwarden/mailwarden/scoring/envlists/pattern"
)

// whitelister marks every message whitelisted at connect, as whitelisthosts does.
type whitelister struct{}

func (whitelister) Name() string                 { return "wl" }
func (whitelister) Stage() scoring.Stage         { return scoring.StageConnect }
func (whitelister) Symbols() []scoring.SymbolDef { return nil }
func (whitelister) Run(_ context.Context, _ *scoring.Transaction, r *scoring.Result) error {
	r.Whitelist()
	return nil
}

func TestInternalOnly(t *testing.T) {
	l, errs := pattern.ParseList([]string{"everyone@", "staff@example.org", "@internal.example.org"})
	if errs != nil {
		t.Fatal(errs)
	}
	tests := []struct {
		name, rcpt  string
		profile     scoring.Profile
		whitelisted bool
		reject      bool
	}{
		{"remote to group", "everyone@example.org", scoring.ProfileRemote, false, true},
		{"remote to group other domain", "Everyone@example.net", scoring.ProfileRemote, false, true},
		{"remote to internal domain", "x@internal.example.org", scoring.ProfileRemote, false, true},
		{"remote to user", "bob@example.org", scoring.ProfileRemote, false, false},
		{"remote whitelisted still refused", "staff@example.org", scoring.ProfileRemote, true, true},
		{"local may write", "everyone@example.org", scoring.ProfileLocal, false, false},
		{"authenticated may write", "staff@example.org", scoring.ProfileAuthenticated, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := []scoring.Check{New(l)}
			if tt.whitelisted {
				checks = append([]scoring.Check{whitelister{}}, checks...)
			}
			e, err := scoring.New(scoring.Options{}, checks, nil)
			if err != nil {
				t.Fatal(err)
			}
			tx := &scoring.Transaction{Profile: tt.profile, MailFrom: "a@remote.example"}
			e.RunStage(context.Background(), scoring.StageConnect, tx)
			if tx.Whitelisted() != tt.whitelisted {
				t.Fatalf("whitelisted = %v", tx.Whitelisted())
			}
			tx.Rcpt = tt.rcpt
			o := e.RunStage(context.Background(), scoring.StageRcpt, tx)
			if got := o.Forced != nil; got != tt.reject {
				t.Fatalf("refused = %v, want %v", got, tt.reject)
			}
			if tt.reject {
				want := "550 5.7.1 <" + tt.rcpt + ">: Recipient address rejected: accepts mail from internal senders only"
				if o.Forced.Reply.String() != want {
					t.Errorf("reply %q, want %q", o.Forced.Reply.String(), want)
				}
			}
		})
	}
}
