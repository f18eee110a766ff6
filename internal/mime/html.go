package mime

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// MaxAnchorText bounds the link text kept per <a>: enough for any visible
// URL or "click here", small enough that an unclosed <a> around a whole
// newsletter costs nothing.
const MaxAnchorText = 512

// blockAtoms end a line in the rendered text; paraAtoms end a paragraph
// (SpamAssassin's body rules see text paragraph by paragraph).
var (
	blockAtoms = map[atom.Atom]bool{
		atom.Br: true, atom.Div: true, atom.Tr: true, atom.Li: true, atom.Dt: true,
		atom.Dd: true, atom.Hr: true, atom.Center: true, atom.Form: true, atom.Option: true,
		atom.Td: true, atom.Th: true, atom.Caption: true, atom.Address: true,
	}
	paraAtoms = map[atom.Atom]bool{
		atom.P: true, atom.Table: true, atom.Blockquote: true, atom.Pre: true,
		atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
		atom.Ul: true, atom.Ol: true, atom.Dl: true, atom.Body: true,
	}
	// skipAtoms hold no visible text.
	skipAtoms = map[atom.Atom]bool{
		atom.Script: true, atom.Style: true, atom.Head: true, atom.Title: true,
		atom.Template: true, atom.Object: true, atom.Iframe: true, atom.Svg: true,
	}
)

// textBuilder collapses white space the way a browser shows it.
type textBuilder struct {
	b       strings.Builder
	pending byte // ' ', '\n' or 0: separator owed before the next word
}

func (t *textBuilder) text(s string) {
	if s == "" {
		return
	}
	if isHTMLSpace(rune(s[0])) {
		t.brk(' ')
	}
	for i, f := range strings.FieldsFunc(s, isHTMLSpace) {
		if i > 0 {
			t.brk(' ')
		}
		if t.b.Len() > 0 {
			switch t.pending {
			case 'p':
				t.b.WriteString("\n\n")
			case '\n':
				t.b.WriteByte('\n')
			case ' ':
				t.b.WriteByte(' ')
			}
		}
		t.pending = 0
		t.b.WriteString(f)
	}
	if isHTMLSpace(rune(s[len(s)-1])) {
		t.brk(' ')
	}
}

// brk owes a separator before the next word: ' ' < '\n' < 'p' (paragraph).
func (t *textBuilder) brk(kind byte) {
	if rank(kind) > rank(t.pending) {
		t.pending = kind
	}
}

func rank(k byte) int {
	switch k {
	case ' ':
		return 1
	case '\n':
		return 2
	case 'p':
		return 3
	}
	return 0
}

func isHTMLSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\f', '\u00a0':
		return true
	}
	return false
}

// renderHTML renders HTML to text with the x/net/html tokenizer and returns
// the links it found (href, src, form action), at most maxLinks.
func renderHTML(data []byte, path string, maxLinks int) (string, []Link, *HTMLInfo) {
	info := &HTMLInfo{}
	var tb textBuilder
	var links []Link
	z := html.NewTokenizer(bytes.NewReader(data))
	skip := 0 // depth inside skipAtoms elements
	skipName := atom.Atom(0)
	anchor := -1 // index in links of the open <a>, or -1
	var anchorText strings.Builder

	closeAnchor := func() {
		if anchor >= 0 {
			links[anchor].Text = strings.Join(strings.FieldsFunc(anchorText.String(), isHTMLSpace), " ")
			anchor = -1
			anchorText.Reset()
		}
	}
	addLink := func(raw, source string) int {
		raw = strings.TrimSpace(raw)
		if raw == "" || len(links) >= maxLinks {
			return -1
		}
		l, ok := makeLink(raw, source, path)
		if !ok {
			return -1
		}
		links = append(links, l)
		return len(links) - 1
	}

	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			closeAnchor()
			info.TextChars = len([]rune(tb.b.String()))
			return strings.TrimSpace(tb.b.String()), links, info
		case html.TextToken:
			if skip > 0 {
				continue
			}
			txt := string(z.Text())
			tb.text(txt)
			if anchor >= 0 && anchorText.Len() < MaxAnchorText {
				anchorText.WriteString(txt)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			if skip > 0 {
				if a == skipName && tt == html.StartTagToken {
					skip++
				}
				continue
			}
			if skipAtoms[a] && tt == html.StartTagToken {
				if a == atom.Script {
					info.Scripts++
				}
				skip, skipName = 1, a
				continue
			}
			var attrs map[string]string
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				switch string(k) {
				case "href", "src", "action", "style":
					if attrs == nil {
						attrs = make(map[string]string, 2)
					}
					attrs[string(k)] = string(v)
				}
			}
			switch a {
			case atom.A, atom.Area:
				if a == atom.A {
					closeAnchor()
				}
				if h, ok := attrs["href"]; ok {
					info.Links++
					i := addLink(h, "href")
					if a == atom.A && tt == html.StartTagToken {
						anchor = i
					}
				}
			case atom.Img:
				info.Images++
				if s, ok := attrs["src"]; ok {
					addLink(s, "src")
				}
				tb.brk(' ')
			case atom.Form:
				info.Forms++
				if s, ok := attrs["action"]; ok {
					addLink(s, "form")
				}
			case atom.Frame, atom.Embed, atom.Source, atom.Input:
				if s, ok := attrs["src"]; ok {
					addLink(s, "src")
				}
			}
			if paraAtoms[a] {
				tb.brk('p')
			} else if blockAtoms[a] {
				tb.brk('\n')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if skip > 0 {
				if a == skipName {
					skip--
				}
				continue
			}
			if a == atom.A {
				closeAnchor()
			}
			if paraAtoms[a] {
				tb.brk('p')
			} else if blockAtoms[a] {
				tb.brk('\n')
			}
		}
	}
}
