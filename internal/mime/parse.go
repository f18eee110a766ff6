package mime

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	stdmime "mime"
	"strconv"
	"strings"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/scoring"
)

// Limits that keep a hostile message from exhausting memory or time.
const (
	// MaxDepth is the deepest multipart / message/rfc822 nesting walked.
	// Real mail rarely exceeds 5 (a forwarded message with a signed
	// alternative); rspamd stops at 64, we are stricter because every level
	// costs a buffered reader.
	MaxDepth = 16
	// MaxParts is the number of entities (containers and leaves) walked.
	// Mailing-list digests reach a few hundred; past this, parts are skipped.
	MaxParts = 500
	// MaxDecodedBytes caps the total decoded content kept across all parts.
	// Postfix's default message_size_limit is 10240000 bytes and decoding
	// never grows base64 or quoted-printable, so a real message fits.
	MaxDecodedBytes = 16 << 20
	// MaxURLs is the number of URLs kept; URL-list checks do one lookup per
	// distinct host, and spam with thousands of links needs no more to score.
	MaxURLs = 1000
	// HeadBytes is how much of each part's decoded start is kept in
	// Part.Head for magic-number detection (tar's magic sits at offset 257).
	HeadBytes = 512
	// MaxPartHeaderBytes caps one part's header block (go-message's default
	// for a whole message is 1 MiB; a part needs far less).
	MaxPartHeaderBytes = 64 << 10
)

// Part is one leaf entity of the message.
type Part struct {
	// Path is the IMAP-style section number ("1", "2.1"); "" for a
	// single-part message body.
	Path  string
	Depth int
	// Type is the lower-cased media type ("text/plain"); parameters in Params.
	Type   string
	Params map[string]string
	// Charset is the declared charset, lower-cased ("" when none).
	Charset string
	// Encoding is the declared Content-Transfer-Encoding, lower-cased.
	Encoding string
	// Disposition is "inline", "attachment" or "".
	Disposition string
	// Filename from Content-Disposition filename or Content-Type name.
	Filename string
	// Header holds the part's own header fields (decoded values).
	Header textproto.Header
	// Data is the decoded content (UTF-8 for text/* parts), possibly cut at
	// the total MaxDecodedBytes budget; Truncated says so.
	Data []byte
	// Size is the decoded size in bytes as far as it was read.
	Size int64
	// Head is the first HeadBytes of Data (same backing array).
	Head []byte
	// Text is the readable text: Data for text/plain, the rendered text for
	// text/html, "" otherwise.
	Text string
	// HTML statistics, for text/html parts.
	HTML *HTMLInfo
	// IsText is true for text/plain and text/html parts that are not
	// attachments; IsAttachment for parts with a file name or an
	// "attachment" disposition, or a non-text type.
	IsText       bool
	IsAttachment bool
	Truncated    bool
}

// HTMLInfo describes what the HTML renderer saw.
type HTMLInfo struct {
	Images    int // <img> tags
	Links     int // <a href> tags
	TextChars int // characters of rendered text
	Forms     int
	Scripts   int
}

// Link is a URL found in the message.
type Link struct {
	// URL as written (entities decoded for HTML attributes).
	URL string
	// Scheme, lower-cased ("http", "mailto"); "" for schemeless "www." text.
	Scheme string
	// Host, lower-cased, without port or user info; for an IP literal the
	// address text; "" when none (mailto: gets the address's domain).
	Host string
	// IsIP is true when Host is an IPv4 or IPv6 literal.
	IsIP bool
	// Source is "text" (plain text or HTML text), "href" or "src" or "form".
	Source string
	// Text is the visible link text of an <a href> (trimmed, may be "").
	Text string
	// Part is the Path of the part the link came from.
	Part string
}

// Error is a problem found while walking the message; never fatal.
type Error struct {
	Part string // section path, "" for the top level
	Kind string // "boundary", "encoding", "charset", "header", "limit"
	Msg  string
}

func (e Error) Error() string {
	if e.Part == "" {
		return e.Kind + ": " + e.Msg
	}
	return "part " + e.Part + ": " + e.Kind + ": " + e.Msg
}

// Parsed is the decoded structure of one message.
type Parsed struct {
	Parts []*Part // leaf parts in message order
	Links []Link  // URLs, in order of appearance, at most MaxURLs
	// Errors found while walking (bounded: at most MaxParts+8 entries).
	Errors []Error
	// Entities counts every entity walked, containers included.
	Entities int
	// MaxDepthSeen is the deepest nesting seen.
	MaxDepthSeen int
	// Truncated is set when any limit cut the walk short.
	Truncated bool
	// Multipart reports whether the top-level entity is multipart/*.
	Multipart bool
	// TopType is the top-level media type.
	TopType string

	decoded int64
}

// TextParts returns the parts with readable text (text/plain, text/html).
func (p *Parsed) TextParts() []*Part {
	var out []*Part
	for _, pt := range p.Parts {
		if pt.IsText {
			out = append(out, pt)
		}
	}
	return out
}

// Attachments returns the parts that are attachments.
func (p *Parsed) Attachments() []*Part {
	var out []*Part
	for _, pt := range p.Parts {
		if pt.IsAttachment {
			out = append(out, pt)
		}
	}
	return out
}

// Text returns the readable text of all text parts, separated by blank
// lines. For multipart/alternative both versions are included, as
// SpamAssassin's body rules see them.
func (p *Parsed) Text() string {
	var b strings.Builder
	for _, pt := range p.Parts {
		if pt.IsText && pt.Text != "" {
			if b.Len() > 0 {
				b.WriteString("\n\n")
			}
			b.WriteString(pt.Text)
		}
	}
	return b.String()
}

// Hosts returns the distinct link hosts, lower-cased, in order of first
// appearance.
func (p *Parsed) Hosts() []string {
	seen := make(map[string]bool)
	var out []string
	for _, l := range p.Links {
		if l.Host != "" && !seen[l.Host] {
			seen[l.Host] = true
			out = append(out, l.Host)
		}
	}
	return out
}

// HasHTML reports whether any text part is HTML; HTMLOnly whether there is
// HTML and no text/plain part.
func (p *Parsed) HasHTML() bool {
	for _, pt := range p.Parts {
		if pt.IsText && pt.HTML != nil {
			return true
		}
	}
	return false
}

// HTMLOnly reports whether the message has HTML text and no plain text part.
func (p *Parsed) HTMLOnly() bool {
	html, plain := false, false
	for _, pt := range p.Parts {
		if !pt.IsText {
			continue
		}
		if pt.HTML != nil {
			html = true
		} else {
			plain = true
		}
	}
	return html && !plain
}

const memoKey = "mime"

// Get returns the parse of tx.Message, computed once per transaction and
// shared by every check. It returns an empty Parsed when the transaction
// has no message (the policy path). Call it at StageEOM.
func Get(tx *scoring.Transaction) *Parsed {
	v := tx.Memo(memoKey, func() any {
		if tx.Message == nil {
			return &Parsed{}
		}
		return ParseMessage(tx.Message)
	})
	return v.(*Parsed)
}

// ParseMessage walks a message parsed by internal/message.
func ParseMessage(m *message.Message) *Parsed {
	var h textproto.Header
	for _, f := range m.Header.Fields {
		// Only the fields that steer MIME decoding matter here.
		if len(f.Name) < 8 || !strings.EqualFold(f.Name[:8], "content-") {
			if !strings.EqualFold(f.Name, "MIME-Version") {
				continue
			}
		}
		h.AddRaw([]byte(f.Name + ":" + f.Value + "\r\n"))
	}
	p := &Parsed{}
	p.walkTop(h, m.BodyReader())
	return p
}

// Parse reads a whole message (header and body) from r and walks it. The
// header block is read with go-message's default 1 MiB limit; a header it
// cannot parse is recorded and the input is treated as a plain text body.
func Parse(r io.Reader) *Parsed {
	p := &Parsed{}
	lr := &limitReader{r: r, n: message.MaxHeaderBytes}
	br := bufio.NewReader(lr)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		p.addErr("", "header", err.Error())
	} else if lr.n == 0 {
		// The limit cut the header short; the rest is read as body.
		p.addErr("", "header", "header block over message.MaxHeaderBytes")
		p.Truncated = true
	}
	lr.n = -1
	p.walkTop(h, br)
	return p
}

func (p *Parsed) walkTop(h textproto.Header, body io.Reader) {
	defer func() {
		// Belt and braces: a bug in a decoder must not take the check down.
		if r := recover(); r != nil {
			p.addErr("", "panic", fmt.Sprint(r))
			p.Truncated = true
		}
	}()
	e, err := gomessage.New(gomessage.Header{Header: h}, body)
	if err != nil {
		p.recordEntityErr("", err)
	}
	if e == nil {
		return
	}
	mt, _, _ := e.Header.ContentType()
	p.TopType = strings.ToLower(mt)
	p.Multipart = strings.HasPrefix(p.TopType, "multipart/")
	p.walk(e, "", 0)
}

func (p *Parsed) addErr(part, kind, msg string) {
	if len(p.Errors) >= MaxParts+8 {
		return
	}
	p.Errors = append(p.Errors, Error{Part: part, Kind: kind, Msg: msg})
}

func (p *Parsed) recordEntityErr(path string, err error) {
	switch {
	case gomessage.IsUnknownCharset(err):
		p.addErr(path, "charset", err.Error())
	case gomessage.IsUnknownEncoding(err):
		p.addErr(path, "encoding", err.Error())
	default:
		p.addErr(path, "header", err.Error())
	}
}

func childPath(parent string, i int) string {
	if parent == "" {
		return strconv.Itoa(i)
	}
	return parent + "." + strconv.Itoa(i)
}

// walk visits one entity: containers recurse, leaves are decoded.
func (p *Parsed) walk(e *gomessage.Entity, path string, depth int) {
	p.Entities++
	if depth > p.MaxDepthSeen {
		p.MaxDepthSeen = depth
	}
	mt, params, cterr := e.Header.ContentType()
	mt = strings.ToLower(mt)
	if cterr != nil {
		p.addErr(path, "header", "Content-Type: "+cterr.Error())
		if mt == "" {
			mt = "text/plain"
		}
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		if depth >= MaxDepth {
			p.addErr(path, "limit", "nesting deeper than MaxDepth")
			p.Truncated = true
			_, _ = io.Copy(io.Discard, io.LimitReader(e.Body, MaxDecodedBytes))
			return
		}
		if params["boundary"] == "" {
			p.addErr(path, "boundary", "multipart without a boundary parameter; treated as text")
			p.leaf(e, path, depth, "text/plain", params)
			return
		}
		mr := e.MultipartReader()
		for i := 1; ; i++ {
			if p.Entities >= MaxParts {
				p.addErr(path, "limit", "more than MaxParts entities")
				p.Truncated = true
				return
			}
			child, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			cp := childPath(path, i)
			if err != nil && child == nil {
				if i == 1 {
					p.addErr(path, "boundary", "no part found: "+err.Error())
				} else {
					p.addErr(path, "boundary", "missing or broken closing boundary: "+err.Error())
				}
				return
			}
			if err != nil {
				p.recordEntityErr(cp, err)
			}
			p.walk(child, cp, depth+1)
		}
	case mt == "message/rfc822" || mt == "message/global":
		if depth >= MaxDepth {
			p.addErr(path, "limit", "nesting deeper than MaxDepth")
			p.Truncated = true
			return
		}
		inner, err := gomessage.ReadWithOptions(&limitReader{r: e.Body, n: MaxDecodedBytes}, &gomessage.ReadOptions{MaxHeaderBytes: MaxPartHeaderBytes})
		if err != nil && inner == nil {
			p.addErr(path, "header", "embedded message: "+err.Error())
			return
		}
		if err != nil {
			p.recordEntityErr(path, err)
		}
		ip := path
		if ip == "" {
			ip = "1"
		}
		p.walk(inner, ip, depth+1)
	default:
		p.leaf(e, path, depth, mt, params)
	}
}

// leaf decodes one non-container part.
func (p *Parsed) leaf(e *gomessage.Entity, path string, depth int, mt string, params map[string]string) {
	pt := &Part{
		Path:     path,
		Depth:    depth,
		Type:     mt,
		Params:   params,
		Charset:  strings.ToLower(params["charset"]),
		Encoding: strings.ToLower(strings.TrimSpace(e.Header.Get("Content-Transfer-Encoding"))),
		Header:   e.Header.Header,
	}
	disp, dparams, _ := e.Header.ContentDisposition()
	pt.Disposition = strings.ToLower(disp)
	pt.Filename = dparams["filename"]
	if pt.Filename == "" {
		pt.Filename = params["name"]
	}
	if pt.Filename != "" {
		pt.Filename = DecodeHeader(pt.Filename)
	}

	budget := int64(MaxDecodedBytes) - p.decoded
	if budget < 0 {
		budget = 0
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(e.Body, budget+1))
	if n > budget {
		pt.Truncated = true
		p.Truncated = true
		buf.Truncate(int(budget))
		n = budget
		p.addErr(path, "limit", "decoded content over MaxDecodedBytes")
		// Drain the rest cheaply so multipart parsing can go on.
		_, _ = io.Copy(io.Discard, io.LimitReader(e.Body, MaxDecodedBytes))
	}
	if err != nil {
		kind := "encoding"
		if strings.Contains(err.Error(), "multipart") {
			kind = "boundary"
		}
		p.addErr(path, kind, err.Error())
	}
	p.decoded += n
	pt.Data = buf.Bytes()
	pt.Size = n
	pt.Head = pt.Data[:min(len(pt.Data), HeadBytes)]

	isHTML := mt == "text/html"
	textual := mt == "text/plain" || isHTML || mt == "text/enriched" || mt == "text/richtext"
	pt.IsAttachment = pt.Disposition == "attachment" || pt.Filename != "" || !strings.HasPrefix(mt, "text/")
	pt.IsText = textual && !(pt.Disposition == "attachment")
	if pt.IsText {
		// go-message converted known charsets to UTF-8; an unknown one
		// left the bytes as they are (and was recorded as an error).
		data := pt.Data
		if !utf8.Valid(data) {
			data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
		}
		if isHTML {
			text, links, info := renderHTML(data, path, MaxURLs-len(p.Links))
			pt.Text = text
			pt.HTML = info
			p.Links = append(p.Links, links...)
			p.addTextLinks(text, path, true)
		} else {
			pt.Text = string(data)
			p.addTextLinks(pt.Text, path, false)
		}
	}
	p.Parts = append(p.Parts, pt)
}

// StripComments removes RFC 5322 comments from a structured header value:
// parenthesised text, nested, with quoted-pairs ("\)") inside.
func StripComments(v string) string {
	var b strings.Builder
	depth, escaped := 0, false
	for _, r := range v {
		switch {
		case escaped: // a quoted-pair inside a comment
			escaped = false
		case r == '\\' && depth > 0:
			escaped = true
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// DecodeHeader decodes RFC 2047 encoded words in a header value to UTF-8,
// using go-message's charset tables. Undecodable input is returned as is.
func DecodeHeader(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	d := stdmime.WordDecoder{CharsetReader: charset.Reader}
	out, err := d.DecodeHeader(v)
	if err != nil {
		return v
	}
	return out
}

// limitReader returns at most n bytes (n < 0: unlimited), then EOF.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(b []byte) (int, error) {
	if l.n == 0 {
		return 0, io.EOF
	}
	if l.n > 0 && int64(len(b)) > l.n {
		b = b[:l.n]
	}
	n, err := l.r.Read(b)
	if l.n > 0 {
		l.n -= int64(n)
	}
	return n, err
}
