package clamd_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/clamd/clamdtest"
)

// benchData is mail-like data: base64 text lines, no signature match.
func benchData(n int) []byte {
	line := []byte("TG9yZW0gaXBzdW0gZG9sb3Igc2l0IGFtZXQsIGNvbnNlY3RldHVyIGFkaXBpc2NpbmcgZWxpdCwg\r\n")
	return bytes.Repeat(line, n/len(line)+1)[:n]
}

// BenchmarkScan measures INSTREAM scans through a real clamd, one connection
// per scan (the client's behaviour).
func BenchmarkScan(b *testing.B) {
	srv := clamdtest.Start(b)
	c := srv.Client(30 * time.Second)
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20, 8 << 20} {
		data := benchData(size)
		b.Run(fmt.Sprintf("size=%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				res, err := c.Scan(context.Background(), bytes.NewReader(data))
				if err != nil || res.Infected {
					b.Fatal(res, err)
				}
			}
		})
		b.Run(fmt.Sprintf("parallel/size=%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.Scan(context.Background(), bytes.NewReader(data)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkScanSession measures the same scans over one IDSESSION
// connection, to see what a persistent session would save per message.
func BenchmarkScanSession(b *testing.B) {
	srv := clamdtest.Start(b)
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20} {
		data := benchData(size)
		b.Run(fmt.Sprintf("size=%dKiB", size>>10), func(b *testing.B) {
			conn, err := net.Dial("tcp", srv.Addr)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			br := bufio.NewReader(conn)
			io.WriteString(conn, "zIDSESSION\x00")
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := instream(conn, data); err != nil {
					b.Fatal(err)
				}
				reply, err := br.ReadString(0)
				if err != nil || !strings.HasSuffix(reply, "stream: OK\x00") {
					b.Fatalf("%q %v", reply, err)
				}
			}
			io.WriteString(conn, "zEND\x00")
		})
	}
}

func instream(w io.Writer, data []byte) error {
	var buf bytes.Buffer
	buf.WriteString("zINSTREAM\x00")
	for len(data) > 0 {
		n := min(len(data), 64<<10)
		binary.Write(&buf, binary.BigEndian, uint32(n))
		buf.Write(data[:n])
		data = data[n:]
	}
	buf.Write([]byte{0, 0, 0, 0})
	_, err := w.Write(buf.Bytes())
	return err
}
