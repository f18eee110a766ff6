package milter

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
)

// recordConn records each Write as one segment.
type recordConn struct {
	net.Conn
	writes [][]byte
}

func (r *recordConn) Write(p []byte) (int, error) {
	r.writes = append(r.writes, append([]byte(nil), p...))
	return len(p), nil
}

func frame(code byte, data []byte) (hdr, body []byte) {
	hdr = make([]byte, 5)
	binary.BigEndian.PutUint32(hdr, uint32(len(data)+1))
	hdr[4] = code
	return hdr, data
}

func TestFrameConnCoalesces(t *testing.T) {
	tests := []struct {
		name     string
		dataLens []int
		wantSegs int
	}{
		{"code only", []int{0}, 1},
		{"header plus data", []int{10}, 1},
		{"three frames", []int{0, 100, 3}, 3},
		{"oversized passes through", []int{maxPending + 10}, 2},
		{"oversized then small", []int{maxPending + 10, 5}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordConn{}
			fc := &frameConn{Conn: rec}
			var want bytes.Buffer
			for i, n := range tt.dataLens {
				hdr, body := frame(byte('a'+i), bytes.Repeat([]byte{byte(i)}, n))
				want.Write(hdr)
				want.Write(body)
				if _, err := fc.Write(hdr); err != nil {
					t.Fatal(err)
				}
				if len(body) > 0 {
					if _, err := fc.Write(body); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := bytes.Join(rec.writes, nil); !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("bytes differ: got %d want %d", len(got), want.Len())
			}
			if len(rec.writes) != tt.wantSegs {
				t.Errorf("%d writes, want %d", len(rec.writes), tt.wantSegs)
			}
			if len(fc.pending) != 0 || fc.through != 0 {
				t.Errorf("left pending=%d through=%d", len(fc.pending), fc.through)
			}
		})
	}
}
