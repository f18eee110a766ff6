package rules

import (
	"io"
	"net/mail"
	"strings"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/mime"
)

// contentIndex holds the rules of one content kind: those with required
// literals behind one Aho-Corasick automaton, the rest always run.
type contentIndex struct {
	ac       *acMatcher
	litRules [][]int // literal id -> rule indexes in rules
	rules    []*Rule
	always   []int // rule indexes without a prefilter
}

func (s *Set) index() {
	for _, r := range s.Rules {
		if r.eval != nil {
			s.evals = append(s.evals, r)
			continue
		}
		switch r.Kind {
		case KindHeader:
			s.headers = append(s.headers, r)
		case KindURI:
			s.uris = append(s.uris, r)
		case KindBody:
			s.body.rules = append(s.body.rules, r)
		case KindRawBody:
			s.raw.rules = append(s.raw.rules, r)
		case KindFull:
			s.full.rules = append(s.full.rules, r)
		}
	}
	for _, ci := range []*contentIndex{&s.body, &s.raw, &s.full} {
		ci.build()
	}
}

// noPrefilter turns the literal prefilter off (benchmarks compare).
var noPrefilter bool

func (ci *contentIndex) build() {
	var pats []string
	ids := map[string]int{}
	for i, r := range ci.rules {
		r.lits = nil
		if !noPrefilter {
			r.lits = requiredLiterals(r.Re.String())
		}
		if r.lits == nil {
			ci.always = append(ci.always, i)
			continue
		}
		for _, lit := range r.lits {
			id, ok := ids[lit]
			if !ok {
				id = len(pats)
				ids[lit] = id
				pats = append(pats, lit)
				ci.litRules = append(ci.litRules, nil)
			}
			ci.litRules[id] = append(ci.litRules[id], i)
		}
	}
	if len(pats) > 0 {
		ci.ac = newAC(pats)
	}
}

// candidates returns the indexes of the rules that may match text (one
// automaton pass), in rule order.
func (ci *contentIndex) candidates(texts []string) []int {
	if len(ci.rules) == 0 {
		return nil
	}
	want := make([]bool, len(ci.rules))
	for _, i := range ci.always {
		want[i] = true
	}
	if ci.ac != nil {
		found := make([]bool, len(ci.litRules))
		for _, t := range texts {
			if hasUpperNonASCII(t) {
				t = strings.ToLower(t)
			}
			ci.ac.scan(t, found)
		}
		for id, ok := range found {
			if ok {
				for _, i := range ci.litRules[id] {
					want[i] = true
				}
			}
		}
	}
	var out []int
	for i, ok := range want {
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// perText returns, for each rule that may match, the indexes of the texts
// it may match in: one automaton pass per text (each byte scanned once), a
// rule with literals only on the texts holding one of them, a rule without
// on every text. Rules map to nil slices when they cannot match.
func (ci *contentIndex) perText(texts []string) map[int][]int {
	out := make(map[int][]int)
	if len(ci.rules) == 0 {
		return out
	}
	all := make([]int, len(texts))
	for i := range texts {
		all[i] = i
	}
	for _, i := range ci.always {
		out[i] = all
	}
	if ci.ac == nil {
		return out
	}
	found := make([]bool, len(ci.litRules))
	var touched []int32
	for ti, t := range texts {
		if hasUpperNonASCII(t) {
			t = strings.ToLower(t)
		}
		touched = ci.ac.scanTouched(t, found, touched[:0])
		for _, id := range touched {
			found[id] = false
			for _, ri := range ci.litRules[id] {
				l := out[ri]
				if len(l) == 0 || l[len(l)-1] != ti {
					out[ri] = append(l, ti)
				}
			}
		}
	}
	return out
}

// maxHitsDefault caps "tflags multiple" rules without maxhits, so one rule
// cannot add unbounded score on a message repeating a phrase.
const maxHitsDefault = 10

// matchTexts counts the matches of r over texts (each text on its own, as
// SpamAssassin runs body rules per paragraph).
func matchTexts(r *Rule, texts []string) int {
	limit := 1
	if r.Multiple {
		limit = r.MaxHits
		if limit <= 0 {
			limit = maxHitsDefault
		}
	}
	n := 0
	for _, t := range texts {
		if limit == 1 {
			if r.Re.MatchString(t) {
				return 1
			}
			continue
		}
		n += len(r.Re.FindAllStringIndex(t, limit-n))
		if n >= limit {
			return limit
		}
	}
	return n
}

// headerValue returns the text a header rule matches and whether the
// field exists.
func headerValue(h *message.Header, env string, r *Rule) (string, bool) {
	var vals []string
	switch r.Header {
	case "ALL":
		var b strings.Builder
		for _, f := range h.Fields {
			v := f.Value
			if r.Mod != "raw" {
				v = mime.DecodeHeader(f.Unfolded())
			}
			b.WriteString(f.Name)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteByte('\n')
		}
		return b.String(), len(h.Fields) > 0
	case "EnvelopeFrom":
		return env, true
	case "ToCc":
		vals = append(fieldValues(h, "To", r.Mod == "raw"), fieldValues(h, "Cc", r.Mod == "raw")...)
	case "MESSAGEID":
		for _, n := range []string{"Message-Id", "Resent-Message-Id", "X-Message-Id"} {
			vals = append(vals, fieldValues(h, n, r.Mod == "raw")...)
		}
	default:
		vals = fieldValues(h, r.Header, r.Mod == "raw")
	}
	if len(vals) == 0 {
		return "", false
	}
	switch r.Mod {
	case "addr", "name":
		for i, v := range vals {
			addr, name := splitAddress(v)
			if r.Mod == "addr" {
				vals[i] = addr
			} else {
				vals[i] = name
			}
		}
	}
	return strings.Join(vals, "\n"), true
}

func fieldValues(h *message.Header, name string, raw bool) []string {
	var out []string
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			if raw {
				out = append(out, f.Value)
			} else {
				out = append(out, mime.DecodeHeader(f.Unfolded()))
			}
		}
	}
	return out
}

// splitAddress returns the first address's addr-spec and display name of an
// address header, leniently: spam headers are often not RFC 5322.
func splitAddress(v string) (addr, name string) {
	if list, err := mail.ParseAddressList(v); err == nil && len(list) > 0 {
		return list[0].Address, list[0].Name
	}
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return strings.TrimSpace(v[i+1 : i+j]), strings.Trim(strings.TrimSpace(v[:i]), `"`)
		}
	}
	for _, f := range strings.Fields(v) {
		if strings.Contains(f, "@") {
			return strings.Trim(f, "<>,;\"'()"), ""
		}
	}
	return strings.TrimSpace(v), ""
}

// paragraphs splits rendered text into SpamAssassin-style paragraphs: blank
// lines separate them, line breaks inside become spaces.
func paragraphs(text string, out []string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	for _, p := range strings.Split(text, "\n\n") {
		p = strings.TrimSpace(strings.ReplaceAll(p, "\n", " "))
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// fullText reads the whole raw message up to limit bytes.
func fullText(m *message.Message, limit int64) string {
	b, _ := io.ReadAll(io.LimitReader(m.Reader(), limit))
	return string(b)
}
