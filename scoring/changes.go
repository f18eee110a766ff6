package scoring

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/mailwarden/mailwarden/internal/message"
)

// ApplyHeaders returns a copy of h with the header changes made so far
// applied in order, as the MTA will apply them: the header as it leaves.
// A modifier that must see the final header (DKIM signing) uses it.
//
// Semantics follow libmilter as Postfix implements it: AddHeader appends;
// InsertHeader inserts at Index over all fields (clamped to the end);
// ChangeHeader replaces the Index-th (1-based) field of that name in the
// header as changed so far, deletes it when Value is empty, and appends the
// field when there are fewer fields of that name. Values get the single
// leading space Postfix adds when they have none, so that the result
// renders as "Name: value".
func (c *Changes) ApplyHeaders(h message.Header) message.Header {
	out := message.Header{Fields: append([]message.Field(nil), h.Fields...)}
	for _, hc := range c.Headers {
		f := message.Field{Name: hc.Name, Value: milterValue(hc.Value)}
		switch hc.Op {
		case AddHeader:
			out.Fields = append(out.Fields, f)
		case InsertHeader:
			i := hc.Index
			if i < 0 {
				i = 0
			}
			if i > len(out.Fields) {
				i = len(out.Fields)
			}
			out.Fields = append(out.Fields, message.Field{})
			copy(out.Fields[i+1:], out.Fields[i:])
			out.Fields[i] = f
		case ChangeHeader:
			pos, n := -1, 0
			for i, have := range out.Fields {
				if strings.EqualFold(have.Name, hc.Name) {
					n++
					if n == hc.Index {
						pos = i
						break
					}
				}
			}
			switch {
			case pos < 0 && hc.Value != "":
				out.Fields = append(out.Fields, f)
			case pos < 0:
				// deleting a field that is not there: nothing to do
			case hc.Value == "":
				out.Fields = append(out.Fields[:pos], out.Fields[pos+1:]...)
			default:
				out.Fields[pos].Value = f.Value
			}
		}
	}
	return out
}

// milterValue renders a value the way the MTA stores it: CRLF line breaks,
// and one leading space when the value starts with none.
func milterValue(v string) string {
	if strings.Contains(v, "\n") {
		v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\n", "\r\n")
	}
	if v != "" && v[0] != ' ' && v[0] != '\t' {
		v = " " + v
	}
	return v
}

// BodyReader returns a reader over the body as it will leave: NewBody when a
// modifier replaced it, orig otherwise. Reading it does not consume NewBody:
// a NewBody that is not an io.ReaderAt with a Size (as *bytes.Reader is) is
// read into memory once and replaced by a *bytes.Reader.
func (c *Changes) BodyReader(orig io.Reader) (io.Reader, error) {
	if c.NewBody == nil {
		return orig, nil
	}
	type sizedReaderAt interface {
		io.ReaderAt
		Size() int64
	}
	if ra, ok := c.NewBody.(sizedReaderAt); ok {
		if br, ok := c.NewBody.(*bytes.Reader); ok && br.Len() != int(br.Size()) {
			// Partly consumed already: keep the contract simple.
			return nil, fmt.Errorf("scoring: replacement body was partly read before signing")
		}
		return io.NewSectionReader(ra, 0, ra.Size()), nil
	}
	b, err := io.ReadAll(c.NewBody)
	if err != nil {
		return nil, fmt.Errorf("scoring: read replacement body: %w", err)
	}
	c.NewBody = bytes.NewReader(b)
	return bytes.NewReader(b), nil
}
