package milter

import (
	"bufio"
	"encoding/binary"
	"net"
	"sync"
)

// frameListener hands out connections whose writes leave in one piece per
// milter frame. go-milter writes a frame's 5-byte header and its data with two
// Write calls; an MTA that reads with delayed ACKs may then wait ~40 ms for
// the second segment. Coalescing the frame makes every reply one segment
// (DESIGN.md: "write each reply in one write").
type frameListener struct{ net.Listener }

func (l frameListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	_, isTCP := c.(*net.TCPConn)
	if isTCP {
		quickACK(c)
	}
	return &frameConn{Conn: c, tcp: isTCP}, nil
}

// maxPending bounds the coalescing buffer: a frame larger than this (a body
// replacement chunk) is written as it comes.
const maxPending = 1 << 20

// frameConn buffers writes until a whole milter frame (4-byte big-endian
// length, then that many bytes) is present, then writes it at once. A frame
// larger than maxPending is passed through as it comes.
type frameConn struct {
	net.Conn
	mu      sync.Mutex
	pending []byte
	through int  // bytes of an oversized frame still to pass through
	tcp     bool // re-arm TCP_QUICKACK after reads
	br      *bufio.Reader
}

// readBuffer sizes the per-connection read buffer: go-milter reads a frame's
// 4-byte length and then its data with two reads; buffered, the packets an
// MTA sends back to back (headers, body chunks: no replies negotiated) come
// in with one system call.
const readBuffer = 16 << 10

// Read reads through the buffer.
func (c *frameConn) Read(p []byte) (int, error) {
	if c.br == nil {
		c.br = bufio.NewReaderSize(rawReader{c}, readBuffer)
	}
	return c.br.Read(p)
}

// rawReader reads from the connection and re-arms the immediate ACK (see
// quickACK).
type rawReader struct{ c *frameConn }

func (r rawReader) Read(p []byte) (int, error) {
	n, err := r.c.Conn.Read(p)
	if r.c.tcp {
		quickACK(r.c.Conn)
	}
	return n, err
}

func (c *frameConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := len(p)
	for len(p) > 0 {
		if c.through > 0 {
			k := min(c.through, len(p))
			if _, err := c.Conn.Write(p[:k]); err != nil {
				return 0, err
			}
			c.through -= k
			p = p[k:]
			continue
		}
		c.pending = append(c.pending, p...)
		p = nil
		for len(c.pending) >= 4 {
			n := int(binary.BigEndian.Uint32(c.pending[:4])) + 4
			if n > maxPending {
				if _, err := c.Conn.Write(c.pending); err != nil {
					c.pending = nil
					return 0, err
				}
				c.through = n - len(c.pending)
				c.pending = nil
				break
			}
			if len(c.pending) < n {
				break
			}
			if _, err := c.Conn.Write(c.pending[:n]); err != nil {
				c.pending = nil
				return 0, err
			}
			c.pending = c.pending[n:]
		}
	}
	if len(c.pending) == 0 {
		c.pending = nil
	}
	return total, nil
}
