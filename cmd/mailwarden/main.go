// Command mailwarden is the mail-filter daemon and its admin tools.
//
//	mailwarden [run] [-c FILE]          run the daemon (milter, policy server, watcher)
//	mailwarden check FILE.eml [flags]   judge one message offline (--json for JSON)
//	mailwarden config check FILE        validate a policy file
//	mailwarden dkim keygen DOMAIN       make a DKIM key (SME layout), print its record
//	mailwarden dns [DOMAIN]             print the DKIM, SPF and DMARC records to publish
//	mailwarden doctor [DOMAIN...]       check SPF, DKIM, DMARC, PTR/HELO, key and junk folder setup
//	mailwarden import-sme DIR [-o FILE] convert an SME server's e-smith databases to a policy file
//	mailwarden version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/mailwarden/mailwarden/internal/app"
	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/sdnotify"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/scoring"
)

// version is set by the Makefile through -ldflags.
var version = "dev"

const defaultConfig = "/etc/mailwarden/mailwarden.toml"

// daemonGCPercent is the garbage collector's target of `mailwarden run`
// when GOGC is not set.
const daemonGCPercent = 200

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", "run the daemon", cmdRun},
		{"check", "judge one message offline, like spamassassin -t", cmdCheck},
		{"config", "config check FILE: validate a policy file", cmdConfig},
		{"dmarc", "dmarc report [--dry-run]: build and send DMARC aggregate reports", cmdDMARC},
		{"dkim", "dkim keygen DOMAIN [--selector S] [--rsa-bits 2048|--ed25519]: make a signing key", cmdDKIM},
		{"dns", "dns [DOMAIN]: print the DKIM, SPF and DMARC records to publish", cmdDNS},
		{"dnsbl", "dnsbl [IP|DOMAIN ...]: DNSBL/RHSBL/URIBL status, and what the lists say now", cmdDNSBL},
		{"learn", "learn --spam|--ham|--forget PATH... | --watch: train Bayes, like sa-learn", cmdLearn},
		{"bayes", "bayes stats|reset|expire: the Bayes token database", cmdBayes},
		{"karma", "karma list [--all] | show IP... | forget IP...: client karma, end a penalty", cmdKarma},
		{"import-sme", "import-sme DIR [-o FILE]: convert an SME server's e-smith databases to a policy file", cmdImportSME},
		{"doctor", "doctor [DOMAIN...] [--json] [--ip IP] [--helo NAME]: check SPF, DKIM, DMARC, PTR, key and junk folder setup", cmdDoctor},
		{"stats", "stats [--day YYYY-MM-DD] [--html FILE] [--send]: daily mail statistics (SME mailstats)", cmdStats},
		{"version", "print the version", func([]string, io.Writer, io.Writer) int { fmt.Println("mailwarden", version); return 0 }},
	}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return cmdRun(args, stdout, stderr)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	if args[0] == "help" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "mailwarden: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mailwarden COMMAND [flags]")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("check msg.eml --json").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", defaultConfig, "policy file")
	fs.StringVar(path, "config", defaultConfig, "policy file")
	if _, err := parseInterspersed(fs, args); err != nil {
		return 2
	}
	// The daemon's live heap is small (tens of MB) and its garbage per
	// message large (MIME decoding, tokens): collecting at 200 % growth
	// instead of Go's 100 % cut its CPU per message by 13 % on the inbound
	// benchmark (BENCHMARKS.md). GOGC in the environment still decides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(daemonGCPercent)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log := app.NewLogger(cfg.Log, stderr)
	d, err := app.NewDaemon(*path, log)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := d.Start(); err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	log.Info("ready", "version", version, "config", *path)
	// systemd (Type=notify): ready only now that every listener is up and
	// the config and keys are loaded.
	// MAILWARDEN_CPUPROFILE=FILE writes a CPU profile until shutdown (for
	// performance work; go tool pprof FILE).
	if pf := os.Getenv("MAILWARDEN_CPUPROFILE"); pf != "" {
		if f, err := os.Create(pf); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	notify := sdnotify.FromEnv()
	if err := notify.Ready(); err != nil {
		log.Warn("systemd notification failed", "error", err)
	}
	stopWatchdog := make(chan struct{})
	go notify.Watchdog(sdnotify.WatchdogInterval(), d.Healthy, stopWatchdog)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			notify.Reloading()
			if err := d.Reload(); err != nil {
				notify.Send("READY=1", "STATUS=reload failed; running the previous configuration")
			} else {
				notify.Send("READY=1", "STATUS=ready")
			}
			continue
		}
		notify.Stopping()
		close(stopWatchdog)
		log.Info("shutting down; draining sessions", "signal", sig.String(), "timeout", d.ShutdownTimeout())
		ctx, cancel := context.WithTimeout(context.Background(), d.ShutdownTimeout())
		err := d.Shutdown(ctx)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			log.Warn("shutdown", "error", err)
		}
		log.Info("stopped")
		return 0
	}
	return 0
}

func cmdConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || (args[0] != "check" && args[0] != "checks") {
		fmt.Fprintln(stderr, "usage: mailwarden config check FILE    validate a policy file")
		fmt.Fprintln(stderr, "       mailwarden config checks FILE   list the checks that run per profile and stage")
		return 2
	}
	deps := app.Deps{}
	if args[0] == "checks" {
		// The checks that keep state (karma, greylisting, rate limits,
		// Bayes) are built only with a store: give them a throw-away one
		// so that the list shows everything the daemon would run.
		dir, err := os.MkdirTemp("", "mailwarden-checks-")
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		st, err := store.OpenBolt(filepath.Join(dir, "state.db"), store.BoltOptions{})
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer st.Close()
		deps.Store = st
	}
	_, e, err := app.LoadEngine(args[1], deps)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if args[0] == "check" {
		fmt.Fprintf(stdout, "%s: OK\n", args[1])
		return 0
	}
	for _, p := range scoring.AllProfiles {
		fmt.Fprintf(stdout, "%s:\n", p)
		plan := e.Plan(p)
		for _, st := range scoring.Stages() {
			if len(plan[st]) > 0 {
				fmt.Fprintf(stdout, "  %-8s %s\n", st, strings.Join(plan[st], " "))
			}
		}
	}
	fmt.Fprintf(stdout, "modifiers: %s\n", strings.Join(e.Modifiers(), " "))
	return 0
}
