package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/user"
	"sort"
	"strconv"
	"strings"

	"github.com/mailwarden/mailwarden/internal/app"
	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/dkimkeys"
	"github.com/mailwarden/mailwarden/internal/doctor"
	"github.com/mailwarden/mailwarden/scoring/dmarc"
)

// listFlag collects a repeated flag (--ip A --ip B, or --ip A,B).
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// cmdDoctor: mailwarden doctor [DOMAIN...] [-c CONFIG] [--json] [--ip IP]...
// [--relay IP]... [--helo NAME] [--user USER] [--dns SERVER]. Exit status 1
// when an item failed, 0 otherwise (warnings included), 2 on bad usage.
func cmdDoctor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", defaultConfig, "policy file")
	fs.StringVar(cfgPath, "config", defaultConfig, "policy file")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	var ips, relays, dnsServers listFlag
	fs.Var(&ips, "ip", "the server's public IP (repeatable; default: [envelope.helo] our_addresses)")
	fs.Var(&relays, "relay", "another host sending our mail, which SPF must cover (repeatable)")
	fs.Var(&dnsServers, "dns", "resolver to ask, host[:port] (repeatable; default: [dns] servers, else resolv.conf)")
	helo := fs.String("helo", "", "the HELO name Postfix uses (default: [server] hostname)")
	svcUser := fs.String("user", "mailwarden", "the user the daemon runs as (owner of the DKIM keys)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mailwarden doctor [DOMAIN...] [-c CONFIG] [--json] [--ip IP]... [--relay IP]... [--helo NAME] [--user USER] [--dns SERVER]")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	cfg := config.Defaults()
	if c, err := config.Load(*cfgPath); err == nil {
		cfg = c
	} else if *cfgPath != defaultConfig || !os.IsNotExist(unwrapPathErr(*cfgPath)) {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if len(dnsServers) > 0 {
		cfg.DNS.Servers = dnsServers
	}
	log := app.NewLogger(cfg.Log, stderr)
	res, err := app.NewResolver(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "mailwarden doctor:", err)
		return 1
	}
	o := doctor.Options{
		Resolver:    res,
		HELO:        cfg.Server.Hostname,
		KeysDir:     cfg.DKIM.KeysDir,
		Signing:     cfg.DKIM.Signing,
		NoSigning:   map[string]bool{},
		SPFTemplate: cfg.DKIM.SPF,
		DMARCPolicy: cfg.DKIM.DMARCPolicy,
		DMARCRua:    cfg.DKIM.DMARCRua,
		ServiceUser: *svcUser,
		ServiceUID:  -1,
		Maildirs:    cfg.Bayes.Learn.Maildirs,
		JunkFolder:  cfg.Bayes.Learn.JunkFolder,
		Logger:      log.Named("doctor"),
	}
	if *helo != "" {
		o.HELO = *helo
	}
	if u, err := user.Lookup(*svcUser); err == nil {
		o.ServiceUID, _ = strconv.Atoi(u.Uid)
	} else {
		fmt.Fprintf(stderr, "warning: no user %q: key owners are not checked (--user names the daemon's user)\n", *svcUser)
	}
	if cfg.DMARC.PSLFile != "" {
		if psl, err := dmarc.LoadPSL(cfg.DMARC.PSLFile); err == nil {
			o.Suffixes = psl
		}
	}
	for d, dc := range cfg.DKIM.Domain {
		d = strings.ToLower(d)
		if dc.Signing != nil && !*dc.Signing {
			o.NoSigning[d] = true
		}
		for _, pair := range [][2]string{{dc.Selector, dc.KeyFile}, {dc.Ed25519Selector, dc.Ed25519KeyFile}} {
			if pair[0] != "" && pair[1] != "" {
				if o.KeyFiles == nil {
					o.KeyFiles = map[string]map[string]string{}
				}
				if o.KeyFiles[d] == nil {
					o.KeyFiles[d] = map[string]string{}
				}
				o.KeyFiles[d][pair[0]] = pair[1]
			}
		}
	}
	addrs := []string(ips)
	if len(addrs) == 0 {
		addrs = cfg.Envelope.HELO.OurAddresses
	}
	for _, group := range []struct {
		in  []string
		out *[]netip.Addr
	}{{addrs, &o.IPs}, {relays, &o.Relays}} {
		for _, s := range group.in {
			a, err := netip.ParseAddr(s)
			if err != nil {
				fmt.Fprintf(stderr, "mailwarden doctor: %q is not an IP address\n", s)
				return 2
			}
			*group.out = append(*group.out, a.Unmap())
		}
	}
	o.Domains = pos
	if len(o.Domains) == 0 {
		o.Domains = configDomains(cfg)
	}
	if len(o.Domains) == 0 {
		fmt.Fprintln(stderr, "mailwarden doctor: no domain: name one, list [dkim] domains, or create keys with `mailwarden dkim keygen DOMAIN`")
		return 2
	}
	rep := doctor.Run(context.Background(), o)
	if *asJSON {
		if err := doctor.WriteJSON(stdout, rep); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	} else {
		doctor.WriteText(stdout, rep)
	}
	if rep.Failed() {
		return 1
	}
	return 0
}

func unwrapPathErr(path string) error {
	_, err := os.Stat(path)
	return err
}

// configDomains: the domains we sign for ([dkim] domains and the key
// directories) and the local domains of [disclaimer].
func configDomains(cfg *config.Config) []string {
	seen := map[string]bool{}
	var out []string
	add := func(d string) {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if d != "" && d != dkimkeys.DefaultDir && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, d := range cfg.DKIM.Domains {
		add(d)
	}
	if entries, err := os.ReadDir(cfg.DKIM.KeysDir); err == nil {
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				add(e.Name())
			}
		}
	}
	for d := range cfg.DKIM.Domain {
		add(d)
	}
	for _, d := range cfg.Disclaimer.LocalDomains {
		add(d)
	}
	sort.Strings(out)
	return out
}
