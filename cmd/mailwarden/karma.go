package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"time"

	"github.com/mailwarden/mailwarden/internal/app"
	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/scoring/karma"
)

// cmdKarma lists client karma and takes hosts out of the penalty box:
//
//	mailwarden karma [-c FILE] list [--all]   penalized clients (--all: every client with a history)
//	mailwarden karma [-c FILE] show IP...      one client's history
//	mailwarden karma [-c FILE] forget IP...    delete the history (ends a penalty)
func cmdKarma(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("karma", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", defaultConfig, "policy file")
	all := fs.Bool("all", false, "list: every client with a history, not only penalized ones")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(rest) == 0 || (rest[0] != "list" && len(rest) < 2) {
		fmt.Fprintln(stderr, "usage: mailwarden karma [-c FILE] list [--all] | show IP... | forget IP...")
		return 2
	}
	var addrs []netip.Addr
	for _, s := range rest[1:] {
		a, err := netip.ParseAddr(s)
		if err != nil {
			fmt.Fprintf(stderr, "mailwarden karma: %q is not an IP address\n", s)
			return 2
		}
		addrs = append(addrs, a)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	st, err := app.OpenStore(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "mailwarden karma: store:", err)
		return 1
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now()
	line := func(e karma.Entry) {
		state := "ok"
		if e.Penalized(now) {
			state = "PENALIZED until " + time.Unix(e.PenaltyUntil, 0).UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%-39s nice=%d naughty=%d last=%s %s\n", e.Addr, e.Nice, e.Naughty,
			time.Unix(e.Last, 0).UTC().Format(time.RFC3339), state)
	}
	switch rest[0] {
	case "list":
		es, err := karma.List(ctx, st)
		if err != nil {
			fmt.Fprintln(stderr, "mailwarden karma:", err)
			return 1
		}
		sort.Slice(es, func(i, j int) bool { return es[i].Addr.Less(es[j].Addr) })
		for _, e := range es {
			if *all || e.Penalized(now) {
				line(e)
			}
		}
	case "show":
		for _, a := range addrs {
			r, err := karma.Lookup(ctx, st, a)
			if err != nil {
				fmt.Fprintln(stderr, "mailwarden karma:", err)
				return 1
			}
			line(karma.Entry{Addr: a, Record: r})
		}
	case "forget":
		for _, a := range addrs {
			if err := karma.Forget(ctx, st, a); err != nil {
				fmt.Fprintln(stderr, "mailwarden karma:", err)
				return 1
			}
			fmt.Fprintf(stdout, "%s: history deleted\n", a)
		}
	default:
		fmt.Fprintf(stderr, "mailwarden karma: unknown subcommand %q (list, show, forget)\n", rest[0])
		return 2
	}
	return 0
}
