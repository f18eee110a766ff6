package clamd_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/clamd"
	"github.com/mailwarden/mailwarden/internal/clamd/clamdtest"
)

func TestParseReply(t *testing.T) {
	tests := []struct {
		name     string
		reply    string
		infected bool
		sig      string
		err      error
	}{
		{"clean", "stream: OK", false, "", nil},
		{"virus", "stream: Eicar-Test-Signature FOUND", true, "Eicar-Test-Signature", nil},
		{"heuristic", "stream: Heuristics.Phishing.Email.SpoofedDomain FOUND", true, "Heuristics.Phishing.Email.SpoofedDomain", nil},
		{"size limit", "INSTREAM size limit exceeded. ERROR", false, "", clamd.ErrSizeLimit},
		{"other error", "stream: Can't allocate memory ERROR", false, "", nil},
		{"empty", "", false, "", clamd.ErrBadReply},
		{"garbage", "hello", false, "", clamd.ErrBadReply},
		{"found without name", "stream:  FOUND", false, "", clamd.ErrBadReply},
		{"name with space", "stream: a b FOUND", false, "", clamd.ErrBadReply},
		{"name with control", "stream: a\x01b FOUND", false, "", clamd.ErrBadReply},
		{"ok with junk", "stream: OK junk", false, "", clamd.ErrBadReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := clamd.ParseReply(tt.reply)
			if tt.name == "other error" {
				var ce *clamd.Error
				if !errors.As(err, &ce) {
					t.Fatalf("err = %v, want *clamd.Error", err)
				}
				return
			}
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if res.Infected {
					t.Fatal("an error reply must not say infected")
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if res.Infected != tt.infected || res.Signature != tt.sig {
				t.Fatalf("got infected=%v sig=%q, want %v %q", res.Infected, res.Signature, tt.infected, tt.sig)
			}
		})
	}
}

func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"stream: OK", "stream: X FOUND", "INSTREAM size limit exceeded. ERROR", "PONG", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		res, err := clamd.ParseReply(s)
		if err != nil && res.Infected {
			t.Fatalf("%q: infected with an error", s)
		}
		if res.Infected && (res.Signature == "" || strings.ContainsAny(res.Signature, " \x00\n")) {
			t.Fatalf("%q: bad signature %q", s, res.Signature)
		}
		if err == nil && !res.Infected && s != "stream: OK" {
			t.Fatalf("%q accepted as clean", s)
		}
	})
}

func TestParseAddress(t *testing.T) {
	tests := []struct{ in, network, addr string }{
		{"unix:/run/clamav/clamd.ctl", "unix", "/run/clamav/clamd.ctl"},
		{"/run/clamav/clamd.ctl", "unix", "/run/clamav/clamd.ctl"},
		{"inet:127.0.0.1:3310", "tcp", "127.0.0.1:3310"},
		{"tcp:[::1]:3310", "tcp", "[::1]:3310"},
		{"localhost:3310", "tcp", "localhost:3310"},
		{"unix:relative", "", ""},
		{"127.0.0.1", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, a, err := clamd.ParseAddress(tt.in)
			if tt.network == "" {
				if err == nil {
					t.Fatalf("accepted %q", tt.in)
				}
				return
			}
			if err != nil || n != tt.network || a != tt.addr {
				t.Fatalf("got %q %q %v", n, a, err)
			}
		})
	}
}

// peer is a loopback listener that answers every connection with fn: for the
// misbehaving-peer cases a real clamd cannot be made to produce.
func peer(t *testing.T, fn func(net.Conn)) *clamd.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); fn(c) }()
		}
	}()
	return &clamd.Client{Network: "tcp", Address: l.Addr().String(), Timeout: 500 * time.Millisecond}
}

func TestMisbehavingPeer(t *testing.T) {
	tests := []struct {
		name string
		fn   func(net.Conn)
	}{
		{"silent", func(c net.Conn) { io.Copy(io.Discard, c) }},
		{"endless reply", func(c net.Conn) {
			go io.Copy(io.Discard, c)
			chunk := bytes.Repeat([]byte("A"), 1024)
			for {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}},
		{"closes at once", func(c net.Conn) {}},
		{"garbage", func(c net.Conn) { c.Write([]byte("stream: totally fine\x00")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := peer(t, tt.fn)
			start := time.Now()
			res, err := c.Scan(context.Background(), strings.NewReader("hello"))
			if err == nil || res.Infected {
				t.Fatalf("got %+v, %v; want an error", res, err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %v despite a 500ms timeout", d)
			}
		})
	}
}

func TestContextCancel(t *testing.T) {
	c := peer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	c.Timeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Scan(ctx, strings.NewReader("x"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

func zipOf(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mailWith(name string, data []byte) []byte {
	b64 := base64.StdEncoding.EncodeToString(data)
	return []byte("From: a@example.com\r\nTo: b@example.org\r\nSubject: test\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n" +
		"--XX\r\nContent-Type: application/octet-stream; name=\"" + name + "\"\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"" + name + "\"\r\n\r\n" + b64 + "\r\n--XX--\r\n")
}

func TestScanRealClamd(t *testing.T) {
	srv := clamdtest.Start(t)
	c := srv.Client(10 * time.Second)
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := c.Version(ctx)
	if err != nil || !strings.HasPrefix(v, "ClamAV ") {
		t.Fatalf("version %q %v", v, err)
	}
	eicar := clamdtest.EICAR()
	tests := []struct {
		name     string
		data     []byte
		chunk    int
		infected bool
	}{
		{"clean text", []byte("hello world\r\n"), 0, false},
		{"empty", nil, 0, false},
		{"eicar plain", eicar, 0, true},
		{"eicar split over tiny chunks", eicar, 7, true},
		{"eicar in zip", zipOf(t, "readme.txt", eicar), 0, true},
		{"eicar base64 in a message", mailWith("invoice.pdf", eicar), 0, true},
		{"zip in a message", mailWith("docs.zip", zipOf(t, "a.txt", eicar)), 0, true},
		{"clean message", mailWith("notes.txt", []byte("nothing to see")), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := srv.Client(10 * time.Second)
			if tt.chunk > 0 {
				cc.ChunkSize = tt.chunk
			}
			res, err := cc.Scan(ctx, bytes.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if res.Infected != tt.infected {
				t.Fatalf("infected = %v (%q), want %v", res.Infected, res.Raw, tt.infected)
			}
			if tt.infected && !strings.HasPrefix(res.Signature, clamdtest.Signature) {
				t.Fatalf("signature %q, want %s...", res.Signature, clamdtest.Signature)
			}
		})
	}

	t.Run("unix socket", func(t *testing.T) {
		uc, err := clamd.New("unix:"+srv.Socket, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := uc.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := uc.Scan(ctx, bytes.NewReader(mailWith("a.bin", eicar)))
		if err != nil || !res.Infected {
			t.Fatalf("got %+v %v", res, err)
		}
	})

	t.Run("sessions", func(t *testing.T) {
		sc := srv.Client(10 * time.Second)
		sc.Sessions = 2
		defer sc.Close()
		msgs := [][]byte{mailWith("a.bin", eicar), []byte("clean"), zipOf(t, "x.txt", eicar), nil}
		for i := 0; i < 12; i++ {
			data := msgs[i%len(msgs)]
			res, err := sc.ScanOpen(ctx, func() io.Reader { return bytes.NewReader(data) })
			if err != nil {
				t.Fatalf("scan %d: %v", i, err)
			}
			if want := i%2 == 0; res.Infected != want {
				t.Fatalf("scan %d: infected %v, want %v", i, res.Infected, want)
			}
		}
		// A restarted clamd has dropped the idle sessions; the next scan
		// must notice and retry on a new connection.
		srv.Restart(t)
		res, err := sc.ScanOpen(ctx, func() io.Reader { return bytes.NewReader(eicar) })
		if err != nil || !res.Infected {
			t.Fatalf("after clamd dropped the session: %+v %v", res, err)
		}
	})

	t.Run("over StreamMaxLength", func(t *testing.T) {
		big := bytes.Repeat([]byte("0123456789abcdef"), (11<<20)/16)
		_, err := c.Scan(ctx, bytes.NewReader(big))
		if !errors.Is(err, clamd.ErrSizeLimit) {
			t.Fatalf("err = %v, want ErrSizeLimit", err)
		}
	})

	t.Run("stopped", func(t *testing.T) {
		srv.Stop()
		_, err := c.Scan(ctx, bytes.NewReader(eicar))
		if err == nil {
			t.Fatal("scan against a stopped clamd succeeded")
		}
		if err := c.Ping(ctx); err == nil {
			t.Fatal("ping against a stopped clamd succeeded")
		}
	})
}
