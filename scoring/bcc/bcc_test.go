package bcc

import (
	"context"
	"testing"

	"github.com/mailwarden/mailwarden/scoring"
)

func TestBCC(t *testing.T) {
	const archive = "archive@example.com"
	tests := []struct {
		name       string
		cfg        Config
		profile    scoring.Profile
		nonSMTP    bool
		rcpts      []string
		wantRcpt   bool
		wantHeader bool
	}{
		{"disabled", Config{Mailbox: archive}, scoring.ProfileLocal, false, []string{"b@example.org"}, false, false},
		{"all, inbound, invisible", Config{Enabled: true, Mailbox: archive}, scoring.ProfileRemote, false, []string{"b@example.com"}, true, false},
		{"all, cc mode", Config{Enabled: true, Mailbox: archive, Visible: true}, scoring.ProfileRemote, false, []string{"b@example.com"}, true, true},
		{"outgoing only skips inbound", Config{Enabled: true, Mailbox: archive, Outgoing: true}, scoring.ProfileRemote, false, []string{"b@example.com"}, false, false},
		{"outgoing only, authenticated", Config{Enabled: true, Mailbox: archive, Outgoing: true}, scoring.ProfileAuthenticated, false, []string{"b@example.org"}, true, false},
		{"outgoing only, sendmail(1)", Config{Enabled: true, Mailbox: archive, Outgoing: true, Visible: true}, scoring.ProfileRemote, true, []string{"b@example.org"}, true, true},
		{"already a recipient", Config{Enabled: true, Mailbox: archive}, scoring.ProfileLocal, false, []string{"b@example.org", "Archive@Example.com"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := &scoring.Transaction{Profile: tt.profile, NonSMTP: tt.nonSMTP, Rcpts: tt.rcpts}
			c := &scoring.Changes{}
			if err := New(tt.cfg).Modify(context.Background(), tx, &scoring.Verdict{}, c); err != nil {
				t.Fatal(err)
			}
			gotRcpt := len(c.AddRcpts) == 1 && c.AddRcpts[0] == archive
			if gotRcpt != tt.wantRcpt || (!tt.wantRcpt && len(c.AddRcpts) > 0) {
				t.Errorf("AddRcpts = %v, want archive added: %v", c.AddRcpts, tt.wantRcpt)
			}
			gotHeader := len(c.Headers) == 1 && c.Headers[0].Name == HeaderName && c.Headers[0].Value == archive
			if gotHeader != tt.wantHeader || (!tt.wantHeader && len(c.Headers) > 0) {
				t.Errorf("headers = %+v, want X-Copied-To: %v", c.Headers, tt.wantHeader)
			}
		})
	}
}
