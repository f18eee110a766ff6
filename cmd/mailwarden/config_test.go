package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigChecksListsStateChecks: `config checks` shows the checks that need
// the state store (karma, greylisting, rate limits, Bayes) where the daemon
// runs them, and leaves out the ones switched off.
func TestConfigChecksListsStateChecks(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "mailwarden.toml")
	err := os.WriteFile(conf, []byte(`
[server]
state_dir = "`+dir+`"
[karma]
enabled = true
[greylist]
enabled = true
[rate_limit]
enabled = true
[bayes]
enabled = false
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "config", "checks", conf)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	profiles := map[string]string{}
	var cur string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " ") {
			cur = strings.TrimSuffix(l, ":")
			continue
		}
		if cur != "" && strings.HasPrefix(l, "  ") {
			profiles[cur] += " " + strings.Join(strings.Fields(l), " ") + " "
		}
	}
	for _, tt := range []struct {
		profile, want string
	}{
		{"remote", " connect karma"},
		{"remote", " greylist "},
		{"authenticated", " rate_limit "},
	} {
		if !strings.Contains(profiles[tt.profile], tt.want) {
			t.Errorf("%s: %q lacks %q\n%s", tt.profile, profiles[tt.profile], tt.want, out)
		}
	}
	if strings.Contains(out, "bayes") {
		t.Errorf("bayes is off but listed:\n%s", out)
	}
}
