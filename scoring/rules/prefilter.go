package rules

import (
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Prefilter limits. A rule whose regexp has a set of required literals (at
// least one of them must occur in any text it matches) only runs on text
// where the automaton found one of them; the others always run.
const (
	// minLiteral: literals shorter than this occur in nearly every text and
	// would make the prefilter useless; such rules always run.
	minLiteral = 3
	// maxLiteralSet: past this many alternatives a rule always runs (the
	// cross products of alternations grow fast).
	maxLiteralSet = 64
	// maxLiteralLen: literals are cut to this length (a prefix of a required
	// literal is still required) to keep the automaton small.
	maxLiteralLen = 24
)

// litInfo describes what any match of a sub-expression must contain.
// exact: the sub-expression matches exactly one of these strings (nil when
// unknown). need: one of these must occur in the match (nil: no
// requirement).
type litInfo struct {
	exact []string
	need  []string
}

// requiredLiterals returns lower-cased literals one of which occurs in
// every text re matches, or nil when there is no useful set.
func requiredLiterals(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	info := analyze(re)
	set := info.need
	if info.exact != nil {
		set = info.exact
	}
	if len(set) == 0 || len(set) > maxLiteralSet {
		return nil
	}
	out := make([]string, 0, len(set))
	seen := make(map[string]bool)
	for _, s := range set {
		if len(s) < minLiteral {
			return nil
		}
		s = strings.ToLower(s)
		if len(s) > maxLiteralLen {
			s = cutUTF8(s, maxLiteralLen)
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func cutUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func analyze(re *syntax.Regexp) litInfo {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 {
			s = strings.ToLower(s)
		}
		return litInfo{exact: []string{s}}
	case syntax.OpCharClass:
		// A small class is a small exact set.
		n := 0
		for i := 0; i+1 < len(re.Rune); i += 2 {
			n += int(re.Rune[i+1]-re.Rune[i]) + 1
			if n > 4 {
				return litInfo{}
			}
		}
		var ex []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				ex = append(ex, strings.ToLower(string(unicode.ToLower(r))))
			}
		}
		return litInfo{exact: dedup(ex)}
	case syntax.OpCapture:
		return analyze(re.Sub[0])
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return litInfo{exact: []string{""}}
	case syntax.OpPlus:
		sub := analyze(re.Sub[0])
		return litInfo{need: best(sub)}
	case syntax.OpRepeat:
		if re.Min == 0 {
			return litInfo{}
		}
		sub := analyze(re.Sub[0])
		if b := best(sub); b != nil || sub.exact == nil || re.Min > 8 {
			return litInfo{need: b}
		}
		// x{3,} of a short exact set: the set repeated Min times is required.
		if len(sub.exact) == 1 {
			return litInfo{need: []string{strings.Repeat(sub.exact[0], re.Min)}}
		}
		return litInfo{}
	case syntax.OpConcat:
		// Cross product of exact sets while small; otherwise keep the best
		// requirement of any part.
		cur := []string{""}
		exact := true
		inexact := false // some part had no exact set
		var bestNeed []string
		flush := func() {
			if exact && cur != nil {
				bestNeed = better(bestNeed, cur)
			}
		}
		for _, sub := range re.Sub {
			si := analyze(sub)
			if exact && si.exact != nil && len(cur)*len(si.exact) <= maxLiteralSet {
				next := make([]string, 0, len(cur)*len(si.exact))
				for _, a := range cur {
					for _, b := range si.exact {
						next = append(next, a+b)
					}
				}
				cur = next
				continue
			}
			// The run of exact parts so far ends here.
			flush()
			inexact = true
			bestNeed = better(bestNeed, best(si))
			if si.exact != nil {
				cur = si.exact
			} else {
				cur = []string{""}
			}
			exact = true
		}
		if !inexact && bestNeed == nil {
			return litInfo{exact: cur}
		}
		flush()
		return litInfo{need: bestNeed}
	case syntax.OpAlternate:
		var exact, need []string
		allExact, allNeed := true, true
		for _, sub := range re.Sub {
			si := analyze(sub)
			if si.exact != nil && allExact {
				exact = append(exact, si.exact...)
			} else {
				allExact = false
			}
			if b := best(si); b != nil && allNeed {
				need = append(need, b...)
			} else {
				allNeed = false
			}
		}
		if allExact && len(exact) <= maxLiteralSet {
			return litInfo{exact: dedup(exact)}
		}
		if !allNeed || len(need) > maxLiteralSet {
			return litInfo{}
		}
		return litInfo{need: dedup(need)}
	}
	// Star, Quest, AnyChar, AnyCharNotNL, NoMatch...: no requirement.
	return litInfo{}
}

// best returns the usable requirement of an info: its exact set when every
// element is long enough, else its need set.
func best(i litInfo) []string {
	if i.exact != nil && minLen(i.exact) >= minLiteral {
		return i.exact
	}
	if i.need != nil && minLen(i.need) >= minLiteral {
		return i.need
	}
	return nil
}

// better picks the more selective of two requirement sets: the one whose
// shortest literal is longer.
func better(a, b []string) []string {
	if b == nil || minLen(b) < minLiteral || len(b) > maxLiteralSet {
		return a
	}
	if a == nil || minLen(b) > minLen(a) {
		return b
	}
	return a
}

func minLen(ss []string) int {
	if len(ss) == 0 {
		return 0
	}
	m := len(ss[0])
	for _, s := range ss[1:] {
		if len(s) < m {
			m = len(s)
		}
	}
	return m
}

func dedup(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := ss[:0:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// acMatcher is an Aho-Corasick automaton over lower-cased literals: one
// pass over a text reports every literal that occurs in it. Bytes are
// mapped to classes (bytes that occur in no literal share one), so the
// dense transition table stays small.
type acMatcher struct {
	class    [256]uint8
	nclass   int
	next     []int32 // state*nclass + class
	out      [][]int32
	patterns int
}

func newAC(pats []string) *acMatcher {
	m := &acMatcher{patterns: len(pats)}
	// Byte classes.
	used := [256]bool{}
	for _, p := range pats {
		for i := 0; i < len(p); i++ {
			used[p[i]] = true
		}
	}
	m.nclass = 1
	for b := 0; b < 256; b++ {
		if used[b] {
			m.class[b] = uint8(m.nclass)
			m.nclass++
			if m.nclass > 255 {
				// Pathological literal set: fall back to identity classes.
				for c := 0; c < 256; c++ {
					m.class[c] = uint8(c)
				}
				m.nclass = 256
				break
			}
		}
	}
	// Trie.
	type node struct {
		kids map[uint8]int32
	}
	nodes := []node{{kids: map[uint8]int32{}}}
	m.out = [][]int32{nil}
	for id, p := range pats {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := m.class[p[i]]
			nx, ok := nodes[s].kids[c]
			if !ok {
				nx = int32(len(nodes))
				nodes = append(nodes, node{kids: map[uint8]int32{}})
				m.out = append(m.out, nil)
				nodes[s].kids[c] = nx
			}
			s = nx
		}
		m.out[s] = append(m.out[s], int32(id))
	}
	// BFS: failure links folded into a dense table.
	n := len(nodes)
	m.next = make([]int32, n*m.nclass)
	fail := make([]int32, n)
	queue := make([]int32, 0, n)
	for c := 0; c < m.nclass; c++ {
		if k, ok := nodes[0].kids[uint8(c)]; ok {
			m.next[c] = k
			fail[k] = 0
			queue = append(queue, k)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		m.out[s] = append(m.out[s], m.out[fail[s]]...)
		for c := 0; c < m.nclass; c++ {
			if k, ok := nodes[s].kids[uint8(c)]; ok {
				fail[k] = m.next[int(fail[s])*m.nclass+c]
				m.next[int(s)*m.nclass+c] = k
				queue = append(queue, k)
			} else {
				m.next[int(s)*m.nclass+c] = m.next[int(fail[s])*m.nclass+c]
			}
		}
	}
	return m
}

// scan marks in found every pattern occurring in text, comparing
// ASCII case-insensitively (text bytes are lower-cased on the fly; the
// patterns are lower-case). Non-ASCII text is lower-cased by the caller.
func (m *acMatcher) scan(text string, found []bool) {
	if m == nil || m.patterns == 0 {
		return
	}
	s := int32(0)
	nc := int32(m.nclass)
	for i := 0; i < len(text); i++ {
		b := text[i]
		if b >= 'A' && b <= 'Z' {
			b += 'a' - 'A'
		}
		s = m.next[s*nc+int32(m.class[b])]
		for _, id := range m.out[s] {
			found[id] = true
		}
	}
}

// scanTouched is scan that also appends each newly found pattern id to
// touched (so the caller can reset found cheaply).
func (m *acMatcher) scanTouched(text string, found []bool, touched []int32) []int32 {
	if m == nil || m.patterns == 0 {
		return touched
	}
	s := int32(0)
	nc := int32(m.nclass)
	for i := 0; i < len(text); i++ {
		b := text[i]
		if b >= 'A' && b <= 'Z' {
			b += 'a' - 'A'
		}
		s = m.next[s*nc+int32(m.class[b])]
		for _, id := range m.out[s] {
			if !found[id] {
				found[id] = true
				touched = append(touched, id)
			}
		}
	}
	return touched
}

// hasUpperNonASCII reports whether text needs Unicode lower-casing before
// a scan (the automaton folds ASCII itself).
func hasUpperNonASCII(text string) bool {
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			for _, r := range text[i:] {
				if r >= utf8.RuneSelf && unicode.IsUpper(r) {
					return true
				}
			}
			return false
		}
	}
	return false
}
