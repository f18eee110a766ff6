package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/app"
	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/scoring"
)

// benchConfig is the mailwarden configuration of the full score: the
// shipped defaults with the repository's contrib/rules, Bayes on (autolearn
// off, so testing does not train), and the checks that need a live SMTP
// client, DNS or other daemons off (SpamAssassin runs with -L too).
// Attachment blocking is off as virus scanning is: it is SME's content
// policy ("block executable content", a reject whatever the spam score), not
// a spam score; left on it refuses a ham of the corpus carrying a Perl script.
const benchConfig = `
[rules]
paths = [%q]
profiles = ["local", "authenticated", "remote"]
[bayes]
autolearn = false
[bayes.learn]
enabled = false
[basic_headers]
action = "score"
[greylist]
enabled = false
[karma]
enabled = false
[load]
enabled = false
[rate_limit]
enabled = false
[virus]
enabled = false
[attachments]
enabled = false
[spamd]
enabled = false
[spf]
enabled = false
[dmarc]
enabled = false
[envelope.helo]
policy = "off"
[envelope.resolvable_fromhost]
enabled = false
`

// fullScore scores the test side with the default rules plus Bayes, through
// the same engine and stages as `mailwarden check`.
func (r *run) fullScore(storePath string) error {
	rulesDir, err := filepath.Abs(r.rulesDir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(rulesDir); err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	cfgPath := filepath.Join(r.work, "mailwarden-bench.toml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(benchConfig, rulesDir)), 0o644); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	st, err := store.OpenBolt(storePath, store.BoltOptions{})
	if err != nil {
		return err
	}
	defer st.Close()
	e, err := app.BuildEngine(cfg, app.Deps{Logger: hclog.NewNullLogger(), Store: st})
	if err != nil {
		return err
	}
	var names []string
	for _, c := range e.Checks() {
		names = append(names, c.Name())
	}
	tag, _, _ := cfg.Spam.EffectiveLevels()
	sys := system{Name: "mailwarden full (default rules + Bayes)", Threshold: tag, Level: fmt.Sprintf("tag_level %.1f", tag)}
	rulesOnly := system{Name: "mailwarden default rules alone (no Bayes)", Threshold: tag, Level: fmt.Sprintf("tag_level %.1f", tag)}
	hits := make(map[string]int)
	var symTSV strings.Builder // symbols.tsv: what fired on each test message
	client := scoring.Client{Addr: netip.MustParseAddr("192.0.2.10"), Name: "unknown", HELO: "client.example.net"}
	for _, s := range r.test {
		env := app.Envelope{Client: client, MailFrom: addrOf(s.Msg.Header.Get("Return-Path"), s.Msg.Header.Get("From")), Rcpts: []string{"user@example.org"}}
		_, v, _ := app.Judge(context.Background(), e, env, s.Msg)
		sys.Scores = append(sys.Scores, scored{Spam: s.Spam, Group: s.Group, Score: v.Score})
		nb := 0.0
		fmt.Fprintf(&symTSV, "%s\t%v\t%g", s.Path, s.Spam, v.Score)
		for _, sym := range v.Symbols {
			fmt.Fprintf(&symTSV, "\t%s=%g", sym.Name, sym.Score)
			hits[sym.Name]++
			if !strings.HasPrefix(sym.Name, "BAYES_") {
				nb += sym.Score
			}
		}
		rulesOnly.Scores = append(rulesOnly.Scores, scored{Spam: s.Spam, Group: s.Group, Score: nb})
		symTSV.WriteString("\n")
	}
	if err := os.WriteFile(filepath.Join(r.work, "symbols.tsv"), []byte(symTSV.String()), 0o644); err != nil {
		logf("symbols.tsv: %v", err)
	}
	type kv struct {
		k string
		v int
	}
	var top []kv
	for k, v := range hits {
		top = append(top, kv{k, v})
	}
	sort.Slice(top, func(i, j int) bool { return top[i].v > top[j].v })
	var ts []string
	for i := 0; i < len(top) && i < 12; i++ {
		ts = append(ts, fmt.Sprintf("%s %d", top[i].k, top[i].v))
	}
	r.notes = append(r.notes, "mailwarden full-score checks: "+strings.Join(names, ", "),
		"most frequent symbols on the test side: "+strings.Join(ts, ", "))
	r.systems = append(r.systems, rulesOnly, sys)
	return nil
}

func addrOf(vals ...string) string {
	for _, v := range vals {
		if i := strings.LastIndexByte(v, '<'); i >= 0 {
			v = v[i+1:]
		}
		v = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(v), ">"))
		if strings.Contains(v, "@") && !strings.ContainsAny(v, " \t") {
			return v
		}
	}
	return ""
}
