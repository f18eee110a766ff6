package smeimport

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mailwarden/mailwarden/internal/smedb"
)

// Databases read, and the one that must be there.
var (
	optionalDBs = []string{"accounts", "domains", "spamassassin", "networks"}
	requiredDB  = "configuration"
)

// MaxDisclaimerFile bounds the disclaimer text file read (the policy file
// itself refuses texts over 16 kB).
const MaxDisclaimerFile = 64 << 10

// Source is the set of SME databases read from a directory.
type Source struct {
	Dir            string
	Configuration  *smedb.DB
	Accounts       *smedb.DB
	Domains        *smedb.DB
	SpamAssassin   *smedb.DB
	Networks       *smedb.DB
	DisclaimerText string // DIR/disclaimer, if present
	Warnings       []string
}

// LoadDir finds and reads the databases under dir.
func LoadDir(dir string) (*Source, error) {
	var base string
	for _, cand := range []string{dir, filepath.Join(dir, "home", "e-smith", "db"), filepath.Join(dir, "db")} {
		if st, err := os.Stat(filepath.Join(cand, requiredDB)); err == nil && st.Mode().IsRegular() {
			base = cand
			break
		}
	}
	if base == "" {
		return nil, fmt.Errorf("%s: no e-smith %q database here (nor in home/e-smith/db or db): copy /home/e-smith/db from the SME server", dir, requiredDB)
	}
	src := &Source{Dir: base}
	load := func(name string, required bool) (*smedb.DB, error) {
		db, err := smedb.Load(filepath.Join(base, name))
		if errors.Is(err, fs.ErrNotExist) && !required {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		src.Warnings = append(src.Warnings, db.Warnings...)
		return db, nil
	}
	var err error
	if src.Configuration, err = load(requiredDB, true); err != nil {
		return nil, err
	}
	dbs := []**smedb.DB{&src.Accounts, &src.Domains, &src.SpamAssassin, &src.Networks}
	for i, name := range optionalDBs {
		if *dbs[i], err = load(name, false); err != nil {
			return nil, err
		}
	}
	for _, p := range []string{filepath.Join(base, "disclaimer"), filepath.Join(dir, "disclaimer")} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		buf := make([]byte, MaxDisclaimerFile+1)
		n, _ := f.Read(buf)
		f.Close()
		if n > MaxDisclaimerFile {
			return nil, fmt.Errorf("%s: longer than %d bytes: not a disclaimer", p, MaxDisclaimerFile)
		}
		src.DisclaimerText = strings.TrimSpace(string(buf[:n]))
		break
	}
	return src, nil
}

// Result is the converted policy file.
type Result struct {
	TOML []byte
	// Carried counts the settings written; Skipped lists those that were not,
	// with the reason (also in the file's header comment).
	Carried int
	Skipped []string
}

// emitter collects TOML sections in a fixed order.
type emitter struct {
	secs    map[string]*section
	skipped []string
	carried int
}

type section struct {
	name  string
	lines []*entry
}

// entry is one key = value line.
type entry struct {
	key, value, origin string
	dropped            bool
}

func (en *entry) text() string {
	l := en.key + " = " + en.value
	if en.origin != "" {
		l += "  # SME: " + commentSafe(en.origin)
	}
	return l
}

// sectionOrder is the order of the sections in the output (that of
// deploy/mailwarden.toml).
var sectionOrder = []string{
	"server", "profiles", "limits", "spam", "rules", "wblist", "sorting",
	"envelope.dnsbl", "envelope.rhsbl", "envelope.uribl", "envelope.helo", "envelope.internal",
	"virus", "spf", "dmarc", "karma", "load", "dkim", "dkim.domain", "disclaimer", "disclaimer.domains",
	"bcc", "bayes", "bayes.learn",
}

func rank(name string) int {
	best, bestLen := len(sectionOrder), -1
	for i, s := range sectionOrder {
		if (name == s || strings.HasPrefix(name, s+".")) && len(s) > bestLen {
			best, bestLen = i, len(s)
		}
	}
	return best
}

func (e *emitter) set(sec, key string, val any, origin string) {
	s := e.secs[sec]
	if s == nil {
		s = &section{name: sec}
		e.secs[sec] = s
	}
	s.lines = append(s.lines, &entry{key: key, value: tomlValue(val), origin: origin})
	e.carried++
}

func (e *emitter) skip(origin, value, why string) {
	if value != "" {
		origin += "=" + value
	}
	e.skipped = append(e.skipped, commentSafe(origin+": "+why))
}

// commentSafe makes text fit a TOML comment: valid UTF-8, no control
// characters (TOML 1.0 refuses both in comments).
func commentSafe(s string) string {
	s = strings.ToValidUTF8(s, "?")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

func tomlValue(v any) string {
	switch x := v.(type) {
	case string:
		return tomlString(x)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		return s
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = tomlString(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	panic(fmt.Sprintf("smeimport: no TOML form for %T", v))
}

// tomlString quotes a TOML basic string (TOML 1.0 2.4: \" \\ \b \t \n \f \r
// and \uXXXX for the other control characters).
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// render writes the file: header, skipped settings, sections. at maps the
// line numbers of key lines to their entries.
func (e *emitter) render(src *Source) (text []byte, at map[int][]*entry) {
	at = map[int][]*entry{}
	var b strings.Builder
	b.WriteString("# mailwarden policy file imported from an SME Server by `mailwarden import-sme`.\n")
	fmt.Fprintf(&b, "# Source: the e-smith databases in %s.\n", filepath.Base(src.Dir))
	b.WriteString("# Settings not written here keep mailwarden's built-in defaults (deploy/mailwarden.toml shows them;\n# clamd scanning, karma and the load check are off unless turned on here).\n")
	b.WriteString("# Check it with: mailwarden config check FILE\n")
	if len(e.skipped) > 0 {
		b.WriteString("#\n# Not carried over:\n")
		for _, s := range e.skipped {
			b.WriteString("#   " + commentSafe(s) + "\n")
		}
	}
	if len(src.Warnings) > 0 {
		b.WriteString("#\n# Lines of the databases that are not records (skipped):\n")
		for _, w := range src.Warnings {
			b.WriteString("#   " + commentSafe(w) + "\n")
		}
	}
	names := make([]string, 0, len(e.secs))
	for n := range e.secs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		var live []*entry
		for _, en := range e.secs[n].lines {
			if !en.dropped {
				live = append(live, en)
			}
		}
		if len(live) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n[%s]\n", n)
		at[strings.Count(b.String(), "\n")] = live // the table header: all of it
		for _, en := range live {
			b.WriteString(en.text() + "\n")
			at[strings.Count(b.String(), "\n")] = []*entry{en}
		}
	}
	return []byte(b.String()), at
}

// onOff reads SME's enabled/disabled (and yes/no, on/off, 1/0).
func onOff(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "enabled", "enable", "yes", "on", "1", "true":
		return true, true
	case "disabled", "disable", "no", "off", "0", "false":
		return false, true
	}
	return false, false
}

// list splits SME's lists: colon separated as SME stores them
// (RBLList|zen.spamhaus.org:bl.spamcop.net; its templates split on ':'),
// also accepting comma, semicolon and blank separated ones.
func list(v string) []string {
	f := strings.FieldsFunc(v, func(r rune) bool { return r == ':' || r == ',' || r == ' ' || r == '\t' || r == ';' })
	out := []string{}
	for _, s := range f {
		out = append(out, strings.ToLower(s))
	}
	return out
}

// parseSize reads an SME size: a byte count, or a number with a K, M or G
// suffix (any case) counted in 1024s as clamd and SME's templates do
// ("25M" = 26214400 bytes). mailwarden's own size syntax reads "25M" as
// 25000000, so the importer writes the byte count.
func parseSize(v string) (int64, bool) {
	t := strings.TrimSpace(v)
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			t = strings.TrimSpace(t[:len(t)-1])
		}
	}
	if t == "" || strings.TrimLeft(t, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}
