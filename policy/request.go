package policy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Limits on a request. Postfix sends some 30 attributes of a few dozen
// bytes each; the limits leave room for long certificate subjects and
// future attributes while bounding what a broken or hostile peer can make
// us hold.
const (
	// MaxLineLength bounds one name=value line (Postfix's own
	// line_length_limit is 2048; TLS certificate attributes can be long).
	MaxLineLength = 4096
	// MaxAttributes bounds the attributes of one request (Postfix 3.7
	// sends 34).
	MaxAttributes = 100
	// MaxRequestSize bounds the bytes of one request.
	MaxRequestSize = 32 << 10
)

// Errors of ReadRequest. A caller closes the connection on any of them.
var (
	ErrLineTooLong   = errors.New("policy: line too long")
	ErrTooManyAttrs  = errors.New("policy: too many attributes")
	ErrRequestTooBig = errors.New("policy: request too large")
	ErrMalformed     = errors.New("policy: malformed line")
	ErrIncomplete    = errors.New("policy: connection closed inside a request")
)

// Request is one policy request: the attributes in the order received.
// Unknown attributes are kept and ignored, as SMTPD_POLICY_README asks.
type Request struct {
	Attrs []Attr
}

// Attr is one name=value attribute.
type Attr struct{ Name, Value string }

// Get returns the value of the last attribute with that name, or "".
func (r *Request) Get(name string) string {
	for i := len(r.Attrs) - 1; i >= 0; i-- {
		if r.Attrs[i].Name == name {
			return r.Attrs[i].Value
		}
	}
	return ""
}

// NewReader returns a buffered reader sized for ReadRequest.
func NewReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, MaxLineLength+2) }

// ReadRequest reads one request. At a clean end of the connection (no
// bytes of a new request read) it returns io.EOF. The reader must come from
// NewReader (its buffer bounds a line).
func ReadRequest(br *bufio.Reader) (*Request, error) {
	req := &Request{Attrs: make([]Attr, 0, 40)}
	size := 0
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > MaxLineLength+1 {
			return nil, ErrLineTooLong
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if size == 0 && len(line) == 0 {
					return nil, io.EOF
				}
				return nil, ErrIncomplete
			}
			return nil, err
		}
		size += len(line)
		if size > MaxRequestSize {
			return nil, ErrRequestTooBig
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			if len(req.Attrs) == 0 {
				return nil, fmt.Errorf("%w: empty request", ErrMalformed)
			}
			return req, nil
		}
		if len(req.Attrs) >= MaxAttributes {
			return nil, ErrTooManyAttrs
		}
		i := bytes.IndexByte(line, '=')
		if i <= 0 {
			return nil, fmt.Errorf("%w: no name=value", ErrMalformed)
		}
		name := line[:i]
		for _, c := range name {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
				return nil, fmt.Errorf("%w: bad attribute name", ErrMalformed)
			}
		}
		if bytes.IndexByte(line, 0) >= 0 {
			return nil, fmt.Errorf("%w: NUL byte", ErrMalformed)
		}
		req.Attrs = append(req.Attrs, Attr{Name: internName(name), Value: string(line[i+1:])})
	}
}

// knownNames are the attributes Postfix sends; interning them saves an
// allocation per attribute per request.
var knownNames = func() map[string]string {
	m := make(map[string]string)
	for _, n := range []string{
		"request", "protocol_state", "protocol_name", "helo_name", "queue_id", "sender", "recipient",
		"recipient_count", "client_address", "client_name", "client_port", "reverse_client_name", "instance",
		"sasl_method", "sasl_username", "sasl_sender", "size", "ccert_subject", "ccert_issuer",
		"ccert_fingerprint", "ccert_pubkey_fingerprint", "encryption_protocol", "encryption_cipher",
		"encryption_keysize", "etrn_domain", "stress", "policy_context", "server_address", "server_port",
		"compatibility_level", "mail_version", "client_hostname", "data_size",
	} {
		m[n] = n
	}
	return m
}()

func internName(b []byte) string {
	if s, ok := knownNames[string(b)]; ok { // no allocation for the lookup
		return s
	}
	return string(b)
}
