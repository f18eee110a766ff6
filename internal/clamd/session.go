package clamd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SessionIdle is how long an idle IDSESSION connection is kept for reuse.
// clamd closes a session after its IdleTimeout (default 30 s); we give up on
// ours well before, so a reused session is almost never one clamd dropped.
const SessionIdle = 10 * time.Second

// session is one persistent IDSESSION connection. clamd numbers the
// commands of a session from 1 and prefixes each reply with "N: ".
type session struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	seq  int
	last time.Time
}

// pool holds idle sessions.
type pool struct {
	mu     sync.Mutex
	idle   []*session
	closed bool
}

func (s *session) close() {
	s.conn.SetDeadline(time.Now().Add(100 * time.Millisecond))
	io.WriteString(s.conn, "zEND\x00")
	s.conn.Close()
}

// getSession returns an idle session or opens a new one; reused says which.
func (c *Client) getSession(ctx context.Context) (s *session, reused bool, err error) {
	c.poolOnce.Do(func() { c.pool = &pool{} })
	p := c.pool
	p.mu.Lock()
	for len(p.idle) > 0 {
		s = p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if time.Since(s.last) < SessionIdle {
			p.mu.Unlock()
			return s, true, nil
		}
		go s.close()
	}
	p.mu.Unlock()

	dctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, c.Network, c.Address)
	if err != nil {
		return nil, false, fmt.Errorf("clamd: connect %s: %w", c.Address, err)
	}
	s = &session{conn: conn, br: bufio.NewReader(conn), bw: bufio.NewWriterSize(conn, c.chunkSize()+16)}
	// The session command goes out with the first scan (one write).
	s.bw.WriteString("zIDSESSION\x00")
	return s, false, nil
}

func (c *Client) putSession(s *session) {
	s.conn.SetDeadline(time.Time{})
	s.last = time.Now()
	p := c.pool
	p.mu.Lock()
	if !p.closed && len(p.idle) < c.Sessions {
		p.idle = append(p.idle, s)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	s.close()
}

// Close ends the idle sessions. The client stays usable.
func (c *Client) Close() error {
	c.poolOnce.Do(func() { c.pool = &pool{} })
	p := c.pool
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, s := range idle {
		s.close()
	}
	return nil
}

// ScanOpen scans the data open returns. With Sessions > 0 it uses a
// persistent IDSESSION connection; when a reused session turns out dead
// (clamd restarted or timed it out) it is retried once on a new one, which
// is why it takes a function that can open the data again.
func (c *Client) ScanOpen(ctx context.Context, open func() io.Reader) (Result, error) {
	if c.Sessions <= 0 {
		return c.Scan(ctx, open())
	}
	for attempt := 0; ; attempt++ {
		s, reused, err := c.getSession(ctx)
		if err != nil {
			return Result{}, err
		}
		res, retry, err := c.scanSession(ctx, s, open())
		if err == nil {
			c.putSession(s)
			return res, nil
		}
		s.conn.Close()
		if !reused || !retry || attempt > 0 || ctx.Err() != nil {
			return res, err
		}
	}
}

// scanSession runs one INSTREAM on a session. retry reports a failure
// before clamd said anything, which a new connection may not have.
func (c *Client) scanSession(ctx context.Context, s *session, r io.Reader) (res Result, retry bool, err error) {
	deadline := time.Now().Add(c.timeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	s.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { s.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	s.seq++
	if err := c.stream(s.bw, r); err != nil {
		return Result{}, true, c.ioErr(ctx, "send", err)
	}
	if err := s.bw.Flush(); err != nil {
		return Result{}, true, c.ioErr(ctx, "send", err)
	}
	reply, err := readReply(s.br)
	if err != nil {
		var ne net.Error
		timeout := errors.As(err, &ne) && ne.Timeout()
		return Result{}, !timeout, c.ioErr(ctx, "read", err)
	}
	id, rest, ok := strings.Cut(reply, ": ")
	if n, perr := strconv.Atoi(id); !ok || perr != nil || n != s.seq {
		return Result{Raw: reply}, false, fmt.Errorf("%w: session reply %q for command %d", ErrBadReply, reply, s.seq)
	}
	res, err = ParseReply(rest)
	return res, false, err
}
