package smeimport

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/smedb"
)

// SMEDKIMKeysDir is SME's DKIM key layout, which mailwarden reads as is.
const SMEDKIMKeysDir = "/home/e-smith/dkimkeys"

// plumbing names properties that configure a service rather than a policy:
// mailwarden leaves them to Postfix, systemd or the packages.
var plumbing = map[string]string{
	"status":           "service switch of the SME daemon",
	"TCPPort":          "port of the SME daemon: Postfix's listener now",
	"access":           "listener access (public/private): Postfix's master.cf now",
	"UDPPort":          "port of the SME daemon",
	"InstancePerUser":  "spamd process layout",
	"ConcurrencyLimit": "qmail/qpsmtpd process limit: Postfix's smtpd process limit now",
	"MaxInstances":     "process limit: Postfix's default_process_limit now",
	"LogLevel":         "logging: [log] level",
	"tlsBeforeAuth":    "TLS/AUTH policy: Postfix's smtpd_tls_auth_only",
	"RequireTLS":       "TLS policy: Postfix's smtpd_tls_security_level",
	"Authentication":   "SMTP AUTH: Postfix's smtpd_sasl_auth_enable",
}

// Convert maps the databases to a policy file.
func Convert(src *Source) *Result {
	e := &emitter{secs: map[string]*section{}}
	cfg := src.Configuration
	domainName := typeOf(cfg.Get("DomainName"))

	// server.hostname
	if sys := typeOf(cfg.Get("SystemName")); sys != "" && domainName != "" {
		e.set("server", "hostname", sys+"."+domainName, "SystemName + DomainName")
	}
	// networks db -> local networks
	if src.Networks != nil {
		nets := []string{"127.0.0.0/8", "::1/128"}
		for _, r := range src.Networks.OfType("network") {
			mask, _ := r.Prop("Mask")
			p, err := cidr(r.Key, mask)
			if err != nil {
				e.skip("networks "+r.Key, mask, err.Error())
				continue
			}
			nets = append(nets, p)
		}
		e.set("profiles", "local_networks", nets, "networks db (local networks)")
	}

	convertSpamAssassin(e, cfg.Get("spamassassin"))
	convertQpsmtpd(e, src, cfg.Get("qpsmtpd"), domainName)
	convertQmail(e, cfg.Get("qmail"))
	convertClamav(e, cfg.Get("clamav"))
	convertDomains(e, src)
	convertAccounts(e, src.Accounts)
	convertWBL(e, src.SpamAssassin)

	return e.finish(src)
}

// finish renders the file and validates it as `config check` does; a value
// the policy file refuses (a zone name mailwarden cannot use, a level out
// of range) is taken out and listed as not carried over with the
// validator's reason, so the output always loads.
func (e *emitter) finish(src *Source) *Result {
	for range e.carried + 1 {
		text, at := e.render(src)
		_, err := config.Parse("import", text)
		ps, ok := err.(config.Problems)
		if err == nil || !ok {
			return &Result{TOML: text, Carried: e.carried, Skipped: e.skipped}
		}
		progress := false
		for _, p := range ps {
			ens := at[p.Line]
			if len(ens) == 0 {
				if en := lastIn(e, p.Key); en != nil {
					ens = []*entry{en}
				}
			}
			for _, en := range ens {
				if en.dropped {
					continue
				}
				en.dropped = true
				e.carried--
				progress = true
				what := en.origin
				if what == "" {
					what = p.Key
				}
				e.skipped = append(e.skipped, commentSafe(fmt.Sprintf("%s (%s = %s): refused by mailwarden: %s", what, p.Key, en.value, p.Msg)))
			}
		}
		if !progress {
			break
		}
	}
	text, _ := e.render(src)
	return &Result{TOML: text, Carried: e.carried, Skipped: e.skipped}
}

// lastIn finds the last live entry of the section a problem key is in
// (for problems reported on a key the file does not set).
func lastIn(e *emitter, key string) *entry {
	for k := key; k != ""; {
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
		if s := e.secs[k]; s != nil {
			for j := len(s.lines) - 1; j >= 0; j-- {
				if !s.lines[j].dropped {
					return s.lines[j]
				}
			}
		}
	}
	return nil
}

func typeOf(r *smedb.Record) string {
	if r == nil {
		return ""
	}
	return strings.TrimSpace(r.Type)
}

// props walks a record's properties in file order; handle returns false
// for a property it does not know, which is then listed as skipped.
func props(e *emitter, rec *smedb.Record, what string, handle func(prop, val string) bool) {
	if rec == nil {
		return
	}
	for _, p := range rec.PropOrder {
		v := rec.Props[p]
		if handle(p, v) {
			continue
		}
		if why, ok := plumbing[p]; ok {
			if p == "status" {
				continue // handled (or meaningless) per record
			}
			e.skip(what+" "+p, v, why)
			continue
		}
		e.skip(what+" "+p, v, "no mailwarden equivalent")
	}
}

func origin(rec, prop string) string { return rec + " " + prop }

func (e *emitter) setBool(sec, key, rec, prop, v string) {
	b, ok := onOff(v)
	if !ok {
		e.skip(origin(rec, prop), v, "not enabled/disabled")
		return
	}
	e.set(sec, key, b, origin(rec, prop))
}

func (e *emitter) setFloat(sec, key, rec, prop, v string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		e.skip(origin(rec, prop), v, "not a number")
		return 0, false
	}
	e.set(sec, key, f, origin(rec, prop))
	return f, true
}

func (e *emitter) setInt(sec, key, rec, prop, v string, lo, hi int) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lo || n > hi {
		e.skip(origin(rec, prop), v, fmt.Sprintf("not a whole number from %d to %d", lo, hi))
		return
	}
	e.set(sec, key, n, origin(rec, prop))
}

func (e *emitter) setSize(sec, key, rec, prop, v string) {
	n, ok := parseSize(v)
	if !ok {
		e.skip(origin(rec, prop), v, "not a size (bytes, or a number with K, M or G)")
		return
	}
	e.set(sec, key, n, origin(rec, prop))
}

func convertSpamAssassin(e *emitter, rec *smedb.Record) {
	const r = "spamassassin"
	if st, ok := rec.Prop("status"); ok {
		if on, ok := onOff(st); ok && !on {
			e.set("rules", "enabled", false, "spamassassin status=disabled")
			e.set("bayes", "enabled", false, "spamassassin status=disabled")
		}
	}
	var bayesOff bool
	if v, ok := rec.Prop("UseBayes"); ok {
		on, _ := onOff(v)
		bayesOff = !on
	}
	props(e, rec, r, func(p, v string) bool {
		switch p {
		case "TagLevel":
			e.setFloat("spam", "tag_level", r, p, v)
		case "RejectLevel":
			e.setFloat("spam", "reject_level", r, p, v)
		case "Sensitivity":
			s := strings.ToLower(strings.TrimSpace(v))
			switch s {
			case "veryhigh", "high", "medium", "low", "verylow", "custom":
				e.set("spam", "sensitivity", s, origin(r, p))
			default:
				e.skip(origin(r, p), v, "unknown sensitivity (veryhigh, high, medium, low, verylow, custom)")
			}
		case "SubjectTag":
			e.setBool("spam", "subject_tag", r, p, v)
		case "SubjectTagText":
			e.set("spam", "subject_prefix", v, origin(r, p))
		case "SortSpam":
			e.setBool("sorting", "enabled", r, p, v)
		case "UseBayes":
			if bayesOff || rec.Props["status"] != "disabled" {
				e.setBool("bayes", "enabled", r, p, v)
			}
		case "UseBayesAutoLearn", "BayesAutoLearn":
			e.setBool("bayes", "autolearn", r, p, v)
		case "BayesAutoLearnThresholdSpam":
			e.setFloat("bayes", "autolearn_threshold_spam", r, p, v)
		case "BayesAutoLearnThresholdNonspam":
			e.setFloat("bayes", "autolearn_threshold_nonspam", r, p, v)
		case "MessageRetentionTime":
			e.setInt("bayes.learn", "message_retention_time", r, p, v, 0, 36500)
		default:
			return false
		}
		return true
	})
}

func convertQpsmtpd(e *emitter, src *Source, rec *smedb.Record, domainName string) {
	const r = "qpsmtpd"
	var disclaimerOn bool
	var disclaimerText string
	props(e, rec, r, func(p, v string) bool {
		switch p {
		case "DNSBL":
			e.setBool("envelope.dnsbl", "enabled", r, p, v)
		case "RBLList":
			e.set("envelope.dnsbl", "zones", list(v), origin(r, p))
		case "RHSBL":
			e.setBool("envelope.rhsbl", "enabled", r, p, v)
		case "SBLList":
			e.set("envelope.rhsbl", "zones", list(v), origin(r, p))
		case "URIBL":
			e.setBool("envelope.uribl", "enabled", r, p, v)
		case "UBLList":
			e.set("envelope.uribl", "zones", list(v), origin(r, p))
		case "HeloPolicy":
			s := strings.ToLower(strings.TrimSpace(v))
			switch s {
			case "off", "lenient", "rfc", "strict":
				e.set("envelope.helo", "policy", s, origin(r, p))
			case "disabled":
				e.set("envelope.helo", "policy", "off", origin(r, p))
			default:
				e.skip(origin(r, p), v, "unknown HELO policy (off, lenient, rfc, strict)")
			}
		case "Karma":
			e.setBool("karma", "enabled", r, p, v)
		case "KarmaNegative":
			e.setInt("karma", "negative", r, p, v, 1, 1000)
		case "KarmaStrikes":
			e.setInt("karma", "strikes", r, p, v, 1, 100)
		case "MaxLoad":
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil || f <= 0 {
				e.skip(origin(r, p), v, "not a load above 0")
			} else {
				e.set("load", "enabled", true, origin(r, p)+" set")
				e.set("load", "max_load", f, origin(r, p))
			}
		case "SPFRejectPolicy":
			e.setInt("spf", "reject_policy", r, p, v, 0, 4)
		case "DMARCReject":
			e.setBool("dmarc", "reject", r, p, v)
		case "DMARCReporting":
			e.setBool("dmarc", "reporting", r, p, v)
		case "DKIMSigning":
			e.setBool("dkim", "signing", r, p, v)
			e.set("dkim", "keys_dir", SMEDKIMKeysDir, "the DKIM key layout")
		case "Bcc":
			e.setBool("bcc", "enabled", r, p, v)
		case "BccUser":
			addr := strings.TrimSpace(v)
			if !strings.Contains(addr, "@") {
				if domainName == "" {
					e.skip(origin(r, p), v, "a user name and no DomainName record to make it an address")
					return true
				}
				addr += "@" + domainName
			}
			e.set("bcc", "mailbox", addr, origin(r, p))
		case "BccMode":
			s := strings.ToLower(strings.TrimSpace(v))
			if s != "bcc" && s != "cc" {
				e.skip(origin(r, p), v, "unknown mode (bcc or cc)")
				return true
			}
			e.set("bcc", "mode", s, origin(r, p))
		case "Disclaimer":
			on, ok := onOff(v)
			if !ok {
				e.skip(origin(r, p), v, "not enabled/disabled")
				return true
			}
			disclaimerOn = on
		case "DisclaimerText":
			disclaimerText = v
		case "MaxScannerSize":
			e.setSize("virus", "max_size", r, p, v)
		case "MaxMessageSize":
			e.setSize("limits", "max_message_size", r, p, v)
		default:
			return false
		}
		return true
	})
	if disclaimerText == "" {
		disclaimerText = src.DisclaimerText
	}
	perDomain := map[string]string{}
	if src.Domains != nil {
		for _, d := range src.Domains.OfType("domain") {
			if t, ok := d.Prop("DisclaimerText"); ok && strings.TrimSpace(t) != "" {
				perDomain[strings.ToLower(d.Key)] = t
			}
		}
	}
	if _, set := rec.Prop("Disclaimer"); set {
		if disclaimerOn && disclaimerText == "" && len(perDomain) == 0 {
			e.skip("qpsmtpd Disclaimer", "enabled", "no text found (DisclaimerText property or DIR/disclaimer file): left disabled")
			disclaimerOn = false
		}
		e.set("disclaimer", "enabled", disclaimerOn, "qpsmtpd Disclaimer")
	}
	if disclaimerText != "" {
		e.set("disclaimer", "text", disclaimerText, "the disclaimer text")
	}
	if len(perDomain) > 0 {
		doms := make([]string, 0, len(perDomain))
		for d := range perDomain {
			doms = append(doms, d)
		}
		sort.Strings(doms)
		for _, d := range doms {
			e.set("disclaimer.domains", tomlString(d), perDomain[d], "domains "+d+" DisclaimerText")
		}
	}
	if src.Domains != nil && (disclaimerOn || len(perDomain) > 0) {
		var local []string
		for _, d := range src.Domains.OfType("domain") {
			local = append(local, strings.ToLower(d.Key))
		}
		if len(local) > 0 {
			e.set("disclaimer", "local_domains", local, "domains db")
		}
	}
}

func convertQmail(e *emitter, rec *smedb.Record) {
	const r = "qmail"
	props(e, rec, r, func(p, v string) bool {
		if p == "MaxMessageSize" {
			e.setSize("limits", "max_message_size", r, p, v)
			return true
		}
		return false
	})
}

func convertClamav(e *emitter, rec *smedb.Record) {
	const r = "clamav"
	if st, ok := rec.Prop("status"); ok {
		e.setBool("virus", "enabled", r, "status", st)
	}
	props(e, rec, r, func(p, v string) bool {
		if p == "MaxScannerSize" {
			e.setSize("virus", "max_size", r, p, v)
			return true
		}
		return false
	})
}

func convertDomains(e *emitter, src *Source) {
	if src.Domains == nil {
		return
	}
	for _, d := range src.Domains.OfType("domain") {
		name := strings.ToLower(d.Key)
		what := "domains " + name
		props(e, d, what, func(p, v string) bool {
			switch p {
			case "DKIMSigning":
				on, ok := onOff(v)
				if !ok {
					e.skip(origin(what, p), v, "not enabled/disabled")
				} else if !on {
					e.set("dkim.domain."+tomlString(name), "signing", false, origin(what, p))
				}
				// enabled: signed like every domain with a key (the default)
			case "DisclaimerText":
				// handled with the qpsmtpd record
			case "Content", "Description", "Nameservers", "Removable", "SystemPrimaryDomain", "DNSforward":
				// web/DNS properties of the domain, nothing for a mail filter
			default:
				return false
			}
			return true
		})
	}
}

func convertAccounts(e *emitter, db *smedb.DB) {
	if db == nil {
		return
	}
	var internal []string
	for _, k := range db.Keys() {
		r := db.Get(k)
		switch r.Type {
		case "user", "group", "pseudonym":
		default:
			continue
		}
		if v, _ := r.Prop("Visible"); strings.EqualFold(v, "internal") {
			internal = append(internal, strings.ToLower(k)+"@")
		}
	}
	if len(internal) > 0 {
		e.set("envelope.internal", "recipients", internal, "accounts Visible=internal")
	}
}

// convertWBL reads the spamassassin db: SENDER=White / SENDER=Black
// (db spamassassin set *@example.com White).
func convertWBL(e *emitter, db *smedb.DB) {
	if db == nil {
		return
	}
	var white, black []string
	for _, k := range db.Keys() {
		r := db.Get(k)
		typ := strings.ToLower(r.Type)
		if typ != "white" && typ != "whitelist" && typ != "black" && typ != "blacklist" {
			e.skip("spamassassin db "+k, r.Type, "neither White nor Black")
			continue
		}
		if strings.ContainsAny(k, " \t,;") {
			e.skip("spamassassin db "+k, r.Type, "not a sender pattern")
			continue
		}
		if strings.HasPrefix(typ, "white") {
			white = append(white, k)
		} else {
			black = append(black, k)
		}
	}
	if len(white) > 0 {
		e.set("wblist", "whitelist_from", white, "spamassassin db White entries")
	}
	if len(black) > 0 {
		e.set("wblist", "blacklist_from", black, "spamassassin db Black entries")
	}
}

// cidr turns SME's network record (address key, Mask property) into a prefix.
func cidr(addr, mask string) (string, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is4() {
		return "", fmt.Errorf("not an IPv4 network address")
	}
	m, err := netip.ParseAddr(mask)
	if err != nil || !m.Is4() {
		return "", fmt.Errorf("not a netmask")
	}
	b := m.As4()
	bits := 0
	seenZero := false
	for _, x := range b {
		for i := 7; i >= 0; i-- {
			if x&(1<<i) != 0 {
				if seenZero {
					return "", fmt.Errorf("not a contiguous netmask")
				}
				bits++
			} else {
				seenZero = true
			}
		}
	}
	return netip.PrefixFrom(a, bits).Masked().String(), nil
}
