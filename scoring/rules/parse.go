package rules

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Limits on rule files.
const (
	// MaxIncludeDepth: include chains deeper than this are a loop.
	MaxIncludeDepth = 10
	// MaxRules: SpamAssassin's whole stock set is ~3000 rules; ten times
	// that is a runaway generator, not a rule set.
	MaxRules = 30000
	// MaxLineLen: one directive per line, as SpamAssassin requires.
	MaxLineLen = 16 << 10
)

// Kind is the rule type.
type Kind int

const (
	KindHeader  Kind = iota // header
	KindBody                // body: decoded, HTML-rendered text, per paragraph
	KindRawBody             // rawbody: decoded text parts, HTML not rendered
	KindFull                // full: the whole raw message
	KindURI                 // uri: each URL in the body
	KindMeta                // meta: expression over other rules
)

var kindNames = [...]string{"header", "body", "rawbody", "full", "uri", "meta"}

func (k Kind) String() string { return kindNames[k] }

// Rule is one rule of a rule file.
type Rule struct {
	Name string
	Kind Kind
	File string
	Line int

	// Header rules.
	Header  string // field name, or ALL, ToCc, MESSAGEID, EnvelopeFrom
	Mod     string // "", "raw", "addr", "name"
	Exists  bool   // exists:Field
	Negate  bool   // !~
	IfUnset *string

	Pattern string
	Re      *regexp.Regexp
	lits    []string // required literals (prefilter), nil: always run

	meta     metaExpr
	MetaDeps []string
	eval     evalFunc // eval:NAME() built-in test

	Score    float64
	scoreSet bool
	Describe string
	Tflags   []string
	Multiple bool
	MaxHits  int
}

// Sub reports whether the rule is a meta sub-rule ("__" prefix): it is
// evaluated but never scored or listed, as in SpamAssassin.
func (r *Rule) Sub() bool { return strings.HasPrefix(r.Name, "__") }

// LoadError is one problem in a rule file.
type LoadError struct {
	File string
	Line int
	Msg  string
}

func (e LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// LoadErrors is every problem found while loading.
type LoadErrors []LoadError

func (es LoadErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Set is a loaded, compiled rule set.
type Set struct {
	Rules    []*Rule // in definition order
	byName   map[string]*Rule
	Warnings []string
	// metaOrder lists meta rules so that each comes after the metas it uses.
	metaOrder []*Rule
	// Per content kind: rules with literals share one automaton; the
	// others always run.
	body, raw, full contentIndex
	headers, uris   []*Rule
	evals           []*Rule
}

// Rule returns a rule by name.
func (s *Set) Rule(name string) *Rule { return s.byName[name] }

type loader struct {
	set    *Set
	errs   LoadErrors
	seen   map[string]bool
	scores map[string]float64 // explicit score settings, for relative scores
}

// Load reads rule files and directories (every *.cf in a directory, in
// name order, as SpamAssassin does) and compiles them. A later definition
// of a rule replaces an earlier one. The error, if any, is LoadErrors
// naming file and line of every problem.
func Load(paths ...string) (*Set, error) {
	l := &loader{set: &Set{byName: map[string]*Rule{}}, seen: map[string]bool{}, scores: map[string]float64{}}
	for _, p := range paths {
		l.loadPath(p, 0)
	}
	l.finish()
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	return l.set, nil
}

// LoadString compiles rule text (for tests and tools); name appears in errors.
func LoadString(name, text string) (*Set, error) {
	l := &loader{set: &Set{byName: map[string]*Rule{}}, seen: map[string]bool{}, scores: map[string]float64{}}
	l.parse(name, bufio.NewScanner(strings.NewReader(text)), 0)
	l.finish()
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	return l.set, nil
}

func (l *loader) errf(file string, line int, format string, args ...any) {
	l.errs = append(l.errs, LoadError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) loadPath(p string, depth int) {
	fi, err := os.Stat(p)
	if err != nil {
		l.errf(p, 0, "%v", err)
		return
	}
	if !fi.IsDir() {
		l.loadFile(p, depth)
		return
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		l.errf(p, 0, "%v", err)
		return
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".cf") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		l.loadFile(filepath.Join(p, n), depth)
	}
}

func (l *loader) loadFile(p string, depth int) {
	abs, _ := filepath.Abs(p)
	if l.seen[abs] {
		return
	}
	l.seen[abs] = true
	f, err := os.Open(p)
	if err != nil {
		l.errf(p, 0, "%v", err)
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	l.parse(p, sc, depth)
}

// stripComment removes a #-comment; "\#" stands for a literal '#'.
func stripComment(s string) string {
	if !strings.Contains(s, "#") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == '#' {
			b.WriteByte('#')
			i++
			continue
		}
		if s[i] == '#' {
			break
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ignored are SpamAssassin settings that have a mailwarden.toml
// equivalent or no meaning here; they are skipped with a warning so that a
// local.cf can be used as it is.
var ignored = map[string]string{
	"required_score": "spam.tag_level", "required_hits": "spam.tag_level",
	"rewrite_header": "spam.subject_tag", "report_safe": "", "use_bayes": "[bayes]",
	"bayes_auto_learn": "[bayes]", "skip_rbl_checks": "[dnsbl]", "add_header": "spam.headers",
	"remove_header": "", "clear_headers": "", "report": "", "clear_report_template": "",
	"lang": "", "ok_locales": "", "ok_languages": "", "trusted_networks": "profiles.local_networks",
	"internal_networks": "profiles.local_networks", "dns_available": "[dns]", "use_razor2": "",
	"use_pyzor": "", "use_dcc": "", "normalize_charset": "", "priority": "", "loadplugin": "",
	"whitelist_from": "wblist.whitelist_from", "blacklist_from": "wblist.blacklist_from",
	"welcomelist_from": "wblist.whitelist_from", "blocklist_from": "wblist.blacklist_from",
	"envelope_sender_header": "", "version_tag": "", "fold_headers": "",
}

func (l *loader) parse(file string, sc *bufio.Scanner, depth int) {
	sc.Buffer(make([]byte, 4096), MaxLineLen)
	skip := 0 // inside if/ifplugin blocks we do not run
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(stripComment(sc.Text()))
		if line == "" {
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(word, '\t'); i >= 0 {
			word, rest = line[:i], line[i+1:]
		}
		rest = strings.TrimSpace(rest)
		switch word {
		case "if", "ifplugin":
			// Plugins and Perl conditions do not exist here: the block is
			// skipped (nested blocks counted).
			skip++
			if skip == 1 {
				l.set.Warnings = append(l.set.Warnings, fmt.Sprintf("%s:%d: %s block skipped (no SpamAssassin plugins or conditions here)", file, n, word))
			}
			continue
		case "else":
			continue
		case "endif":
			if skip > 0 {
				skip--
			} else {
				l.errf(file, n, "endif without if")
			}
			continue
		}
		if skip > 0 {
			continue
		}
		switch word {
		case "header", "body", "rawbody", "full", "uri", "meta":
			l.rule(file, n, word, rest)
		case "score":
			l.score(file, n, rest)
		case "describe":
			name, text, _ := strings.Cut(rest, " ")
			l.named(file, n, name, func(r *Rule) { r.Describe = strings.TrimSpace(text) })
		case "tflags":
			name, text, _ := strings.Cut(rest, " ")
			flags := strings.Fields(text)
			l.named(file, n, name, func(r *Rule) {
				r.Tflags = flags
				for _, f := range flags {
					if f == "multiple" {
						r.Multiple = true
					}
					if v, ok := strings.CutPrefix(f, "maxhits="); ok {
						m, err := strconv.Atoi(v)
						if err != nil || m < 1 {
							l.errf(file, n, "tflags %s: bad maxhits %q", name, v)
						}
						r.MaxHits = m
						r.Multiple = true
					}
				}
			})
		case "include":
			if depth >= MaxIncludeDepth {
				l.errf(file, n, "include nested more than %d deep (a loop?)", MaxIncludeDepth)
				continue
			}
			p := rest
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(file), p)
			}
			l.loadPath(p, depth+1)
		default:
			if key, ok := ignored[word]; ok {
				msg := fmt.Sprintf("%s:%d: %q ignored", file, n, word)
				if key != "" {
					msg += " (set " + key + " in mailwarden.toml)"
				}
				l.set.Warnings = append(l.set.Warnings, msg)
				continue
			}
			l.errf(file, n, "unknown directive %q (supported: header, body, rawbody, full, uri, meta, score, describe, tflags, include)", word)
		}
	}
	if err := sc.Err(); err != nil {
		l.errf(file, 0, "read: %v", err)
	}
	if skip > 0 {
		l.errf(file, 0, "if/ifplugin without endif")
	}
}

var ruleName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// named applies f to an already defined rule.
func (l *loader) named(file string, line int, name string, f func(*Rule)) {
	if !ruleName.MatchString(name) {
		l.errf(file, line, "bad rule name %q", name)
		return
	}
	r := l.set.byName[name]
	if r == nil {
		// SpamAssassin allows describe/tflags before the rule; we keep a
		// placeholder that the definition fills.
		r = &Rule{Name: name, Kind: -1, File: file, Line: line}
		l.set.byName[name] = r
	}
	f(r)
}

func (l *loader) score(file string, line int, rest string) {
	f := strings.Fields(rest)
	if len(f) != 2 && len(f) != 5 {
		l.errf(file, line, "score: want a rule name and 1 or 4 scores")
		return
	}
	name := f[0]
	// Of four scores (SpamAssassin's score sets: without/with Bayes, without/with
	// network tests) we take the fourth: mailwarden runs Bayes and network checks.
	v := f[len(f)-1]
	relative := false
	if strings.HasPrefix(v, "(") && strings.HasSuffix(v, ")") {
		relative = true
		v = v[1 : len(v)-1]
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		l.errf(file, line, "score %s: %q is not a number", name, v)
		return
	}
	if relative {
		// SpamAssassin: a score in parentheses is added to the score set
		// earlier in the configuration; without one it is an error.
		prev, ok := l.scores[name]
		if !ok {
			l.errf(file, line, "score %s (%s): relative score without a previous score for the rule", name, v)
			return
		}
		x += prev
	}
	l.scores[name] = x
	l.named(file, line, name, func(r *Rule) { r.Score, r.scoreSet = x, true })
}

func (l *loader) rule(file string, line int, kind, rest string) {
	name, def, _ := strings.Cut(rest, " ")
	if i := strings.IndexByte(name, '\t'); i >= 0 {
		name, def = rest[:i], rest[i+1:]
	}
	def = strings.TrimSpace(def)
	if !ruleName.MatchString(name) {
		l.errf(file, line, "%s: bad rule name %q", kind, name)
		return
	}
	if def == "" {
		l.errf(file, line, "%s %s: missing definition", kind, name)
		return
	}
	r := &Rule{Name: name, File: file, Line: line}
	if old := l.set.byName[name]; old != nil {
		// Keep settings given before (describe, score, tflags).
		r.Score, r.scoreSet, r.Describe, r.Tflags, r.Multiple, r.MaxHits = old.Score, old.scoreSet, old.Describe, old.Tflags, old.Multiple, old.MaxHits
		if old.Kind >= 0 {
			l.removeRule(old)
		}
	}
	var err error
	switch {
	case strings.HasPrefix(def, "eval:"):
		if kind == "meta" {
			err = fmt.Errorf("meta rules cannot use eval:")
			break
		}
		r.Kind = map[string]Kind{"header": KindHeader, "body": KindBody, "rawbody": KindRawBody, "full": KindFull, "uri": KindURI}[kind]
		r.eval, err = parseEval(def)
		r.Pattern = def
	case kind == "header":
		r.Kind = KindHeader
		err = parseHeaderRule(r, def)
	case kind == "meta":
		r.Kind = KindMeta
		r.meta, r.MetaDeps, err = parseMeta(def)
		r.Pattern = def
	default:
		r.Kind = map[string]Kind{"body": KindBody, "rawbody": KindRawBody, "full": KindFull, "uri": KindURI}[kind]
		var pat, flags, tail string
		pat, flags, tail, err = splitPattern(def)
		if err == nil && tail != "" {
			err = fmt.Errorf("unexpected text after the pattern: %q", trunc(tail, 30))
		}
		if err == nil {
			r.Pattern = def
			r.Re, err = compilePerl(pat, flags)
		}
	}
	if err != nil {
		l.errf(file, line, "%s %s: %v", kind, name, err)
		return
	}
	if len(l.set.Rules) >= MaxRules {
		l.errf(file, line, "more than %d rules", MaxRules)
		return
	}
	l.set.Rules = append(l.set.Rules, r)
	l.set.byName[name] = r
}

func (l *loader) removeRule(old *Rule) {
	for i, r := range l.set.Rules {
		if r == old {
			l.set.Rules = append(l.set.Rules[:i], l.set.Rules[i+1:]...)
			return
		}
	}
}

// parseHeaderRule parses "Field[:mod] =~ /re/flags [if-unset: X]" or
// "exists:Field".
func parseHeaderRule(r *Rule, def string) error {
	if f, ok := strings.CutPrefix(def, "exists:"); ok {
		f = strings.TrimSpace(f)
		if f == "" || strings.ContainsAny(f, " \t:") {
			return fmt.Errorf("exists: needs one header field name")
		}
		r.Header, r.Exists = f, true
		return nil
	}
	i := strings.Index(def, "=~")
	j := strings.Index(def, "!~")
	op := i
	if op < 0 || (j >= 0 && j < op) {
		op = j
		r.Negate = true
	}
	if op < 0 {
		return fmt.Errorf("want \"Field =~ /regex/\", \"Field !~ /regex/\" or \"exists:Field\"")
	}
	field := strings.TrimSpace(def[:op])
	if f, mod, ok := strings.Cut(field, ":"); ok {
		switch mod {
		case "raw", "addr", "name":
		default:
			return fmt.Errorf("unknown header modifier :%s (supported: :raw, :addr, :name)", mod)
		}
		field, r.Mod = f, mod
	}
	if field == "" || strings.ContainsAny(field, " \t") {
		return fmt.Errorf("bad header field name %q", field)
	}
	r.Header = field
	pat, flags, tail, err := splitPattern(def[op+2:])
	if err != nil {
		return err
	}
	if tail != "" {
		u, ok := strings.CutPrefix(tail, "[if-unset:")
		if !ok || !strings.HasSuffix(u, "]") {
			return fmt.Errorf("unexpected text after the pattern: %q", trunc(tail, 30))
		}
		v := strings.TrimSpace(strings.TrimSuffix(u, "]"))
		r.IfUnset = &v
	}
	r.Pattern = def[op+2:]
	r.Re, err = compilePerl(pat, flags)
	return err
}

// finish applies defaults, checks references and builds the indexes.
func (l *loader) finish() {
	s := l.set
	for name, r := range s.byName {
		if r.Kind < 0 {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s:%d: %s set for undefined rule %s", r.File, r.Line, "score/describe/tflags", name))
			delete(s.byName, name)
		}
	}
	for _, r := range s.Rules {
		if !r.scoreSet {
			r.Score = 1.0
			if strings.HasPrefix(r.Name, "T_") {
				r.Score = 0.01
			}
		}
		if r.Sub() {
			r.Score = 0
		}
	}
	l.orderMetas()
	s.index()
}

// orderMetas sorts meta rules so dependencies come first and reports cycles.
func (l *loader) orderMetas() {
	s := l.set
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(r *Rule, path []string) bool
	visit = func(r *Rule, path []string) bool {
		switch state[r.Name] {
		case 1:
			l.errf(r.File, r.Line, "meta %s: dependency cycle %s", r.Name, strings.Join(append(path, r.Name), " -> "))
			return false
		case 2:
			return true
		}
		state[r.Name] = 1
		for _, d := range r.MetaDeps {
			dr := s.byName[d]
			if dr == nil {
				s.Warnings = append(s.Warnings, fmt.Sprintf("%s:%d: meta %s uses %s, which no rule file defines (a symbol of another check counts when it has been added; else 0)", r.File, r.Line, r.Name, d))
				continue
			}
			if dr.Kind == KindMeta && !visit(dr, append(path, r.Name)) {
				return false
			}
		}
		state[r.Name] = 2
		s.metaOrder = append(s.metaOrder, r)
		return true
	}
	for _, r := range s.Rules {
		if r.Kind == KindMeta && state[r.Name] == 0 {
			visit(r, nil)
		}
	}
}
