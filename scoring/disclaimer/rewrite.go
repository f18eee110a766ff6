package disclaimer

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
)

// Limits of the rewriter: a disclaimer is worth nothing next to losing or
// mangling a message, so past them the message is left alone.
const (
	// MaxBodySize: the body is rewritten in memory; larger mail (big
	// attachments) goes out without a disclaimer.
	MaxBodySize = 32 << 20
	// MaxDepth: real mail nests multiparts 3-4 deep (mixed > alternative >
	// related); deeper is a parser bomb.
	MaxDepth = 12
	// MaxParts bounds the parts examined in one message.
	MaxParts = 1000
	// maxHeaderBytes of one MIME part header.
	maxHeaderBytes = 64 << 10
)

// Errors that say why a message keeps its body.
var (
	ErrSigned   = errors.New("signed or encrypted message left alone")
	ErrNoText   = errors.New("no text part to add the disclaimer to")
	ErrTooLarge = errors.New("message too large for a disclaimer")
	ErrTooDeep  = errors.New("MIME structure too deep or too many parts")
)

// TopChange is a header change to the message header (the top-level part
// changed its charset or transfer encoding).
type TopChange struct {
	Name, Value string // Value "" means delete
}

// Result of a rewrite.
type Result struct {
	Body    []byte
	Headers []TopChange
	Parts   int // text parts that got the disclaimer
}

// Rewrite adds text to the body of a message whose top-level Content-Type and
// Content-Transfer-Encoding are given (empty: text/plain, 7bit). It appends
// to text/plain parts and inserts before </body> in text/html parts (HTML
// escaped), in the charset and transfer encoding of each part; in
// multipart/alternative both alternatives get it, in multipart/mixed and
// multipart/related only the first (main) part; attachments are left alone,
// and so is everything inside multipart/signed, multipart/encrypted and
// application/pkcs7-mime (ErrSigned when that is the whole message).
func Rewrite(contentType, cte string, body []byte, text string) (*Result, error) {
	if len(body) > MaxBodySize {
		return nil, ErrTooLarge
	}
	w := &walker{text: text}
	top := &part{ctype: contentType, cte: cte, body: body}
	out, err := w.rewrite(top, 0)
	if err != nil {
		return nil, err
	}
	if w.changed == 0 {
		if w.signed {
			return nil, ErrSigned
		}
		return nil, ErrNoText
	}
	r := &Result{Body: out.body, Parts: w.changed}
	if out.ctype != contentType {
		r.Headers = append(r.Headers, TopChange{"Content-Type", out.ctype})
	}
	if !strings.EqualFold(out.cte, cte) {
		r.Headers = append(r.Headers, TopChange{"Content-Transfer-Encoding", out.cte})
	}
	return r, nil
}

type walker struct {
	text    string
	changed int
	parts   int
	signed  bool
}

// part is one MIME entity: its Content-Type and CTE values and its body.
type part struct {
	ctype, cte  string
	disposition string
	body        []byte
}

func (w *walker) rewrite(p *part, depth int) (*part, error) {
	w.parts++
	if depth > MaxDepth || w.parts > MaxParts {
		return nil, ErrTooDeep
	}
	mt, params, err := mime.ParseMediaType(p.ctype)
	if p.ctype == "" || err != nil {
		// RFC 2045 5.2: no (or a broken) Content-Type is text/plain us-ascii.
		if p.ctype != "" {
			return p, nil // broken header: do not guess
		}
		mt, params = "text/plain", map[string]string{}
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(p.disposition)), "attachment") {
		return p, nil
	}
	switch mt {
	case "multipart/signed", "multipart/encrypted", "application/pkcs7-mime", "application/x-pkcs7-mime", "application/pgp-encrypted":
		w.signed = true
		return p, nil
	case "text/plain", "text/html":
		return w.textPart(p, mt, params)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return p, nil
	}
	boundary := params["boundary"]
	if boundary == "" {
		return p, nil
	}
	mp, err := splitMultipart(p.body, boundary)
	if err != nil {
		return p, nil // malformed: leave alone
	}
	all := mt == "multipart/alternative"
	for i := range mp.parts {
		if !all && i > 0 {
			break
		}
		sub, err := parsePart(mp.parts[i])
		if err != nil {
			continue
		}
		before := w.changed
		np, err := w.rewrite(sub, depth+1)
		if err != nil {
			return nil, err
		}
		if w.changed > before {
			mp.parts[i] = np.render(mp.parts[i])
		}
	}
	q := *p
	q.body = mp.join()
	return &q, nil
}

// textPart adds the disclaimer to one text/plain or text/html part.
func (w *walker) textPart(p *part, mt string, params map[string]string) (*part, error) {
	cte := strings.ToLower(strings.TrimSpace(p.cte))
	if cte == "" {
		cte = "7bit"
	}
	decoded, ok := decodeCTE(cte, p.body)
	if !ok {
		return p, nil
	}
	charset := strings.ToLower(params["charset"])
	if charset == "" {
		charset = "us-ascii"
	}
	html := mt == "text/html"
	var addition string
	if html {
		addition = htmlBlock(w.text)
	} else {
		addition = plainBlock(w.text)
	}
	enc, encOK := encodeIn(charset, addition)
	q := *p
	switch {
	case encOK:
	case html:
		// Numeric character references are ASCII: they fit every charset.
		enc, encOK = encodeIn(charset, ncr(addition))
		if !encOK {
			return p, nil
		}
	default:
		// Plain text the charset cannot carry: move the part to UTF-8.
		utf, ok := toUTF8(charset, decoded)
		if !ok {
			return p, nil
		}
		decoded, enc = utf, []byte(addition)
		params["charset"] = "utf-8"
		q.ctype = mime.FormatMediaType(mt, params)
	}
	if (cte == "7bit") && !isASCII(enc) {
		cte = "quoted-printable"
		q.cte = cte
	}
	var content []byte
	if html {
		content = insertHTML(decoded, enc)
	} else {
		content = appendPlain(decoded, enc)
	}
	switch cte {
	case "quoted-printable":
		q.body = encodeQP(content)
	case "base64":
		q.body = encodeBase64(content)
	default:
		q.body = content
	}
	w.changed++
	return &q, nil
}

func plainBlock(text string) string {
	return "\r\n" + toCRLF(strings.TrimRight(text, "\r\n")) + "\r\n"
}

func htmlBlock(text string) string {
	lines := strings.Split(strings.ReplaceAll(strings.TrimRight(text, "\r\n"), "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = html.EscapeString(l)
	}
	return "<div class=\"disclaimer\"><br>\r\n" + strings.Join(lines, "<br>\r\n") + "\r\n</div>\r\n"
}

func toCRLF(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// appendPlain appends after the content, on a line of its own.
func appendPlain(content, add []byte) []byte {
	out := make([]byte, 0, len(content)+len(add)+2)
	out = append(out, content...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\r', '\n')
	}
	return append(out, add...)
}

// insertHTML puts the block before the last </body>, else before the last
// </html>, else at the end.
func insertHTML(content, add []byte) []byte {
	lower := bytes.ToLower(content)
	at := bytes.LastIndex(lower, []byte("</body"))
	if at < 0 {
		at = bytes.LastIndex(lower, []byte("</html"))
	}
	if at < 0 {
		return appendPlain(content, add)
	}
	out := make([]byte, 0, len(content)+len(add))
	out = append(out, content[:at]...)
	out = append(out, add...)
	return append(out, content[at:]...)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func ncr(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "&#%d;", r)
		}
	}
	return b.String()
}

// lookupCharset finds an encoding by its MIME name; nil for UTF-8/ASCII.
func lookupCharset(charset string) (encoding.Encoding, bool) {
	switch charset {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return nil, true
	}
	e, err := ianaindex.MIME.Encoding(charset)
	if err != nil || e == nil {
		return nil, false
	}
	return e, true
}

// encodeIn encodes s in charset; false when the charset is unknown or
// cannot represent s.
func encodeIn(charset, s string) ([]byte, bool) {
	switch charset {
	case "utf-8", "utf8":
		return []byte(s), true
	case "us-ascii", "ascii":
		return []byte(s), isASCII([]byte(s))
	}
	e, ok := lookupCharset(charset)
	if !ok {
		return nil, false
	}
	out, err := e.NewEncoder().String(s)
	if err != nil {
		return nil, false
	}
	return []byte(out), true
}

// toUTF8 converts content from charset to UTF-8.
func toUTF8(charset string, b []byte) ([]byte, bool) {
	switch charset {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return b, utf8.Valid(b) || charset == "utf-8" || charset == "utf8"
	}
	e, ok := lookupCharset(charset)
	if !ok {
		return nil, false
	}
	out, err := e.NewDecoder().Bytes(b)
	if err != nil {
		return nil, false
	}
	return out, true
}

func decodeCTE(cte string, b []byte) ([]byte, bool) {
	switch cte {
	case "7bit", "8bit", "binary":
		return b, true
	case "quoted-printable":
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
		if err != nil {
			return nil, false
		}
		return out, true
	case "base64":
		clean := bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, b)
		out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
		n, err := base64.StdEncoding.Decode(out, clean)
		if err != nil {
			return nil, false
		}
		return out[:n], true
	}
	return nil, false
}

func encodeQP(b []byte) []byte {
	var out bytes.Buffer
	w := quotedprintable.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func encodeBase64(b []byte) []byte {
	s := base64.StdEncoding.EncodeToString(b)
	var out bytes.Buffer
	for len(s) > 76 {
		out.WriteString(s[:76])
		out.WriteString("\r\n")
		s = s[76:]
	}
	if s != "" {
		out.WriteString(s)
		out.WriteString("\r\n")
	}
	return out.Bytes()
}
