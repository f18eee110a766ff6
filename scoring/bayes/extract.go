package bayes

import (
	"strings"

	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/mime"
)

// Limits on what the classifier reads of one message, beyond those of the
// MIME walk (internal/mime). Tokens past them add little: spam makes its
// point early, and a hostile message must not cost unbounded time.
const (
	// MaxTextBytes: decoded text kept per message (all parts together).
	// SpamAssassin's Bayes reads at most 50 kB of the body per message.
	MaxTextBytes = 256 << 10
	// MaxParts: MIME parts summarised; real mail has fewer than 20.
	MaxParts = 100
	// MaxURLs: URLs tokenized per message.
	MaxURLs = 200
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
	Size     int64  // decoded size
	Attached bool   // Content-Disposition: attachment, or a file name
}

// Extract decodes a message into a Doc, for mail read outside a
// transaction (learning, the benchmark). It never fails: what cannot be
// decoded is tokenized as is, and the Doc says so.
func Extract(m *message.Message) *Doc {
	return FromParsed(m.Header.Fields, mime.ParseMessage(m))
}

// FromParsed builds the Doc from the MIME walk every check shares (in the
// daemon mime.Get(tx), so a message is decoded once, not once for the rules
// and again for Bayes): the text of the inline text parts, the web links,
// and a summary of every part.
func FromParsed(header []message.Field, p *mime.Parsed) *Doc {
	d := &Doc{Header: header, Truncated: p.Truncated}
	for _, e := range p.Errors {
		switch e.Kind {
		case "boundary", "header":
			d.Malformed = true
		case "charset", "encoding":
			d.UnknownText = true
		case "limit":
			d.Truncated = true
		}
	}
	text := 0
	for i, pt := range p.Parts {
		if i >= MaxParts {
			d.Truncated = true
			break
		}
		attached := pt.Disposition == "attachment" || pt.Filename != ""
		d.Parts = append(d.Parts, PartInfo{Type: pt.Type, Charset: pt.Charset, Encoding: pt.Encoding,
			Name: pt.Filename, Size: pt.Size, Attached: attached})
		if !pt.IsText || attached {
			continue
		}
		s := pt.Text
		if room := MaxTextBytes - text; len(s) > room {
			s = strings.ToValidUTF8(s[:max(room, 0)], "")
			d.Truncated = true
		}
		text += len(s)
		if s = strings.TrimSpace(s); s != "" {
			d.Texts = append(d.Texts, s)
		}
	}
	for _, l := range p.Links {
		if len(d.URLs) >= MaxURLs {
			break
		}
		// Web links, as written in text or in href/src/action: the host
		// is what the tokenizer reads of them.
		if l.Host != "" && (l.Scheme == "" || l.Scheme == "http" || l.Scheme == "https" || l.Scheme == "ftp") {
			d.URLs = append(d.URLs, strings.TrimRight(l.URL, ".,;:!?'\""))
		}
	}
	return d
}
