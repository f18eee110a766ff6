package message

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Limits on what we keep of a header block. A hostile message can send
// megabytes of header; past these limits further fields are not stored (the
// MTA still delivers them) and Message.HeaderTruncated is set, so checks can
// score it.
const (
	// MaxHeaderFields: real mail has 10-80 fields; long Received chains ~150.
	MaxHeaderFields = 1000
	// MaxHeaderBytes: Postfix's header_size_limit default is 102400 bytes; we
	// keep ten times that before giving up.
	MaxHeaderBytes = 1 << 20
)

// Message is a parsed message: ordered header fields and a spooled body.
type Message struct {
	Header Header
	Body   Spool
	// HeaderTruncated is set when fields were dropped past MaxHeaderFields or
	// MaxHeaderBytes.
	HeaderTruncated bool
	// MalformedHeader is set when a header line had no colon; the parser then
	// treats the rest as body, as most MTAs do.
	MalformedHeader bool

	headerBytes int
}

// New returns an empty message whose body spools past threshold bytes into dir.
func New(threshold int64, dir string) *Message {
	return &Message{Body: Spool{Threshold: threshold, Dir: dir}}
}

// AddField appends a header field, honouring the limits.
func (m *Message) AddField(name, value string) {
	if len(m.Header.Fields) >= MaxHeaderFields || m.headerBytes+len(name)+len(value) > MaxHeaderBytes {
		m.HeaderTruncated = true
		return
	}
	m.headerBytes += len(name) + len(value) + 3
	m.Header.Add(name, value)
}

// Size is the message size in bytes (header, separator and body).
func (m *Message) Size() int64 { return int64(m.Header.Size()) + 2 + m.Body.Size() }

// BodyReader returns the body (CRLF line endings) from its start.
func (m *Message) BodyReader() io.Reader { return m.Body.Reader() }

// Reader returns the whole message: header fields, the empty line, the body.
func (m *Message) Reader() io.Reader {
	var hb bytes.Buffer
	for _, f := range m.Header.Fields {
		hb.WriteString(f.Raw())
	}
	hb.WriteString("\r\n")
	return io.MultiReader(&hb, m.Body.Reader())
}

// BodyPrefix returns at most limit bytes of the body.
func (m *Message) BodyPrefix(limit int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(m.Body.Reader(), limit))
}

// Close releases the body spool.
func (m *Message) Close() error { return m.Body.Close() }

// ErrEmpty is returned by Parse for input with no header and no body.
var ErrEmpty = errors.New("message: empty input")

// Parse reads a message from r: LF or CRLF line endings (stored as CRLF), an
// optional leading mbox "From " line (dropped). The body spools past
// threshold bytes into dir.
func Parse(r io.Reader, threshold int64, dir string) (*Message, error) {
	m := New(threshold, dir)
	br := bufio.NewReaderSize(r, 64<<10)
	first := true
	inHeader := true
	var cur *Field
	flush := func() {
		if cur != nil {
			m.AddField(cur.Name, cur.Value)
			cur = nil
		}
	}
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A very long line: collect it whole. Copy first: ReadBytes
			// reuses the buffer ReadSlice returned.
			head := append([]byte(nil), line...)
			rest, err2 := br.ReadBytes('\n')
			line = append(head, rest...)
			err = err2
		}
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				break
			}
			m.Close()
			return nil, fmt.Errorf("message: read: %w", err)
		}
		content := bytes.TrimRight(line, "\r\n")
		hadEOL := len(content) != len(line)
		if first {
			first = false
			if bytes.HasPrefix(content, []byte("From ")) {
				continue
			}
		}
		if inHeader {
			switch {
			case len(content) == 0:
				flush()
				inHeader = false
				if !hadEOL && err == io.EOF {
					break
				}
				continue
			case content[0] == ' ' || content[0] == '\t':
				if cur != nil {
					cur.Value += "\r\n" + string(content)
					continue
				}
				// continuation with no field before it: malformed.
				m.MalformedHeader = true
				inHeader = false
			default:
				if i := bytes.IndexByte(content, ':'); i > 0 && validFieldName(content[:i]) {
					flush()
					cur = &Field{Name: string(content[:i]), Value: string(content[i+1:])}
					continue
				}
				m.MalformedHeader = true
				flush()
				inHeader = false
			}
		}
		if _, werr := m.Body.Write(content); werr != nil {
			m.Close()
			return nil, werr
		}
		if hadEOL {
			if _, werr := m.Body.Write(crlf); werr != nil {
				m.Close()
				return nil, werr
			}
		}
		if err == io.EOF {
			break
		}
	}
	flush()
	if len(m.Header.Fields) == 0 && m.Body.Size() == 0 {
		m.Close()
		return nil, ErrEmpty
	}
	return m, nil
}

var crlf = []byte("\r\n")

// validFieldName reports whether b is an RFC 5322 field name (printable
// US-ASCII except colon, no space).
func validFieldName(b []byte) bool {
	for _, c := range b {
		if c <= 32 || c >= 127 || c == ':' {
			return false
		}
	}
	return true
}
