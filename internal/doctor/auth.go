package doctor

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mailwarden/mailwarden/internal/dkimkeys"
	"github.com/mailwarden/mailwarden/internal/resolver"
	"github.com/mailwarden/mailwarden/scoring/dmarc"
)

func resolverNotFound(err error) bool { return resolver.IsNotFound(err) }

// keyFile is one private key of the keys directory, read without the
// permission check of dkimkeys (doctor reports loose modes instead of
// refusing them).
type keyFile struct {
	Domain   string // directory name ("default" for the fallback key)
	Selector string
	Path     string
	Public   crypto.PublicKey
	Err      error
	// Configured: named by [dkim.domain.D] key_file; replaces the layout's.
	Configured bool
}

// maxKeyFile bounds a key file read (a 16384-bit RSA PEM is ~12 kB).
const maxKeyFile = 64 << 10

// readKeys lists every selector/private pair under dir (SME layout).
func readKeys(dir string) []keyFile {
	if dir == "" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []keyFile
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		ddir := filepath.Join(dir, e.Name())
		if st, err := os.Stat(ddir); err != nil || !st.IsDir() {
			continue
		}
		for _, suffix := range []string{"", dkimkeys.Ed25519Suffix} {
			keyPath := filepath.Join(ddir, dkimkeys.PrivateFile+suffix)
			st, err := os.Stat(keyPath)
			if err != nil {
				continue
			}
			kf := keyFile{Domain: strings.ToLower(e.Name()), Path: keyPath}
			sel, err := os.ReadFile(filepath.Join(ddir, dkimkeys.SelectorFile+suffix))
			kf.Selector = strings.TrimSpace(string(sel))
			if err != nil {
				kf.Err = fmt.Errorf("no selector file next to %s", keyPath)
			} else if st.Size() > maxKeyFile {
				kf.Err = fmt.Errorf("%s is larger than %d bytes: not a key", keyPath, maxKeyFile)
			} else if b, err := os.ReadFile(keyPath); err != nil {
				kf.Err = err
			} else if k, err := dkimkeys.ParsePrivateKey(b); err != nil {
				kf.Err = fmt.Errorf("%s: %v", keyPath, err)
			} else {
				kf.Public = k.Public()
			}
			out = append(out, kf)
		}
	}
	return out
}

// readKeyFiles reads the keys named in the config outside the layout.
func readKeyFiles(m map[string]map[string]string) []keyFile {
	var out []keyFile
	doms := make([]string, 0, len(m))
	for d := range m {
		doms = append(doms, d)
	}
	sort.Strings(doms)
	for _, d := range doms {
		for sel, path := range m[d] {
			out = append(out, readKey(strings.ToLower(d), sel, path))
		}
	}
	return out
}

func readKey(domain, sel, path string) keyFile {
	kf := keyFile{Domain: domain, Selector: sel, Path: path, Configured: true}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		kf.Err = err
	case st.Size() > maxKeyFile:
		kf.Err = fmt.Errorf("%s is larger than %d bytes: not a key", path, maxKeyFile)
	default:
		if b, err := os.ReadFile(path); err != nil {
			kf.Err = err
		} else if k, err := dkimkeys.ParsePrivateKey(b); err != nil {
			kf.Err = fmt.Errorf("%s: %v", path, err)
		} else {
			kf.Public = k.Public()
		}
	}
	return kf
}

// keysFor returns a domain's own keys, else the default ones.
func keysFor(keys []keyFile, domain string) []keyFile {
	var own, def, conf []keyFile
	for _, k := range keys {
		switch k.Domain {
		case domain:
			if k.Configured {
				conf = append(conf, k)
			}
			own = append(own, k)
		case dkimkeys.DefaultDir:
			def = append(def, k)
		}
	}
	if len(conf) > 0 {
		return conf
	}
	if len(own) > 0 {
		return own
	}
	return def
}

// tagValue returns a tag of a DKIM/DMARC tag list ("v=DKIM1; p=...").
func tagValue(rec, tag string) (string, bool) {
	for _, part := range strings.Split(rec, ";") {
		k, v, ok := strings.Cut(part, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), tag) {
			return strings.Join(strings.Fields(v), ""), true
		}
	}
	return "", false
}

func (o Options) checkDKIM(ctx context.Context, rep *Report, domain string, keys []keyFile) {
	if !o.Signing || o.NoSigning[domain] {
		rep.add(Item{Domain: domain, Check: "dkim", Status: Warn, Evidence: "signing is off for this domain ([dkim] signing)",
			Fix: "turn [dkim] signing on (and remove [dkim.domain.\"" + domain + "\"] signing = false) to sign its mail"})
		return
	}
	ks := keysFor(keys, domain)
	if len(ks) == 0 {
		rep.add(Item{Domain: domain, Check: "dkim", Status: Fail, Evidence: "no key for " + domain + " in " + o.KeysDir,
			Fix: "run: mailwarden dkim keygen " + domain + "   (then publish the record it prints)"})
		return
	}
	for _, k := range ks {
		if k.Err != nil {
			rep.add(Item{Domain: domain, Check: "dkim", Status: Fail, Evidence: k.Err.Error(),
				Fix: "make a new key: mailwarden dkim keygen " + domain + " --force"})
			continue
		}
		want, err := dkimkeys.TXTRecord(k.Public)
		if err != nil {
			rep.add(Item{Domain: domain, Check: "dkim", Status: Fail, Evidence: err.Error()})
			continue
		}
		name := k.Selector + "._domainkey." + domain
		publish := zoneTXT(name, want)
		c, cancel := o.ctx(ctx)
		txts, err := o.Resolver.LookupTXT(c, name)
		cancel()
		o.Logger.Debug("lookup", "name", name, "type", "TXT", "error", err)
		if err != nil {
			rep.add(Item{Domain: domain, Check: "dkim", Status: Fail, Evidence: "TXT " + name + ": " + dnsErr(err),
				Fix: "publish: " + publish})
			continue
		}
		wantP, _ := tagValue(want, "p")
		var found []string
		match := false
		for _, t := range txts {
			p, ok := tagValue(t, "p")
			if !ok {
				continue
			}
			found = append(found, clip(p))
			if p == wantP {
				match = true
			}
		}
		switch {
		case match:
			rep.add(Item{Domain: domain, Check: "dkim", Status: Pass, Evidence: name + " publishes the public half of " + k.Path})
		case len(found) == 0:
			rep.add(Item{Domain: domain, Check: "dkim", Status: Fail, Evidence: name + " has no DKIM key record (no p= tag)", Fix: "publish: " + publish})
		default:
			rep.add(Item{Domain: domain, Check: "dkim", Status: Fail,
				Evidence: name + " publishes p=" + strings.Join(found, ",") + ", which is not the public half of " + k.Path,
				Fix:      "replace it with: " + publish})
		}
	}
}

func clip(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}

type txtAdapter struct{ o Options }

func (a txtAdapter) LookupTXT(ctx context.Context, name string) ([]string, error) {
	c, cancel := a.o.ctx(ctx)
	defer cancel()
	txts, err := a.o.Resolver.LookupTXT(c, name)
	a.o.Logger.Debug("lookup", "name", name, "type", "TXT", "error", err)
	return txts, err
}

func (o Options) suggestedDMARC() string {
	rec := "v=DMARC1; p=" + o.DMARCPolicy
	if o.DMARCRua != "" {
		rua := o.DMARCRua
		if !strings.HasPrefix(rua, "mailto:") {
			rua = "mailto:" + rua
		}
		rec += "; rua=" + rua
	}
	return rec
}

func (o Options) checkDMARC(ctx context.Context, rep *Report, domain string) {
	name := "_dmarc." + domain
	found, err := dmarc.Discover(ctx, txtAdapter{o}, o.Suffixes, domain, o.Logger)
	if err != nil || found == nil || found.Record == nil {
		ev, fix := "no DMARC record at "+name, "publish: "+zoneTXT(name, o.suggestedDMARC())
		if err != nil && (resolver.IsTemporary(err) || errors.Is(err, dmarc.ErrTemp)) {
			ev, fix = name+": "+err.Error(), "make the domain's name servers answer (the lookup failed, not just empty)"
		} else if err != nil && !resolver.IsNotFound(err) {
			ev = name + ": " + err.Error()
		}
		rep.add(Item{Domain: domain, Check: "dmarc", Status: Fail, Evidence: ev, Fix: fix})
		return
	}
	r := found.Record
	where := "_dmarc." + found.Domain
	ev := fmt.Sprintf("%s: p=%s", where, r.P)
	if len(r.RUA) > 0 {
		ev += " rua=" + strings.Join(r.RUA, ",")
	} else {
		ev += " (no rua)"
	}
	switch {
	case len(r.Warnings) > 0:
		fixed := "v=DMARC1; p=" + string(r.P)
		if r.P == "" {
			fixed = "v=DMARC1; p=" + o.DMARCPolicy
		}
		if len(r.RUA) > 0 {
			fixed += "; rua=" + strings.Join(r.RUA, ",")
		}
		rep.add(Item{Domain: domain, Check: "dmarc", Status: Fail, Evidence: ev + ": " + strings.Join(r.Warnings, "; "),
			Fix: "publish the record without the mistakes: " + zoneTXT(where, fixed)})
	case len(r.RUA) == 0:
		rep.add(Item{Domain: domain, Check: "dmarc", Status: Warn, Evidence: ev + ": no aggregate reports will reach you",
			Fix: "add rua=mailto:ADDRESS to the record at " + where})
	case r.P == dmarc.PolicyNone:
		rep.add(Item{Domain: domain, Check: "dmarc", Status: Warn, Evidence: ev + ": monitoring only",
			Fix: "once the reports show only your own mail passing, move to p=quarantine, then p=reject"})
	default:
		rep.add(Item{Domain: domain, Check: "dmarc", Status: Pass, Evidence: ev})
	}
	o.checkRUA(ctx, rep, domain, found.Domain, r.RUA)
}

// checkRUA: RFC 7489 7.1, a report address in another organizational
// domain must be authorised by DOMAIN._report._dmarc.RUADOMAIN.
func (o Options) checkRUA(ctx context.Context, rep *Report, domain, recDomain string, ruas []string) {
	org := dmarc.OrgDomain(o.Suffixes, recDomain)
	checked := false
	for _, raw := range ruas {
		u, err := dmarc.ParseURI(raw)
		addr := strings.TrimPrefix(strings.ToLower(raw), "mailto:")
		if err == nil {
			addr = strings.ToLower(u.Address)
		}
		at := strings.LastIndexByte(addr, '@')
		if at < 0 {
			continue
		}
		ruaDom := strings.TrimSuffix(addr[at+1:], ".")
		if i := strings.IndexAny(ruaDom, "!?"); i >= 0 {
			ruaDom = ruaDom[:i]
		}
		if strings.EqualFold(dmarc.OrgDomain(o.Suffixes, ruaDom), org) {
			continue
		}
		checked = true
		name := recDomain + "._report._dmarc." + ruaDom
		txts, err := txtAdapter{o}.LookupTXT(ctx, name)
		ok := false
		for _, t := range txts {
			if dmarc.IsDMARCRecord(t) {
				ok = true
			}
		}
		if ok {
			rep.add(Item{Domain: domain, Check: "dmarc-rua", Status: Pass, Evidence: name + " authorises reports to " + addr})
			continue
		}
		ev := name + ": no v=DMARC1 record"
		if err != nil && !resolver.IsNotFound(err) {
			ev = name + ": " + err.Error()
		}
		rep.add(Item{Domain: domain, Check: "dmarc-rua", Status: Fail,
			Evidence: ev + ": receivers will not send reports to " + addr,
			Fix:      "the owner of " + ruaDom + " publishes: " + zoneTXT(name, "v=DMARC1")})
	}
	if !checked {
		rep.add(Item{Domain: domain, Check: "dmarc-rua", Status: Pass, Evidence: "no external report address"})
	}
}
