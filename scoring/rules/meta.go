package rules

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxMetaLen bounds a meta expression (SpamAssassin's longest stock meta
// rules are under 1 kB).
const MaxMetaLen = 4 << 10

// metaExpr is a parsed meta expression: a boolean and arithmetic
// combination of rule hit counts, as SpamAssassin's meta rules (Perl
// operators ! * / + - < > <= >= == != && ||, parentheses, numbers, names).
type metaExpr interface {
	eval(get func(string) float64) float64
}

type (
	numNode  float64
	nameNode string
	notNode  struct{ x metaExpr }
	negNode  struct{ x metaExpr }
	binNode  struct {
		op   string
		l, r metaExpr
	}
)

func (n numNode) eval(func(string) float64) float64      { return float64(n) }
func (n nameNode) eval(get func(string) float64) float64 { return get(string(n)) }
func (n notNode) eval(get func(string) float64) float64 {
	if n.x.eval(get) != 0 {
		return 0
	}
	return 1
}
func (n negNode) eval(get func(string) float64) float64 { return -n.x.eval(get) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (n binNode) eval(get func(string) float64) float64 {
	l := n.l.eval(get)
	// Short-circuit as Perl does.
	switch n.op {
	case "&&":
		if l == 0 {
			return 0
		}
		return b2f(n.r.eval(get) != 0)
	case "||":
		if l != 0 {
			return 1
		}
		return b2f(n.r.eval(get) != 0)
	}
	r := n.r.eval(get)
	switch n.op {
	case "+":
		return l + r
	case "-":
		return l - r
	case "*":
		return l * r
	case "/":
		if r == 0 {
			return 0
		}
		return l / r
	case "<":
		return b2f(l < r)
	case ">":
		return b2f(l > r)
	case "<=":
		return b2f(l <= r)
	case ">=":
		return b2f(l >= r)
	case "==":
		return b2f(l == r)
	case "!=":
		return b2f(l != r)
	}
	return 0
}

// metaParser is a recursive-descent parser over tokens.
type metaParser struct {
	toks  []string
	pos   int
	names map[string]bool
}

func tokenizeMeta(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case isWordByte(c) && !(c >= '0' && c <= '9'):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			if i+1 < len(s) {
				two := s[i : i+2]
				switch two {
				case "&&", "||", "<=", ">=", "==", "!=":
					toks = append(toks, two)
					i += 2
					continue
				}
			}
			switch c {
			case '(', ')', '!', '+', '-', '*', '/', '<', '>':
				toks = append(toks, string(c))
				i++
			default:
				return nil, fmt.Errorf("meta: unexpected character %q", c)
			}
		}
	}
	return toks, nil
}

// parseMeta parses a meta expression and returns it with the rule names
// it refers to.
func parseMeta(s string) (metaExpr, []string, error) {
	if len(s) > MaxMetaLen {
		return nil, nil, fmt.Errorf("meta: expression longer than %d bytes", MaxMetaLen)
	}
	toks, err := tokenizeMeta(s)
	if err != nil {
		return nil, nil, err
	}
	if len(toks) == 0 {
		return nil, nil, fmt.Errorf("meta: empty expression")
	}
	p := &metaParser{toks: toks, names: map[string]bool{}}
	e, err := p.or(0)
	if err != nil {
		return nil, nil, err
	}
	if p.pos != len(p.toks) {
		return nil, nil, fmt.Errorf("meta: unexpected %q", p.toks[p.pos])
	}
	var names []string
	for n := range p.names {
		names = append(names, n)
	}
	return e, names, nil
}

// maxMetaDepth bounds nesting so a hostile rule file cannot overflow the stack.
const maxMetaDepth = 100

func (p *metaParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *metaParser) binary(d int, ops []string, next func(int) (metaExpr, error)) (metaExpr, error) {
	l, err := next(d)
	if err != nil {
		return nil, err
	}
	for {
		op := p.peek()
		found := false
		for _, o := range ops {
			if op == o {
				found = true
			}
		}
		if !found {
			return l, nil
		}
		p.pos++
		r, err := next(d)
		if err != nil {
			return nil, err
		}
		l = binNode{op: op, l: l, r: r}
	}
}

func (p *metaParser) or(d int) (metaExpr, error) {
	return p.binary(d, []string{"||"}, p.and)
}
func (p *metaParser) and(d int) (metaExpr, error) {
	return p.binary(d, []string{"&&"}, p.eq)
}
func (p *metaParser) eq(d int) (metaExpr, error) {
	return p.binary(d, []string{"==", "!="}, p.rel)
}
func (p *metaParser) rel(d int) (metaExpr, error) {
	return p.binary(d, []string{"<", ">", "<=", ">="}, p.add)
}
func (p *metaParser) add(d int) (metaExpr, error) {
	return p.binary(d, []string{"+", "-"}, p.mul)
}
func (p *metaParser) mul(d int) (metaExpr, error) {
	return p.binary(d, []string{"*", "/"}, p.unary)
}

func (p *metaParser) unary(d int) (metaExpr, error) {
	if d > maxMetaDepth {
		return nil, fmt.Errorf("meta: nested too deeply")
	}
	t := p.peek()
	switch {
	case t == "":
		return nil, fmt.Errorf("meta: expression ends early")
	case t == "!":
		p.pos++
		x, err := p.unary(d + 1)
		return notNode{x}, err
	case t == "-":
		p.pos++
		x, err := p.unary(d + 1)
		return negNode{x}, err
	case t == "(":
		p.pos++
		x, err := p.or(d + 1)
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("meta: missing )")
		}
		p.pos++
		return x, nil
	case t[0] >= '0' && t[0] <= '9' || t[0] == '.':
		p.pos++
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return nil, fmt.Errorf("meta: bad number %q", t)
		}
		return numNode(f), nil
	case isWordByte(t[0]):
		p.pos++
		p.names[t] = true
		return nameNode(t), nil
	}
	return nil, fmt.Errorf("meta: unexpected %q", t)
}

// metaString is for error messages.
func metaString(toks []string) string { return strings.Join(toks, " ") }
