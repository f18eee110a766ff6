package app

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/store/storetest"
)

// everyCheckOn switches on every check BuildEngine can wire (none of them
// is asked anything: the engine is only built).
const everyCheckOn = `
[server]
state_dir = "%s"
[rules]
paths = ["%s"]
[spamd]
enabled = true
[envelope.dnsbl]
enabled = true
[envelope.rhsbl]
enabled = true
[envelope.uribl]
enabled = true
[envelope.lists]
badmailfrom = ["a@bad.example"]
badrcptto = ["b@"]
badmailfromto = [["@bad.example", "c@"]]
whitelisthosts = ["192.0.2.1"]
whitelisthelo = ["good.example"]
whitelistsenders = ["d@good.example"]
[envelope.internal]
recipients = ["staff@"]
[karma]
enabled = true
[load]
enabled = true
[rate_limit]
enabled = true
[greylist]
enabled = true
[bayes]
enabled = true
[virus]
enabled = true
clamd = "inet:127.0.0.1:1"
`

// TestCheckNamesCoverWiring: every check a config can switch on is in
// CheckNames, and a profile may name any of CheckNames even where the check
// is not built (here: no store, so no karma, greylisting, rate limits or
// Bayes, as in `config check`).
func TestCheckNamesCoverWiring(t *testing.T) {
	dir := t.TempDir()
	rules := writeTemp(t, dir, "local.cf", "body LOCAL_X /cheap meds/i\nscore LOCAL_X 2.5\n")
	cfgPath := writeTemp(t, dir, "all.toml", fmt.Sprintf(everyCheckOn, dir, rules))
	_, e, err := LoadEngine(cfgPath, Deps{Store: storetest.Bolt(t)})
	if err != nil {
		t.Fatal(err)
	}
	var built []string
	for _, c := range e.Checks() {
		built = append(built, c.Name())
		if !slices.Contains(CheckNames, c.Name()) {
			t.Errorf("check %q is wired but not in CheckNames", c.Name())
		}
	}
	for _, n := range CheckNames {
		if !slices.Contains(built, n) {
			t.Errorf("CheckNames has %q, which no config built here (built: %v)", n, built)
		}
	}

	for _, n := range DNSCheckNames {
		if !slices.Contains(CheckNames, n) {
			t.Errorf("DNSCheckNames has %q, which is not in CheckNames", n)
		}
	}

	quoted := make([]string, len(CheckNames))
	for i, n := range CheckNames {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	profiles := writeTemp(t, dir, "profiles.toml", fmt.Sprintf("[server]\nstate_dir = %q\n[karma]\nenabled = false\n"+
		"[profiles.remote]\ndisable = [%s]\n[profiles.local]\nenable = [\"karma\"]\n", dir, strings.Join(quoted, ", ")))
	if _, _, err := LoadEngine(profiles, Deps{}); err != nil {
		t.Fatalf("profiles naming checks that are not built: %v", err)
	}
	bad := writeTemp(t, dir, "bad.toml", fmt.Sprintf("[server]\nstate_dir = %q\n[profiles.remote]\ndisable = [\"karmaa\"]\n", dir))
	if _, _, err := LoadEngine(bad, Deps{}); err == nil || !strings.Contains(err.Error(), `unknown check "karmaa"`) {
		t.Fatalf("misspelt check name: err = %v", err)
	}
}
