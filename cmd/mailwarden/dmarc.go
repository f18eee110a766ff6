package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mailwarden/mailwarden/internal/app"
	"github.com/mailwarden/mailwarden/internal/config"
)

// cmdDMARC is `mailwarden dmarc report [--dry-run] [--xml] [-c FILE]`: build
// the DMARC aggregate reports of every finished interval from the recorded
// evaluations and send them (SME DMARCReporting), as the daemon's daily job
// does; with --dry-run only show what would be sent.
func cmdDMARC(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "report" {
		fmt.Fprintln(stderr, "usage: mailwarden dmarc report [--dry-run] [--xml] [-c FILE]")
		return 2
	}
	fs := flag.NewFlagSet("dmarc report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", defaultConfig, "policy file")
	fs.StringVar(path, "config", defaultConfig, "policy file")
	dry := fs.Bool("dry-run", false, "show what would be sent; send and delete nothing")
	showXML := fs.Bool("xml", false, "with --dry-run: print each report's XML")
	if _, err := parseInterspersed(fs, args[1:]); err != nil {
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log := app.NewLogger(cfg.Log, stderr)
	st, err := app.OpenStore(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "mailwarden: opening the state store:", err)
		return 1
	}
	defer st.Close()
	res, err := app.NewResolver(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "mailwarden: resolver:", err)
		return 1
	}
	j, err := app.DMARCReportJob(cfg, app.Deps{Logger: log, Store: st, Resolver: res})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := j.Run(ctx, *dry)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if len(out) == 0 {
		fmt.Fprintln(stdout, "no finished reporting interval has recorded evaluations")
		return 0
	}
	failed := 0
	for _, o := range out {
		r := o.Report
		fmt.Fprintf(stdout, "%s  %s .. %s  %d records, %d messages  %s (%d bytes gzipped)\n",
			r.Domain, r.Begin.Format(time.RFC3339), r.End.Format(time.RFC3339), r.Rows, r.Messages, o.FileName, o.Size)
		for _, d := range o.Destinations {
			state := "would send"
			if !*dry {
				state = "sent"
				if o.Err != nil {
					state = "NOT sent"
				}
			}
			if !d.OK {
				state = "skipped: " + d.Why
			}
			fmt.Fprintf(stdout, "    %-40s %s\n", d.URI, state)
		}
		if len(o.Destinations) == 0 {
			fmt.Fprintln(stdout, "    (no rua= in the policy: nothing to send)")
		}
		if o.Err != nil {
			failed++
			fmt.Fprintf(stdout, "    error: %v\n", o.Err)
		}
		if *dry && *showXML {
			doc, err := r.XML()
			if err == nil {
				stdout.Write(doc)
			}
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}
