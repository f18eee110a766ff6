// Package doctor implements `mailwarden doctor`: the per-domain checklist
// that closes SME Server's mail guide, run against live DNS (through the
// project's resolver) and the local files instead of by hand with dig and ls.
//
// Items (Check names, as in the output and --json):
//
//	spf          an SPF record is published, exactly one, and parses (RFC 7208 3.2, 4.5)
//	spf-ptr      it uses no "ptr" mechanism (RFC 7208 5.5: SHOULD NOT be used) -- warn
//	spf-ips      check_host() gives "pass" for every server IP (--ip, or
//	             [envelope.helo] our_addresses) and relay (--relay)
//	spf-lookups  at most 10 DNS-querying terms, includes and redirects counted
//	             recursively (RFC 7208 4.6.4)
//	dkim         SELECTOR._domainkey.DOMAIN exists for each of our keys and its
//	             p= is our private key's public half (RFC 6376 3.6.1)
//	dmarc        _dmarc.DOMAIN (or its organizational domain) exists and parses
//	             (RFC 7489 6.3); policy and rua shown; p=none or no rua: warn
//	dmarc-rua    an external rua= domain authorises our reports with
//	             DOMAIN._report._dmarc.RUADOMAIN "v=DMARC1" (RFC 7489 7.1)
//	ptr          each server IP has a PTR whose name resolves back to it (FCrDNS)
//	helo         the HELO name (--helo, or [server] hostname) is that PTR name
//	key-perms    every DKIM private key file is owned by the service user
//	             (--user, default "mailwarden") with mode 0400 or 0600
//	junk-owner   every user's junk folder tmp/ ([bayes.learn] maildirs +
//	             junk_folder) belongs to the owner of the Maildir
//
// Each item is pass, warn or fail, with its evidence and, unless it passed,
// the exact fix (the record to publish, the chown/chmod to run). Doctor has
// no config keys of its own; it reads [dkim], [server], [envelope.helo] and
// [bayes.learn]. Report.Failed drives the command's exit code.
package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mailwarden/mailwarden/internal/resolver"
	"github.com/mailwarden/mailwarden/scoring/dmarc"
)

// Status of one item.
type Status string

const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Item is one line of the checklist.
type Item struct {
	Domain   string `json:"domain,omitempty"` // "" for server-wide items
	Check    string `json:"check"`
	Status   Status `json:"status"`
	Evidence string `json:"evidence"`
	Fix      string `json:"fix,omitempty"`
}

// Report is the whole checklist.
type Report struct {
	Items []Item `json:"items"`
}

// Failed reports whether any item failed.
func (r *Report) Failed() bool {
	for _, it := range r.Items {
		if it.Status == Fail {
			return true
		}
	}
	return false
}

// NotPassing returns the items that warned or failed.
func (r *Report) NotPassing() []Item {
	var out []Item
	for _, it := range r.Items {
		if it.Status != Pass {
			out = append(out, it)
		}
	}
	return out
}

func (r *Report) add(it Item) { r.Items = append(r.Items, it) }

// Options are what doctor checks and against what.
type Options struct {
	Resolver *resolver.Resolver
	// Domains to check.
	Domains []string
	// IPs are the server's public addresses; Relays other hosts that send
	// our mail (a smarthost, a second MX), which SPF must cover too.
	IPs, Relays []netip.Addr
	// HELO is the name Postfix greets with (smtp_helo_name).
	HELO string
	// KeysDir is [dkim] keys_dir; NoSigning lists domains with signing off.
	KeysDir string
	// KeyFiles are keys outside the layout ([dkim.domain.D] key_file and
	// selector): domain -> selector -> private key path.
	KeyFiles  map[string]map[string]string
	Signing   bool
	NoSigning map[string]bool
	// SPFTemplate and DMARC* shape the suggested records ([dkim] spf,
	// dmarc_policy, dmarc_rua).
	SPFTemplate string
	DMARCPolicy string
	DMARCRua    string
	// ServiceUser owns the keys (name and uid); ServiceUID < 0 skips the
	// owner part of key-perms.
	ServiceUser string
	ServiceUID  int
	// Maildirs are globs of users' Maildirs; JunkFolder their junk folder.
	Maildirs   []string
	JunkFolder string
	// Suffixes finds organizational domains (nil: the built-in list).
	Suffixes dmarc.SuffixList
	Logger   hclog.Logger
	// Timeout bounds the DNS work of one item.
	Timeout time.Duration
}

// DefaultTimeout is the DNS time one item may take: several round trips to
// a slow authoritative server, still quick for an interactive command.
const DefaultTimeout = 15 * time.Second

// Run walks the checklist.
func Run(ctx context.Context, o Options) *Report {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Suffixes == nil {
		o.Suffixes = dmarc.DefaultSuffixes
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.SPFTemplate == "" {
		o.SPFTemplate = "v=spf1 mx a -all"
	}
	if o.DMARCPolicy == "" {
		o.DMARCPolicy = "none"
	}
	rep := &Report{}
	keys := readKeys(o.KeysDir)
	keys = append(keys, readKeyFiles(o.KeyFiles)...)
	domains := append([]string(nil), o.Domains...)
	sort.Strings(domains)
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		o.checkSPF(ctx, rep, d)
		o.checkDKIM(ctx, rep, d, keys)
		o.checkDMARC(ctx, rep, d)
	}
	o.checkPTR(ctx, rep)
	checkKeyPerms(rep, keys, o)
	checkJunk(rep, o)
	return rep
}

func (o Options) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, o.Timeout)
}

func fqdn(name string) string { return strings.TrimSuffix(name, ".") + "." }

// zoneTXT renders a TXT record to publish (quoted, split at 255 octets).
func zoneTXT(name, text string) string {
	var parts []string
	for len(text) > 255 {
		parts = append(parts, text[:255])
		text = text[255:]
	}
	parts = append(parts, text)
	for i, p := range parts {
		parts[i] = `"` + strings.ReplaceAll(strings.ReplaceAll(p, `\`, `\\`), `"`, `\"`) + `"`
	}
	return fmt.Sprintf("%s IN TXT %s", fqdn(name), strings.Join(parts, " "))
}

func dnsErr(err error) string {
	if resolver.IsNotFound(err) {
		return "no such record"
	}
	return err.Error()
}
