package milter

import (
	"net"
	"syscall"
)

// quickACK asks Linux to acknowledge received data at once instead of
// delaying the ACK up to ~40 ms. Postfix writes milter packets it expects no
// reply to (we negotiate no replies for connect, helo, headers, body) with
// Nagle's algorithm on: its next small packet waits for our ACK of the
// previous one, and a delayed ACK stalls every message by ~40 ms. The flag
// is not sticky in Linux, so it is set again after every read.
func quickACK(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
