package wblist

import (
	"context"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"*@example.com", "alice@example.com", true},
		{"*@example.com", "alice@sub.example.com", false},
		{"*@*.example.com", "alice@sub.example.com", true},
		{"*@*.xyz", "x@spam.xyz", true},
		{"*@*.xyz", "x@spam.xyz.com", false},
		{"boss@example.org", "boss@example.org", true},
		{"b?ss@example.org", "bass@example.org", true},
		{"*", "anything", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
	}
	for _, tc := range tests {
		if got := Glob(tc.p, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

func TestCheck(t *testing.T) {
	c, err := New(Config{WhitelistFrom: []string{"*@Partner.example"}, BlacklistFrom: []string{"*@*.xyz"}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := scoring.New(scoring.Options{Weights: map[string]float64{SymBlacklist: 50}, Levels: scoring.Levels{TagLevel: 5}}, []scoring.Check{c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, hdr string
		score           float64
	}{
		{"envelope whitelisted", "news@partner.example", "From: x@other.example\r\n", -100},
		{"header whitelisted", "bounce@esp.example", "From: \"P\" <Alice@PARTNER.example>\r\n", -100},
		{"blacklisted with override", "a@spam.xyz", "From: a@spam.xyz\r\n", 50},
		{"neither", "a@b.example", "From: a@b.example\r\n", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := message.Parse(strings.NewReader(tc.hdr+"Subject: x\r\n\r\nbody\r\n"), 0, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			tx := &scoring.Transaction{MailFrom: tc.from, Message: m}
			e.RunStage(context.Background(), scoring.StageHeaders, tx)
			if v := e.Verdict(tx); v.Score != tc.score {
				t.Errorf("score %.1f, want %.1f (%v)", v.Score, tc.score, v.Symbols)
			}
		})
	}
}
