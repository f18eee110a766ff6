package bayes

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	gomsg "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode legacy charsets to UTF-8
	"golang.org/x/net/html"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/mime"
)

// Limits on what the classifier reads of one message. Tokens past them add
// little: spam makes its point early, and a hostile message must not cost
// unbounded time or memory.
const (
	// MaxTextBytes: decoded text kept per message (all parts together).
	// SpamAssassin's Bayes reads at most 50 kB of the body per message.
	MaxTextBytes = 256 << 10
	// MaxParts: MIME parts walked; real mail has fewer than 20.
	MaxParts = 100
	// MaxDepth: nesting of multiparts and attached messages.
	MaxDepth = 10
	// MaxURLs: URLs tokenized per message.
	MaxURLs = 200
	// maxSkipBytes bounds what is decoded of an attachment to learn its
	// size: the size token is a power-of-two bucket, and past 1 MiB the
	// bucket says enough; decoding more would only cost time.
	maxSkipBytes = 1 << 20
)

// Doc is what the tokenizer reads of a message: the header fields as
// received, the decoded text of its text parts (HTML turned into text),
// URLs, and a summary of its other parts.
type Doc struct {
	Header      []message.Field
	Texts       []string
	URLs        []string
	Parts       []PartInfo
	Truncated   bool // text or parts were cut at a limit
	Malformed   bool // the MIME structure could not be fully read
	UnknownText bool // a charset or encoding was not understood
}

// PartInfo summarises one leaf MIME part.
type PartInfo struct {
	Type     string // lower-cased media type, "text/plain"
	Charset  string
	Encoding string // Content-Transfer-Encoding
	Name     string // file name, if any
	Size     int64  // decoded size (capped)
	Attached bool   // Content-Disposition: attachment, or a file name
}

// Extract decodes a message into a Doc. It never fails: what cannot be
// decoded is tokenized as is, and the Doc says so.
func Extract(m *message.Message) *Doc {
	d := &Doc{Header: m.Header.Fields}
	e, err := gomsg.Read(m.Reader())
	if err != nil && e == nil {
		d.Malformed = true
		b, _ := m.BodyPrefix(MaxTextBytes)
		d.addText(string(b))
		return d
	}
	if err != nil {
		d.UnknownText = true
	}
	w := &walker{d: d}
	w.walk(e, 0)
	return d
}

type walker struct {
	d     *Doc
	parts int
	text  int
}

func (w *walker) walk(e *gomsg.Entity, depth int) {
	d := w.d
	if depth > MaxDepth || w.parts >= MaxParts {
		d.Truncated = true
		return
	}
	mt, params, _ := e.Header.ContentType()
	mt = strings.ToLower(mt)
	if mt == "" {
		mt = "text/plain"
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				if p == nil {
					d.Malformed = true
					return
				}
				d.UnknownText = true
			}
			w.walk(p, depth+1)
			if w.parts >= MaxParts {
				d.Truncated = true
				return
			}
		}
	}
	w.parts++
	disp, dparams, _ := e.Header.ContentDisposition()
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	pi := PartInfo{
		Type:     mt,
		Charset:  strings.ToLower(params["charset"]),
		Encoding: strings.ToLower(strings.TrimSpace(e.Header.Get("Content-Transfer-Encoding"))),
		Name:     name,
		Attached: strings.EqualFold(disp, "attachment") || name != "",
	}
	switch {
	case mt == "message/rfc822" && !pi.Attached:
		inner, err := gomsg.Read(e.Body)
		if inner == nil {
			d.Malformed = err != nil
			break
		}
		w.walk(inner, depth+1)
		return
	case (mt == "text/plain" || mt == "text/html" || mt == "text/enriched") && !pi.Attached:
		room := MaxTextBytes - w.text
		if room <= 0 {
			d.Truncated = true
			n, _ := io.Copy(io.Discard, io.LimitReader(e.Body, maxSkipBytes))
			pi.Size = n
			break
		}
		b, err := io.ReadAll(io.LimitReader(e.Body, int64(room)+1))
		if err != nil {
			d.Malformed = true
		}
		if len(b) > room {
			b = b[:room]
			d.Truncated = true
		}
		pi.Size = int64(len(b))
		w.text += len(b)
		s := string(b)
		if !utf8.ValidString(s) {
			d.UnknownText = true
			s = strings.ToValidUTF8(s, " ")
		}
		if mt == "text/html" {
			s = w.htmlText(s)
		} else {
			d.URLs = appendURLs(d.URLs, s)
		}
		d.addText(s)
	default:
		n, _ := io.Copy(io.Discard, io.LimitReader(e.Body, maxSkipBytes))
		pi.Size = n
	}
	d.Parts = append(d.Parts, pi)
}

func (d *Doc) addText(s string) {
	if s = strings.TrimSpace(s); s != "" {
		d.Texts = append(d.Texts, s)
	}
}

// appendURLs adds the URLs written in s (with a scheme, or www.).
func appendURLs(urls []string, s string) []string {
	for _, u := range mime.ScanURLs(nil, s, MaxURLs, mime.TokenStop, false) {
		if len(urls) >= MaxURLs {
			break
		}
		urls = append(urls, strings.TrimRight(u, ".,;:!?'\""))
	}
	return urls
}

// htmlText turns HTML into its visible text with the tokenizer of
// golang.org/x/net/html, collecting link targets.
func (w *walker) htmlText(s string) string {
	d := w.d
	var out bytes.Buffer
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0 // inside <script> or <style>
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return out.String()
		case html.TextToken:
			if skip == 0 {
				out.Write(z.Text())
				out.WriteByte(' ')
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			if tt == html.EndTagToken {
				if (tag == "script" || tag == "style") && skip > 0 {
					skip--
				}
				continue
			}
			if (tag == "script" || tag == "style") && tt == html.StartTagToken {
				skip++
			}
			switch tag {
			case "br", "p", "div", "tr", "td", "li", "table", "h1", "h2", "h3":
				out.WriteByte('\n')
			}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				switch string(k) {
				case "href", "src", "action":
					if len(d.URLs) < MaxURLs {
						u := strings.TrimSpace(string(v))
						if strings.Contains(u, "://") || strings.HasPrefix(strings.ToLower(u), "www.") {
							d.URLs = append(d.URLs, u)
						}
					}
				case "alt", "title":
					out.Write(v)
					out.WriteByte(' ')
				}
			}
		}
	}
}
