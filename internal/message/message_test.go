package message

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		fields    []Field
		body      string
		malformed bool
	}{
		{"LF endings", "From: a@b\nSubject: hi\n\nline1\nline2\n",
			[]Field{{"From", " a@b"}, {"Subject", " hi"}}, "line1\r\nline2\r\n", false},
		{"CRLF endings", "From: a@b\r\n\r\nx\r\n", []Field{{"From", " a@b"}}, "x\r\n", false},
		{"mbox From line dropped", "From a@b Wed Nov 25 10:00:00 2026\nFrom: a@b\n\nx\n", []Field{{"From", " a@b"}}, "x\r\n", false},
		{"folded header kept raw", "Subject: one\n two\n\tthree\nTo: c@d\n\n",
			[]Field{{"Subject", " one\r\n two\r\n\tthree"}, {"To", " c@d"}}, "", false},
		{"no trailing newline", "From: a@b\n\nbody", []Field{{"From", " a@b"}}, "body", false},
		{"header only", "From: a@b\n", []Field{{"From", " a@b"}}, "", false},
		{"no colon ends header", "From: a@b\nthis is not a header\nmore\n", []Field{{"From", " a@b"}}, "this is not a header\r\nmore\r\n", true},
		{"empty value", "X-Empty:\n\n", []Field{{"X-Empty", ""}}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(tt.in), 0, "")
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if len(m.Header.Fields) != len(tt.fields) {
				t.Fatalf("fields %q, want %q", m.Header.Fields, tt.fields)
			}
			for i, f := range tt.fields {
				if m.Header.Fields[i] != f {
					t.Errorf("field %d = %q, want %q", i, m.Header.Fields[i], f)
				}
			}
			body, _ := io.ReadAll(m.BodyReader())
			if string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			if m.MalformedHeader != tt.malformed {
				t.Errorf("MalformedHeader = %v", m.MalformedHeader)
			}
		})
	}
	if _, err := Parse(strings.NewReader(""), 0, ""); err != ErrEmpty {
		t.Errorf("empty input: %v", err)
	}
}

func TestHeaderAccessors(t *testing.T) {
	m, _ := Parse(strings.NewReader("Received: a\nreceived: b\nSubject: x\n y\n\n"), 0, "")
	h := &m.Header
	if h.Count("RECEIVED") != 2 || h.Get("subject") != "x y" || !h.Has("Subject") || h.Has("Date") {
		t.Fatalf("accessors wrong: %+v", h.Fields)
	}
	if v := h.Values("received"); len(v) != 2 || v[1] != "b" {
		t.Fatalf("Values = %q", v)
	}
}

func TestSpoolGoesToDiskPastThreshold(t *testing.T) {
	dir := t.TempDir()
	s := &Spool{Threshold: 100, Dir: dir}
	chunk := bytes.Repeat([]byte("0123456789"), 7)
	s.Write(chunk)
	if s.Spooled() {
		t.Fatal("spooled below threshold")
	}
	s.Write(chunk)
	if !s.Spooled() || s.Size() != 140 {
		t.Fatalf("spooled=%v size=%d", s.Spooled(), s.Size())
	}
	got, _ := io.ReadAll(s.Reader())
	if !bytes.Equal(got, append(append([]byte(nil), chunk...), chunk...)) {
		t.Fatal("spooled content differs")
	}
	// Read twice: readers start from the beginning each time.
	got2, _ := io.ReadAll(s.Reader())
	if len(got2) != 140 {
		t.Fatal("second reader")
	}
	s.Close()
}

func TestHeaderLimits(t *testing.T) {
	var b strings.Builder
	for i := 0; i < MaxHeaderFields+10; i++ {
		b.WriteString("X-Many: v\n")
	}
	b.WriteString("\nbody\n")
	m, err := Parse(strings.NewReader(b.String()), 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Header.Fields) != MaxHeaderFields || !m.HeaderTruncated {
		t.Fatalf("%d fields kept, truncated=%v", len(m.Header.Fields), m.HeaderTruncated)
	}
	huge := "Subject: " + strings.Repeat("x", 2*MaxHeaderBytes) + "\n\nbody\n"
	m, err = Parse(strings.NewReader(huge), 0, "")
	if err != nil || !m.HeaderTruncated {
		t.Fatalf("huge header: err=%v truncated=%v", err, m.HeaderTruncated)
	}
}

func TestReaderRoundTrip(t *testing.T) {
	in := "From: a@b\r\nSubject: one\r\n two\r\n\r\nbody\r\n"
	m, _ := Parse(strings.NewReader(in), 0, "")
	out, _ := io.ReadAll(m.Reader())
	if string(out) != in {
		t.Fatalf("round trip:\n%q\n%q", out, in)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"From: a\n\nb", "From x\nA: b\n c\n\nbody", "\n\n", ":\n", "A:\r\n\r\n.\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(bytes.NewReader(data), 512, t.TempDir())
		if err != nil {
			return
		}
		defer m.Close()
		out, _ := io.ReadAll(m.Reader())
		if int64(len(out)) != m.Size() {
			t.Fatalf("Size %d but Reader gives %d bytes", m.Size(), len(out))
		}
	})
}
