// Package clamd is a client for ClamAV's scanning daemon, clamd, speaking
// its documented socket protocol (clamd(8), "COMMANDS"): the null-terminated
// "z" form of PING, VERSION and INSTREAM, over TCP or a unix socket.
//
// INSTREAM sends the data in chunks, each prefixed by its length as a 4-byte
// big-endian integer, and a zero-length chunk to end the stream. clamd
// answers one line:
//
//	stream: OK
//	stream: Eicar-Test-Signature FOUND
//	INSTREAM size limit exceeded. ERROR
//
// What clamd answers is validated before use: the reply is size-capped
// (MaxReply), must end in OK, FOUND or ERROR, and a signature name must be
// printable ASCII; anything else is an error, never "clean". Every call has
// a deadline from its context and the client's Timeout.
//
// Connections: clamd serves one command per connection unless the client
// opens an IDSESSION. Scan uses a fresh connection; ScanOpen with Sessions
// set reuses persistent sessions (session.go). BENCHMARKS.md ("Virus
// scanning") has what each costs.
package clamd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// Limits on the exchange with clamd.
const (
	// DefaultChunkSize: clamd reads INSTREAM data in chunks; 64 KiB keeps the
	// number of writes low without holding much memory per scan.
	DefaultChunkSize = 64 << 10
	// MaxReply caps clamd's answer: a reply is "stream: " + a signature name
	// (ClamAV names are well under 200 bytes) + " FOUND"; 4 KiB leaves room
	// for error texts while refusing a runaway peer.
	MaxReply = 4 << 10
	// DefaultTimeout bounds a whole command when the context has no earlier
	// deadline.
	DefaultTimeout = 30 * time.Second
	// MaxSignatureName: longer "names" are not what clamd sends.
	MaxSignatureName = 512
)

// Client talks to one clamd. The zero value is not usable; set Network and
// Address (or use New).
type Client struct {
	// Network is "tcp" or "unix".
	Network string
	// Address is "127.0.0.1:3310" or "/run/clamav/clamd.ctl".
	Address string
	// Timeout bounds each command (dial, send, answer).
	Timeout time.Duration
	// ChunkSize is the INSTREAM chunk size.
	ChunkSize int
	// Sessions > 0 keeps up to that many idle IDSESSION connections for
	// ScanOpen to reuse; 0 opens a connection per scan.
	Sessions int

	poolOnce sync.Once
	pool     *pool
}

// New returns a client for an address written "unix:/path", "inet:host:port",
// "tcp:host:port" or "host:port".
func New(addr string, timeout time.Duration) (*Client, error) {
	network, a, err := ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	return &Client{Network: network, Address: a, Timeout: timeout, ChunkSize: DefaultChunkSize}, nil
}

// ParseAddress splits a clamd address into a Go network and address.
func ParseAddress(s string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(s, "unix:"):
		p := strings.TrimPrefix(s, "unix:")
		if !strings.HasPrefix(p, "/") {
			return "", "", fmt.Errorf("clamd socket path %q must be absolute", p)
		}
		return "unix", p, nil
	case strings.HasPrefix(s, "/"):
		return "unix", s, nil
	case strings.HasPrefix(s, "inet:"):
		s = strings.TrimPrefix(s, "inet:")
	case strings.HasPrefix(s, "tcp:"):
		s = strings.TrimPrefix(s, "tcp:")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || port == "" {
		return "", "", fmt.Errorf("clamd address %q: write unix:/run/clamav/clamd.ctl or inet:127.0.0.1:3310", s)
	}
	return "tcp", net.JoinHostPort(host, port), nil
}

// Result is what clamd said about a stream.
type Result struct {
	// Infected is true when clamd reported FOUND.
	Infected bool
	// Signature is the name of the signature that matched
	// ("Eicar-Test-Signature", "Heuristics.Phishing.Email.SpoofedDomain").
	Signature string
	// Raw is clamd's reply, for the log.
	Raw string
}

// Errors a caller may want to tell apart.
var (
	// ErrSizeLimit: the stream was longer than clamd's StreamMaxLength.
	ErrSizeLimit = errors.New("clamd: INSTREAM size limit exceeded")
	// ErrBadReply: clamd's answer was not one the protocol allows.
	ErrBadReply = errors.New("clamd: malformed reply")
)

// Error is an ERROR answer from clamd.
type Error struct{ Msg string }

func (e *Error) Error() string { return "clamd: " + e.Msg }

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	deadline := time.Now().Add(c.timeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, c.Network, c.Address)
	if err != nil {
		return nil, fmt.Errorf("clamd: connect %s: %w", c.Address, err)
	}
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, err
	}
	// Abort the exchange when the context ends before the deadline.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return &ctxConn{Conn: conn, stop: stop}, nil
}

// ctxConn releases the context watcher with the connection.
type ctxConn struct {
	net.Conn
	stop func() bool
}

func (c *ctxConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// Ping sends PING and expects PONG.
func (c *Client) Ping(ctx context.Context) error {
	reply, err := c.simple(ctx, "zPING\x00")
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("%w: PING answered %q", ErrBadReply, reply)
	}
	return nil
}

// Version returns clamd's version line ("ClamAV 1.4.6/27000/...").
func (c *Client) Version(ctx context.Context) (string, error) {
	reply, err := c.simple(ctx, "zVERSION\x00")
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(reply, "ClamAV ") {
		return "", fmt.Errorf("%w: VERSION answered %q", ErrBadReply, reply)
	}
	return reply, nil
}

func (c *Client) simple(ctx context.Context, cmd string) (string, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, cmd); err != nil {
		return "", c.ioErr(ctx, "send", err)
	}
	reply, err := readReply(bufio.NewReader(conn))
	if err != nil {
		return "", c.ioErr(ctx, "read", err)
	}
	return reply, nil
}

// ioErr prefers the context's error (cancelled, deadline) over the i/o error
// it caused.
func (c *Client) ioErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("clamd: %s: %w", what, ctx.Err())
	}
	// The connection's deadline is the context's: it may fire a moment
	// before the context reports its own expiry.
	var ne net.Error
	if d, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(d) {
		return fmt.Errorf("clamd: %s: %w", what, context.DeadlineExceeded)
	}
	return fmt.Errorf("clamd: %s: %w", what, err)
}

// Scan streams r to clamd with INSTREAM and returns its verdict. A virus is
// a Result with Infected set, not an error; an error means "not scanned".
func (c *Client) Scan(ctx context.Context, r io.Reader) (Result, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	// One write for command, data and terminator when the data fits a
	// chunk: a small message then costs one segment, not three.
	bw := bufio.NewWriterSize(conn, c.chunkSize()+16)
	err = c.stream(bw, r)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		// clamd may have stopped reading because the stream exceeded its
		// limit and said so: prefer its answer to our write error.
		if reply, rerr := readReply(br); rerr == nil {
			if res, perr := ParseReply(reply); perr != nil || res.Infected {
				return res, perr
			}
		}
		return Result{}, c.ioErr(ctx, "send", err)
	}
	reply, err := readReply(br)
	if err != nil {
		return Result{}, c.ioErr(ctx, "read", err)
	}
	return ParseReply(reply)
}

func (c *Client) chunkSize() int {
	if c.ChunkSize <= 0 {
		return DefaultChunkSize
	}
	return c.ChunkSize
}

// stream writes the INSTREAM command, the chunks and the terminator.
func (c *Client) stream(w io.Writer, r io.Reader) error {
	size := c.chunkSize()
	buf := make([]byte, 4+size)
	copy(buf, "zINSTREAM\x00")
	if _, err := w.Write(buf[:10]); err != nil {
		return err
	}
	for {
		n, err := io.ReadFull(r, buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf[:4], uint32(n))
			if _, werr := w.Write(buf[:4+n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the data to scan: %w", err)
		}
	}
	_, err := w.Write([]byte{0, 0, 0, 0})
	return err
}

// readReply reads one null- or newline-terminated reply of at most MaxReply
// bytes.
func readReply(br *bufio.Reader) (string, error) {
	var b bytes.Buffer
	for {
		c, err := br.ReadByte()
		if err != nil {
			if err == io.EOF && b.Len() > 0 {
				break // clamd closed right after the reply
			}
			return "", err
		}
		if c == 0 || c == '\n' {
			break
		}
		if b.Len() >= MaxReply {
			return "", fmt.Errorf("%w: longer than %d bytes", ErrBadReply, MaxReply)
		}
		b.WriteByte(c)
	}
	return strings.TrimSpace(b.String()), nil
}

// ParseReply interprets an INSTREAM reply.
func ParseReply(reply string) (Result, error) {
	res := Result{Raw: reply}
	switch {
	case strings.HasSuffix(reply, " ERROR"):
		msg := strings.TrimSuffix(reply, " ERROR")
		if strings.Contains(msg, "size limit exceeded") {
			return res, ErrSizeLimit
		}
		return res, &Error{Msg: strings.TrimPrefix(msg, "stream: ")}
	case reply == "stream: OK":
		return res, nil
	case strings.HasPrefix(reply, "stream: ") && strings.HasSuffix(reply, " FOUND"):
		name := strings.TrimSuffix(strings.TrimPrefix(reply, "stream: "), " FOUND")
		if !validSignature(name) {
			return res, fmt.Errorf("%w: signature name %q", ErrBadReply, name)
		}
		res.Infected = true
		res.Signature = name
		return res, nil
	}
	return res, fmt.Errorf("%w: %q", ErrBadReply, reply)
}

// validSignature accepts the names clamd prints: printable ASCII without
// spaces, bounded in length.
func validSignature(s string) bool {
	if s == "" || len(s) > MaxSignatureName {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
