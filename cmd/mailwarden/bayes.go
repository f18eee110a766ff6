package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mailwarden/mailwarden/internal/app"
	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/scoring/bayes"
)

// cmdBayes is `mailwarden bayes stats|reset|expire`: the token database
// SME admins know from `sa-learn --dump magic`, `--clear` and
// `--force-expire`.
func cmdBayes(args []string, stdout, stderr io.Writer) int {
	usage := func() int {
		fmt.Fprintln(stderr, "usage: mailwarden bayes stats [--json] [-c CONFIG]\n       mailwarden bayes reset [-c CONFIG]\n       mailwarden bayes expire [-c CONFIG]")
		return 2
	}
	if len(args) == 0 {
		return usage()
	}
	verb := args[0]
	fs := flag.NewFlagSet("bayes "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", defaultConfig, "policy file")
	asJSON := fs.Bool("json", false, "stats: print JSON")
	rest, err := parseInterspersed(fs, args[1:])
	if err != nil || len(rest) > 0 {
		return usage()
	}
	if verb != "stats" && verb != "reset" && verb != "expire" {
		return usage()
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	st, err := app.OpenStore(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "mailwarden bayes:", err)
		return 1
	}
	defer st.Close()
	db := bayes.NewDB(st)
	ctx := context.Background()
	switch verb {
	case "reset":
		if err := db.Reset(ctx); err != nil {
			fmt.Fprintln(stderr, "mailwarden bayes reset:", err)
			return 1
		}
		fmt.Fprintln(stdout, "Bayes database emptied: 0 spam, 0 ham, 0 tokens")
		return 0
	case "expire":
		if cfg.Bayes.ExpireDays == 0 {
			fmt.Fprintln(stderr, "mailwarden bayes expire: [bayes] expire_days is 0 (never expire)")
			return 1
		}
		n, err := db.Expire(ctx, time.Duration(cfg.Bayes.ExpireDays)*24*time.Hour)
		if err != nil {
			fmt.Fprintln(stderr, "mailwarden bayes expire:", err)
			return 1
		}
		fmt.Fprintf(stdout, "Expired %d tokens not learned from for %d days\n", n, cfg.Bayes.ExpireDays)
		return 0
	}
	s, err := db.Stats(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "mailwarden bayes stats:", err)
		return 1
	}
	now := time.Now()
	age := func(t time.Time) int {
		if t.IsZero() {
			return 0
		}
		return int(now.Sub(t).Hours() / 24)
	}
	if *asJSON {
		out := map[string]any{
			"nspam": s.NSpam, "nham": s.NHam, "ntokens": s.NTokens, "messages": s.Messages,
			"oldest_token_age_days": age(s.Oldest), "newest_token_age_days": age(s.Newest),
			"min_spam": cfg.Bayes.MinSpam, "min_ham": cfg.Bayes.MinHam,
			"active": s.NSpam >= uint64(cfg.Bayes.MinSpam) && s.NHam >= uint64(cfg.Bayes.MinHam),
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
		return 0
	}
	day := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return fmt.Sprintf("%s (%d days)", t.Format("2006-01-02"), age(t))
	}
	active := "yes"
	if s.NSpam < uint64(cfg.Bayes.MinSpam) || s.NHam < uint64(cfg.Bayes.MinHam) {
		active = fmt.Sprintf("no: needs %d spam and %d ham learned", cfg.Bayes.MinSpam, cfg.Bayes.MinHam)
	}
	fmt.Fprintf(stdout, "nspam          %d\n", s.NSpam)
	fmt.Fprintf(stdout, "nham           %d\n", s.NHam)
	fmt.Fprintf(stdout, "ntokens        %d\n", s.NTokens)
	fmt.Fprintf(stdout, "messages seen  %d\n", s.Messages)
	fmt.Fprintf(stdout, "oldest token   %s\n", day(s.Oldest))
	fmt.Fprintf(stdout, "newest token   %s\n", day(s.Newest))
	fmt.Fprintf(stdout, "scoring        %s\n", active)
	return 0
}
