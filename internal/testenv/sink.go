package testenv

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// SinkMessage is one message the sink received.
type SinkMessage struct {
	From  string
	Rcpts []string
	Raw   []byte // as received, CRLF line endings, dot-unstuffed
}

// Header returns the first value of a header field of the message, unfolded.
func (m SinkMessage) Header(name string) string {
	hdr, _, _ := bytes.Cut(m.Raw, []byte("\r\n\r\n"))
	lines := strings.Split(string(hdr), "\r\n")
	for i := 0; i < len(lines); i++ {
		k, v, ok := strings.Cut(lines[i], ":")
		if !ok || !strings.EqualFold(k, name) {
			continue
		}
		for i+1 < len(lines) && (strings.HasPrefix(lines[i+1], " ") || strings.HasPrefix(lines[i+1], "\t")) {
			i++
			v += lines[i]
		}
		return strings.TrimSpace(v)
	}
	return ""
}

// Sink is a minimal SMTP server on loopback that Postfix relays to; it keeps
// every message it is given.
type Sink struct {
	Addr string
	ln   net.Listener
	mu   sync.Mutex
	msgs []SinkMessage
	cond *sync.Cond
}

// StartSink starts a sink on a free loopback port.
func StartSink(t testing.TB) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{Addr: ln.Addr().String(), ln: ln}
	s.cond = sync.NewCond(&s.mu)
	go s.serve()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *Sink) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *Sink) session(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	say := func(line string) { fmt.Fprintf(w, "%s\r\n", line); w.Flush() }
	say("220 sink ESMTP")
	var cur SinkMessage
	for {
		c.SetReadDeadline(time.Now().Add(2 * time.Minute))
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			say("250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 100000000")
		case strings.HasPrefix(cmd, "HELO"):
			say("250 sink")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			cur = SinkMessage{From: addrArg(line[10:])}
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			cur.Rcpts = append(cur.Rcpts, addrArg(line[8:]))
			say("250 ok")
		case cmd == "DATA":
			say("354 go ahead")
			var buf bytes.Buffer
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
				if strings.HasPrefix(l, "..") {
					l = l[1:]
				}
				buf.WriteString(strings.TrimRight(l, "\r\n") + "\r\n")
			}
			cur.Raw = buf.Bytes()
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.cond.Broadcast()
			s.mu.Unlock()
			say("250 queued")
		case cmd == "RSET", cmd == "NOOP":
			say("250 ok")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}

func addrArg(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '>'); i >= 0 {
		s = s[:i+1]
	}
	return strings.Trim(s, "<>")
}

// Messages returns what has arrived so far.
func (s *Sink) Messages() []SinkMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SinkMessage(nil), s.msgs...)
}

// Wait waits until at least n messages arrived and returns them all; it
// fails the test after timeout.
func (s *Sink) Wait(t testing.TB, n int, timeout time.Duration) []SinkMessage {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := s.Messages()
		if len(m) >= n {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink: %d of %d messages after %v", len(m), n, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
