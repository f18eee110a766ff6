package loadcheck

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailwarden/mailwarden/scoring"
)

func TestParseLoadavg(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{"0.52 0.58 0.59 1/467 12345\n", 0.52, false},
		{"12.00 3.1 1.0 5/100 1", 12, false},
		{"", 0, true},
		{"abc 1 1", 0, true},
		{"-1 1 1", 0, true},
		{"NaN 1 1", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLoadavg([]byte(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseLoadavg(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}

func TestRealProcLoadavg(t *testing.T) {
	if _, err := os.Stat(DefaultPath); err != nil {
		t.Skip("no /proc/loadavg on this system")
	}
	c := New(Config{MaxLoad: 7})
	if _, err := c.Load(); err != nil {
		t.Fatalf("reading %s: %v", DefaultPath, err)
	}
}

func TestDefer(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		max     float64
		profile scoring.Profile
		want    scoring.Action // forced action, Accept = none
		wantErr bool
	}{
		{"below", "3.00 1 1 1/1 1", 7, scoring.ProfileRemote, scoring.Accept, false},
		{"at the limit", "7.00 1 1 1/1 1", 7, scoring.ProfileRemote, scoring.Accept, false},
		{"above", "7.01 1 1 1/1 1", 7, scoring.ProfileRemote, scoring.Tempfail, false},
		{"above, local client", "20 1 1 1/1 1", 7, scoring.ProfileLocal, scoring.Accept, false},
		{"above, authenticated", "20 1 1 1/1 1", 7, scoring.ProfileAuthenticated, scoring.Accept, false},
		{"unreadable", "", 7, scoring.ProfileRemote, scoring.Accept, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "loadavg")
			if tt.file != "" {
				os.WriteFile(path, []byte(tt.file), 0o644)
			}
			c := New(Config{MaxLoad: tt.max, Path: path})
			e, err := scoring.New(scoring.Options{}, []scoring.Check{c}, nil)
			if err != nil {
				t.Fatal(err)
			}
			tx := &scoring.Transaction{Client: scoring.Client{Addr: netip.MustParseAddr("192.0.2.1")}, Profile: tt.profile}
			o := e.RunStage(context.Background(), scoring.StageConnect, tx)
			got := scoring.Accept
			if o.Forced != nil {
				got = o.Forced.Action
				if got == scoring.Tempfail && (o.Forced.Reply.Code != 451 || !tx.HasSymbol(SymLoadHigh)) {
					t.Fatalf("reply %+v symbols %v", o.Forced.Reply, tx.Symbols())
				}
			}
			if got != tt.want {
				t.Fatalf("action %v, want %v", got, tt.want)
			}
			if tt.wantErr != tx.HasSymbol(scoring.SymCheckError) {
				t.Fatalf("check error symbol: %v, want %v", tx.HasSymbol(scoring.SymCheckError), tt.wantErr)
			}
		})
	}
}
