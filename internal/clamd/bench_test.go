package clamd_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
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

// BenchmarkScanSession measures the same scans through ScanOpen with
// persistent IDSESSION connections.
func BenchmarkScanSession(b *testing.B) {
	srv := clamdtest.Start(b)
	c := srv.Client(30 * time.Second)
	c.Sessions = 4
	defer c.Close()
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20} {
		data := benchData(size)
		open := func() io.Reader { return bytes.NewReader(data) }
		b.Run(fmt.Sprintf("size=%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				if res, err := c.ScanOpen(context.Background(), open); err != nil || res.Infected {
					b.Fatal(res, err)
				}
			}
		})
		b.Run(fmt.Sprintf("parallel/size=%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.ScanOpen(context.Background(), open); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
