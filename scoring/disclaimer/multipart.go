package disclaimer

import (
	"bytes"
	"errors"
	"strings"
)

// multipart is a multipart body cut at its delimiter lines (RFC 2046 5.1.1),
// kept as bytes so that what is not rewritten is sent back unchanged.
type multipart struct {
	// segs alternates: preamble+first delimiter line, part, delimiter
	// line, part, ..., close delimiter line+epilogue. parts index into segs.
	segs  [][]byte
	parts [][]byte
	idx   []int
}

var errNoClose = errors.New("multipart without closing delimiter")

// splitMultipart cuts body at the lines "--boundary" / "--boundary--". The
// CRLF before a delimiter belongs to the delimiter (RFC 2046 5.1.1).
func splitMultipart(body []byte, boundary string) (*multipart, error) {
	delim := []byte("--" + boundary)
	mp := &multipart{}
	lineStart := 0
	segStart := 0
	inPart := false
	partStart := 0
	closed := false
	for lineStart <= len(body) && !closed {
		end := bytes.IndexByte(body[lineStart:], '\n')
		var line []byte
		next := len(body) + 1
		if end >= 0 {
			line = body[lineStart : lineStart+end+1]
			next = lineStart + end + 1
		} else {
			line = body[lineStart:]
		}
		trimmed := bytes.TrimRight(line, " \t\r\n")
		if bytes.HasPrefix(trimmed, delim) {
			rest := trimmed[len(delim):]
			isClose := string(rest) == "--"
			if len(rest) == 0 || isClose {
				// The delimiter starts at the CRLF before it.
				dStart := lineStart
				if dStart >= 2 && body[dStart-2] == '\r' && body[dStart-1] == '\n' {
					dStart -= 2
				} else if dStart >= 1 && body[dStart-1] == '\n' {
					dStart--
				}
				if inPart {
					if dStart < partStart {
						dStart = partStart
					}
					mp.addPart(body[partStart:dStart])
					segStart = dStart
				}
				if isClose {
					mp.segs = append(mp.segs, body[segStart:])
					closed = true
					break
				}
				lineEnd := next
				if lineEnd > len(body) {
					lineEnd = len(body)
				}
				mp.segs = append(mp.segs, body[segStart:lineEnd])
				inPart = true
				partStart = lineEnd
			}
		}
		if end < 0 {
			break
		}
		lineStart = next
	}
	if !closed {
		return nil, errNoClose
	}
	return mp, nil
}

func (mp *multipart) addPart(b []byte) {
	mp.idx = append(mp.idx, len(mp.segs))
	mp.segs = append(mp.segs, b)
	mp.parts = append(mp.parts, b)
}

func (mp *multipart) join() []byte {
	for i, j := range mp.idx {
		mp.segs[j] = mp.parts[i]
	}
	return bytes.Join(mp.segs, nil)
}

// parsePart reads a body part's header fields (only Content-Type,
// Content-Transfer-Encoding and Content-Disposition matter here).
func parsePart(raw []byte) (*part, error) {
	hdrEnd, bodyStart := headerEnd(raw)
	if hdrEnd < 0 {
		// No header: RFC 2046 5.1.1 default text/plain; us-ascii.
		return &part{body: raw}, nil
	}
	if hdrEnd > maxHeaderBytes {
		return nil, errors.New("part header too large")
	}
	p := &part{body: raw[bodyStart:]}
	for _, f := range headerFields(raw[:hdrEnd]) {
		switch strings.ToLower(f.name) {
		case "content-type":
			p.ctype = f.value
		case "content-transfer-encoding":
			p.cte = f.value
		case "content-disposition":
			p.disposition = f.value
		}
	}
	return p, nil
}

// headerEnd returns where the header block ends and the body starts; -1 when
// the part starts with its body (an empty line first).
func headerEnd(raw []byte) (int, int) {
	if bytes.HasPrefix(raw, []byte("\r\n")) {
		return 0, 2
	}
	if bytes.HasPrefix(raw, []byte("\n")) {
		return 0, 1
	}
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return i + 2, i + 4
	}
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		return i + 1, i + 2
	}
	return len(raw), len(raw)
}

type field struct{ name, value string }

func headerFields(h []byte) []field {
	var out []field
	for _, line := range strings.SplitAfter(string(h), "\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1].value += " " + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		out = append(out, field{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	return out
}

// render writes the part back: the original header with Content-Type and
// Content-Transfer-Encoding replaced when they changed, then the new body.
func (p *part) render(orig []byte) []byte {
	old, _ := parsePart(orig)
	hdrEnd, _ := headerEnd(orig)
	if hdrEnd < 0 {
		hdrEnd = 0
	}
	hdr := string(orig[:hdrEnd])
	if old != nil && (old.ctype != p.ctype || !strings.EqualFold(old.cte, p.cte)) {
		hdr = replaceField(hdr, "Content-Type", p.ctype)
		if p.cte != "" {
			hdr = replaceField(hdr, "Content-Transfer-Encoding", p.cte)
		}
	}
	var b bytes.Buffer
	b.WriteString(hdr)
	b.WriteString("\r\n")
	b.Write(p.body)
	return b.Bytes()
}

// replaceField replaces (or appends) a header field, folded lines included.
func replaceField(hdr, name, value string) string {
	lines := strings.SplitAfter(hdr, "\n")
	var out []string
	done := false
	skipping := false
	for _, l := range lines {
		if l == "" {
			continue
		}
		if skipping && (l[0] == ' ' || l[0] == '\t') {
			continue
		}
		skipping = false
		if k, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			skipping = true
			if !done {
				out = append(out, name+": "+value+"\r\n")
				done = true
			}
			continue
		}
		out = append(out, l)
	}
	if !done {
		out = append(out, name+": "+value+"\r\n")
	}
	return strings.Join(out, "")
}
