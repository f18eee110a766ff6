package message

import (
	"net/textproto"
	"strings"
)

// Field is one header field. Value is the raw text after the colon, as
// received (leading white space and folding kept, line breaks as CRLF), so
// that DKIM can canonicalize it exactly.
type Field struct {
	Name  string
	Value string
}

// Unfolded returns the value with folding removed and surrounding space trimmed.
func (f Field) Unfolded() string { return Unfold(f.Value) }

// Raw returns the field as it appears in the message, CRLF-terminated.
func (f Field) Raw() string { return f.Name + ":" + f.Value + "\r\n" }

// Unfold removes header folding (RFC 5322 2.2.3) and trims white space.
func Unfold(v string) string {
	if strings.IndexAny(v, "\r\n") < 0 {
		return strings.TrimSpace(v)
	}
	v = strings.ReplaceAll(v, "\r\n", "")
	v = strings.ReplaceAll(v, "\n", "")
	return strings.TrimSpace(v)
}

// Header is the ordered list of header fields of a message.
type Header struct {
	Fields []Field
}

// Add appends a field.
func (h *Header) Add(name, value string) {
	h.Fields = append(h.Fields, Field{Name: name, Value: value})
}

// Get returns the unfolded value of the first field with that name
// (case-insensitive), or "".
func (h *Header) Get(name string) string {
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Unfolded()
		}
	}
	return ""
}

// Has reports whether a field with that name exists.
func (h *Header) Has(name string) bool {
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// Values returns the unfolded values of all fields with that name, in order.
func (h *Header) Values(name string) []string {
	var out []string
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Unfolded())
		}
	}
	return out
}

// Count returns how many fields have that name.
func (h *Header) Count(name string) int {
	n := 0
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			n++
		}
	}
	return n
}

// CanonicalName returns the MIME-canonical form of a field name ("x-spam-flag"
// becomes "X-Spam-Flag").
func CanonicalName(name string) string { return textproto.CanonicalMIMEHeaderKey(name) }

// Size returns the size of the header block in bytes, separator line excluded.
func (h *Header) Size() int {
	n := 0
	for _, f := range h.Fields {
		n += len(f.Name) + 1 + len(f.Value) + 2
	}
	return n
}
