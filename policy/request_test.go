package policy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// postfixRequest is a request as Postfix 3.7 sends it.
const postfixRequest = "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n" +
	"client_address=192.0.2.10\nclient_name=mail.example.com\nclient_port=40000\nreverse_client_name=mail.example.com\n" +
	"server_address=127.0.0.1\nserver_port=25\nhelo_name=mail.example.com\nsender=alice@example.com\n" +
	"recipient=bob@example.org\nrecipient_count=0\nqueue_id=\ninstance=3f1a.6565f0a1.4b2c1.0\nsize=0\n" +
	"etrn_domain=\nstress=\nsasl_method=\nsasl_username=\nsasl_sender=\nccert_subject=\nccert_issuer=\n" +
	"ccert_fingerprint=\nccert_pubkey_fingerprint=\nencryption_protocol=\nencryption_cipher=\n" +
	"encryption_keysize=0\npolicy_context=\ncompatibility_level=3.6\nmail_version=3.7.11\n\n"

func read(s string) (*Request, error) { return ReadRequest(NewReader(strings.NewReader(s))) }

func TestReadRequest(t *testing.T) {
	long := strings.Repeat("x", MaxLineLength)
	many := strings.Repeat("a=b\n", MaxAttributes+1) + "\n"
	big := strings.Repeat("ccert_subject="+strings.Repeat("y", 3000)+"\n", 12) + "\n"
	tests := []struct {
		name    string
		in      string
		wantErr error
		check   func(t *testing.T, r *Request)
	}{
		{"postfix request", postfixRequest, nil, func(t *testing.T, r *Request) {
			if r.Get("client_address") != "192.0.2.10" || r.Get("recipient") != "bob@example.org" || r.Get("queue_id") != "" {
				t.Errorf("attrs: %+v", r.Attrs)
			}
		}},
		{"value with equals", "request=smtpd_access_policy\nsender=a=b@example.com\n\n", nil, func(t *testing.T, r *Request) {
			if r.Get("sender") != "a=b@example.com" {
				t.Errorf("sender = %q", r.Get("sender"))
			}
		}},
		{"crlf lines", "request=smtpd_access_policy\r\nsender=x@y\r\n\r\n", nil, func(t *testing.T, r *Request) {
			if r.Get("sender") != "x@y" {
				t.Errorf("sender = %q", r.Get("sender"))
			}
		}},
		{"unknown attribute kept", "request=smtpd_access_policy\nfuture_thing=1\n\n", nil, func(t *testing.T, r *Request) {
			if r.Get("future_thing") != "1" {
				t.Error("unknown attribute lost")
			}
		}},
		{"last duplicate wins", "sender=a\nsender=b\n\n", nil, func(t *testing.T, r *Request) {
			if r.Get("sender") != "b" {
				t.Errorf("sender = %q", r.Get("sender"))
			}
		}},
		{"line at the limit", "ccert_subject=" + long[:MaxLineLength-len("ccert_subject=")] + "\n\n", nil, nil},
		{"clean eof", "", io.EOF, nil},
		{"line too long", "ccert_subject=" + long + "\n\n", ErrLineTooLong, nil},
		{"too many attributes", many, ErrTooManyAttrs, nil},
		{"request too large", big, ErrRequestTooBig, nil},
		{"no equals", "request=smtpd_access_policy\ngarbage\n\n", ErrMalformed, nil},
		{"empty name", "=value\n\n", ErrMalformed, nil},
		{"bad name", "na me=value\n\n", ErrMalformed, nil},
		{"nul byte", "sender=a\x00b\n\n", ErrMalformed, nil},
		{"empty request", "\n", ErrMalformed, nil},
		{"eof inside request", "request=smtpd_access_policy\nsender=x", ErrIncomplete, nil},
		{"eof before blank line", "request=smtpd_access_policy\n", ErrIncomplete, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := read(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestReadManyRequests(t *testing.T) {
	br := NewReader(strings.NewReader(postfixRequest + strings.Replace(postfixRequest, "bob@", "carol@", 1)))
	for _, want := range []string{"bob@example.org", "carol@example.org"} {
		r, err := ReadRequest(br)
		if err != nil {
			t.Fatal(err)
		}
		if r.Get("recipient") != want {
			t.Fatalf("recipient = %q, want %q", r.Get("recipient"), want)
		}
	}
	if _, err := ReadRequest(br); err != io.EOF {
		t.Fatalf("after the last request: %v, want EOF", err)
	}
}

func TestReplyBytes(t *testing.T) {
	tests := []struct {
		r    Reply
		want string
	}{
		{Reply{}, "action=DUNNO\n\n"},
		{Reply{Action: Dunno, Text: "ignored"}, "action=DUNNO\n\n"},
		{Reply{Action: Reject, Text: "5.7.1 go away"}, "action=REJECT 5.7.1 go away\n\n"},
		{Reply{Action: DeferIfPermit, Text: "4.7.1 later"}, "action=DEFER_IF_PERMIT 4.7.1 later\n\n"},
		{Reply{Action: Defer, Text: "later"}, "action=DEFER later\n\n"},
		{Reply{Action: Prepend, Text: "X-Checked: yes"}, "action=PREPEND X-Checked: yes\n\n"},
		{Reply{Action: Reject, Text: "line1\nline2\r\n"}, "action=REJECT line1 line2  \n\n"},
	}
	for _, tt := range tests {
		t.Run(string(tt.r.Action)+"/"+tt.r.Text, func(t *testing.T) {
			if got := string(tt.r.Bytes()); got != tt.want {
				t.Fatalf("Bytes() = %q, want %q", got, tt.want)
			}
		})
	}
	long := Reply{Action: Reject, Text: strings.Repeat("z", 5000)}
	if n := len(long.Bytes()); n > maxReplyText+32 {
		t.Fatalf("long reply is %d bytes", n)
	}
}

// FuzzReadRequest: the parser must never panic, must respect its limits,
// and what it returns must survive a round trip.
func FuzzReadRequest(f *testing.F) {
	f.Add([]byte(postfixRequest))
	f.Add([]byte("request=smtpd_access_policy\r\n\r\n"))
	f.Add([]byte("a=b\n\nc=d\n\n"))
	f.Add([]byte("=\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := NewReader(bytes.NewReader(data))
		for range 10 {
			r, err := ReadRequest(br)
			if err != nil {
				return
			}
			if len(r.Attrs) == 0 || len(r.Attrs) > MaxAttributes {
				t.Fatalf("%d attributes", len(r.Attrs))
			}
			var b bytes.Buffer
			for _, a := range r.Attrs {
				if a.Name == "" || strings.ContainsAny(a.Name, "=\n") || strings.ContainsAny(a.Value, "\n\x00") {
					t.Fatalf("bad attribute %q", a)
				}
				b.WriteString(a.Name + "=" + a.Value + "\n")
			}
			b.WriteString("\n")
			r2, err := ReadRequest(bufio.NewReaderSize(&b, MaxLineLength+2))
			if err != nil || len(r2.Attrs) != len(r.Attrs) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}
