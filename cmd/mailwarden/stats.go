package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mailwarden/mailwarden/internal/app"
	"github.com/mailwarden/mailwarden/internal/config"
)

// cmdStats prints a day's mail statistics (SME's mailstats), writes the
// HTML report, or mails it.
func cmdStats(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", defaultConfig, "policy file")
	dayFlag := fs.String("day", "", "day to report, YYYY-MM-DD (default: today)")
	htmlFile := fs.String("html", "", "also write the HTML report (with its chart) to this file")
	send := fs.Bool("send", false, "mail the report to [stats] report_to through the local MTA")
	if _, err := parseInterspersed(fs, args); err != nil {
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *send && cfg.Stats.ReportTo == "" {
		fmt.Fprintln(stderr, "mailwarden stats: --send: set [stats] report_to first")
		return 2
	}
	day := time.Now()
	if *dayFlag != "" {
		if day, err = time.ParseInLocation("2006-01-02", *dayFlag, time.Local); err != nil {
			fmt.Fprintf(stderr, "mailwarden stats: --day: want YYYY-MM-DD, got %q\n", *dayFlag)
			return 2
		}
	}
	st, err := app.OpenStore(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "mailwarden stats: store:", err)
		return 1
	}
	defer st.Close()
	deps := app.Deps{Store: st}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := app.StatsDay(ctx, cfg, deps, day)
	if err != nil {
		fmt.Fprintln(stderr, "mailwarden stats:", err)
		return 1
	}
	if err := d.Text(stdout, cfg.Server.Hostname); err != nil {
		return 1
	}
	if *htmlFile != "" {
		f, err := os.Create(*htmlFile)
		if err != nil {
			fmt.Fprintln(stderr, "mailwarden stats:", err)
			return 1
		}
		err = d.HTML(f, cfg.Server.Hostname)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintln(stderr, "mailwarden stats:", err)
			return 1
		}
	}
	if *send {
		from := cfg.Stats.ReportFrom
		if from == "" {
			from = "mailwarden@" + cfg.Server.Hostname
		}
		if err := app.SendStatsReport(ctx, cfg, deps, day, from); err != nil {
			fmt.Fprintln(stderr, "mailwarden stats: send:", err)
			return 1
		}
		fmt.Fprintf(stderr, "report mailed to %s\n", cfg.Stats.ReportTo)
	}
	return 0
}
