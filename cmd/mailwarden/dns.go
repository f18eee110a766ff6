package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/dkimkeys"
)

// cmdDNS implements `mailwarden dns [DOMAIN] [-c FILE]`: the records to
// publish for each signing domain, in zone-file syntax, as SME's
// qpsmtpd-dns prints them: DKIM (whole and in 255-character strings), SPF
// (dkim.spf) and DMARC (p=dkim.dmarc_policy, rua=dkim.dmarc_rua).
func cmdDNS(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dns", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", defaultConfig, "policy file")
	dir := fs.String("dir", "", "keys directory (overrides dkim.keys_dir)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) > 1 {
		fmt.Fprintln(stderr, "usage: mailwarden dns [DOMAIN] [-c FILE] [--dir KEYS_DIR]")
		return 2
	}
	cfg := config.Defaults()
	if c, err := config.Load(*cfgPath); err == nil {
		cfg = c
	} else if *cfgPath != defaultConfig {
		fmt.Fprintln(stderr, err)
		return 1
	}
	keysDir := cfg.DKIM.KeysDir
	if *dir != "" {
		keysDir = *dir
	}
	set, err := dkimkeys.LoadDir(keysDir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	domains := pos
	if len(domains) == 0 {
		seen := map[string]bool{}
		for _, d := range append(append([]string(nil), cfg.DKIM.Domains...), set.DomainNames()...) {
			d = strings.ToLower(strings.TrimSuffix(d, "."))
			if !seen[d] {
				seen[d] = true
				domains = append(domains, d)
			}
		}
		sort.Strings(domains)
	}
	if len(domains) == 0 {
		fmt.Fprintf(stderr, "no domain: name one, list [dkim] domains, or create keys with `mailwarden dkim keygen DOMAIN` (keys dir %s)\n", keysDir)
		return 1
	}
	for i, d := range domains {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "; ---- %s ----\n", d)
		keys, own := set.Lookup(d)
		if _, override := cfg.DKIM.Domain[d]; len(keys) > 0 && !own && !override && !slices.ContainsFunc(cfg.DKIM.Domains, func(x string) bool {
			return strings.EqualFold(strings.TrimSuffix(x, "."), d)
		}) {
			fmt.Fprintf(stdout, "; note: %s would not be signed yet: the default key signs only the domains in [dkim] domains\n", d)
		}
		if o, ok := cfg.DKIM.Domain[d]; ok {
			for _, pair := range [][2]string{{o.Selector, o.KeyFile}, {o.Ed25519Selector, o.Ed25519KeyFile}} {
				if pair[1] == "" {
					continue
				}
				k, err := dkimkeys.LoadKeyFile(pair[1])
				if err != nil {
					fmt.Fprintln(stderr, err)
					return 1
				}
				k.Selector = pair[0]
				if len(keys) > 0 && keys[0].Algorithm == k.Algorithm {
					keys = nil
				}
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			fmt.Fprintf(stdout, "; no DKIM key for %s: run `mailwarden dkim keygen %s`\n", d, d)
		}
		for _, k := range keys {
			if err := printDKIM(stdout, d, k); err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
		}
		if cfg.DKIM.SPF != "" {
			fmt.Fprintln(stdout, "; SPF")
			fmt.Fprintln(stdout, dkimkeys.ZoneTXT(d+".", cfg.DKIM.SPF))
		}
		dmarc := "v=DMARC1; p=" + cfg.DKIM.DMARCPolicy
		if cfg.DKIM.DMARCRua != "" {
			dmarc += "; rua=mailto:" + cfg.DKIM.DMARCRua
		}
		fmt.Fprintln(stdout, "; DMARC (start with p=none, read the reports, then tighten)")
		fmt.Fprintln(stdout, dkimkeys.ZoneTXT("_dmarc."+d+".", dmarc))
	}
	return 0
}
