package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/mailwarden/mailwarden/internal/app"
	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// checkJSON is the --json output: one object per message.
type checkJSON struct {
	File     string           `json:"file"`
	Action   string           `json:"action"`
	Score    float64          `json:"score"`
	Required float64          `json:"required"`
	Reject   *float64         `json:"reject,omitempty"`
	Profile  string           `json:"profile"`
	Reply    string           `json:"reply,omitempty"`
	Reason   string           `json:"reason"`
	Symbols  []scoring.Symbol `json:"symbols"`
	Headers  []headerJSON     `json:"headers,omitempty"`
}

type headerJSON struct {
	Op    string `json:"op"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", defaultConfig, "policy file")
	from := fs.String("from", "", "envelope sender")
	var rcpts stringList
	fs.Var(&rcpts, "rcpt", "envelope recipient (repeatable)")
	ip := fs.String("ip", "", "client IP address (default: none: judged as remote mail, the checks of the client's address skipped)")
	helo := fs.String("helo", "", "client HELO name")
	auth := fs.String("auth", "", "authenticated user name")
	asJSON := fs.Bool("json", false, "print one JSON object per message")
	noDNS := fs.Bool("no-dns", false, "do not resolve: the DNS checks (DNS lists, sender domain, SPF, DKIM, DMARC) are left out")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "usage: mailwarden check FILE.eml [--from A] [--rcpt A]... [--ip IP] [--helo NAME] [--auth USER] [--json] [--no-dns] [-c CONFIG]")
		return 2
	}
	if _, err := os.Stat(*path); err != nil && *path == defaultConfig {
		fmt.Fprintf(stderr, "mailwarden: %s not found; give the policy file with -c\n", *path)
		return 2
	}
	// The DNS checks (SPF, DNS lists, DKIM keys) resolve through the [dns]
	// resolver; --no-dns leaves them out of every profile.
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	deps := app.Deps{}
	if *noDNS {
		for _, p := range []*config.ProfileOverride{&cfg.Profiles.Local, &cfg.Profiles.Authenticated, &cfg.Profiles.Remote} {
			p.Disable = append(p.Disable, app.DNSCheckNames...)
		}
	} else if res, err := app.NewResolver(cfg, nil); err == nil {
		deps.Resolver = res
	}
	e, err := app.BuildEngine(cfg, deps)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	env := app.Envelope{MailFrom: *from, Rcpts: rcpts,
		Client: scoring.Client{HELO: *helo, AuthUser: *auth, Name: "unknown"}}
	if *ip != "" {
		a, err := netip.ParseAddr(*ip)
		if err != nil {
			fmt.Fprintf(stderr, "mailwarden: --ip: %v\n", err)
			return 2
		}
		env.Client.Addr = a
	}
	if len(env.Rcpts) == 0 {
		env.Rcpts = []string{"postmaster@localhost"}
	}
	rc := 0
	for _, f := range files {
		if err := checkOne(e, env, f, *asJSON, stdout); err != nil {
			fmt.Fprintf(stderr, "mailwarden: %s: %v\n", f, err)
			rc = 1
		}
	}
	return rc
}

func checkOne(e *scoring.Engine, env app.Envelope, file string, asJSON bool, w io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	msg, err := message.Parse(f, 0, "")
	if err != nil {
		return err
	}
	defer msg.Close()
	tx, v, ch := app.Judge(context.Background(), e, env, msg)
	lv := e.Levels()
	if asJSON {
		out := checkJSON{File: file, Action: v.Action.String(), Score: v.Score, Required: v.Required,
			Profile: string(tx.Profile), Reason: v.Reason, Symbols: v.Symbols}
		if out.Symbols == nil {
			out.Symbols = []scoring.Symbol{}
		}
		if lv.RejectEnabled {
			r := lv.RejectLevel
			out.Reject = &r
		}
		if v.Action >= scoring.Tempfail {
			out.Reply = v.Reply.String()
		}
		for _, h := range ch.Headers {
			out.Headers = append(out.Headers, headerJSON{Op: opName(h.Op), Name: h.Name, Value: h.Value})
		}
		enc := json.NewEncoder(w)
		return enc.Encode(out)
	}
	fmt.Fprintf(w, "File:    %s\n", file)
	fmt.Fprintf(w, "Profile: %s\n", tx.Profile)
	fmt.Fprintf(w, "Action:  %s\n", v.Action)
	if lv.RejectEnabled {
		fmt.Fprintf(w, "Score:   %.2f / %.2f (reject at %.2f)\n", v.Score, v.Required, lv.RejectLevel)
	} else {
		fmt.Fprintf(w, "Score:   %.2f / %.2f\n", v.Score, v.Required)
	}
	if v.Action >= scoring.Tempfail {
		fmt.Fprintf(w, "Reply:   %s\n", v.Reply)
	}
	fmt.Fprintf(w, "Reason:  %s\n", v.Reason)
	fmt.Fprintln(w, "Symbols:")
	if len(v.Symbols) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	for _, s := range v.Symbols {
		opts := ""
		if len(s.Options) > 0 {
			opts = fmt.Sprintf(" %v", s.Options)
		}
		fmt.Fprintf(w, "  %6.2f  %-28s %s%s\n", s.Score, s.Name, s.Description, opts)
	}
	if len(ch.Headers) > 0 {
		fmt.Fprintln(w, "Header changes:")
		for _, h := range ch.Headers {
			fmt.Fprintf(w, "  %-6s %s:%s\n", opName(h.Op), h.Name, prefixSpace(h.Value))
		}
	}
	return nil
}

func prefixSpace(v string) string {
	if v == "" || v[0] == ' ' || v[0] == '\t' {
		return v
	}
	return " " + v
}

func opName(op scoring.HeaderOp) string {
	switch op {
	case scoring.InsertHeader:
		return "insert"
	case scoring.ChangeHeader:
		return "change"
	}
	return "add"
}
