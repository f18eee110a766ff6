package config

import (
	"strings"
	"testing"
)

func TestBayesSection(t *testing.T) {
	tests := []struct {
		name, toml, wantErr string
	}{
		{"defaults", "", ""},
		{"sme thresholds", "[bayes]\nautolearn_threshold_spam = 8.0\nautolearn_threshold_nonspam = -1.0\n", ""},
		{"negative minimum", "[bayes]\nmin_spam = -1\n", "x.toml:2: bayes.min_spam:"},
		{"thresholds crossed", "[bayes]\nautolearn_threshold_spam = 1.0\nautolearn_threshold_nonspam = 2.0\n", "bayes.autolearn_threshold_nonspam: must be below"},
		{"relative glob", "[bayes.learn]\nmaildirs = [\"users/*/Maildir\"]\n", "x.toml:2: bayes.learn.maildirs:"},
		{"folder with slash", "[bayes.learn]\nspam_folder = \"a/b\"\n", "bayes.learn.spam_folder: invalid folder name"},
		{"same folders", "[bayes.learn]\nham_folder = \".LearnAsSpam\"\n", "bayes.learn.ham_folder: must differ"},
		{"retention negative", "[bayes.learn]\nmessage_retention_time = -5\n", "bayes.learn.message_retention_time:"},
		{"unknown key", "[bayes]\nuse_bayes = true\n", "bayes.use_bayes: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("x.toml", []byte(tt.toml))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if c.Bayes.MinSpam != 200 || c.Bayes.Learn.SpamFolder != ".LearnAsSpam" {
					t.Errorf("defaults lost: %+v", c.Bayes)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
