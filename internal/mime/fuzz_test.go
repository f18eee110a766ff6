package mime

import (
	"bytes"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes to the MIME walker: it must never panic,
// stay within its limits and finish quickly. Seeds: the malformed set plus
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(crlf(multiMsg)))
	for _, tc := range malformedSet() {
		if len(tc.msg) < 64<<10 {
			f.Add([]byte(crlf(tc.msg)))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		p := Parse(bytes.NewReader(data))
		if p.MaxDepthSeen > MaxDepth || p.Entities > MaxParts || len(p.Links) > MaxURLs {
			t.Fatalf("limits exceeded: depth %d entities %d links %d", p.MaxDepthSeen, p.Entities, len(p.Links))
		}
		var total int64
		for _, pt := range p.Parts {
			total += pt.Size
			if len(pt.Head) > HeadBytes {
				t.Fatalf("head %d bytes", len(pt.Head))
			}
		}
		if total > MaxDecodedBytes {
			t.Fatalf("decoded %d bytes", total)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v on %d bytes", d, len(data))
		}
	})
}
