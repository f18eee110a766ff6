package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/dnstest"
)

func TestDNSBLCommand(t *testing.T) {
	srv := dnstest.New(t)
	srv.AddRR(t,
		"bl.example. 60 IN SOA ns. host. 1 3600 600 86400 60",
		"2.0.0.127.bl.example. 60 IN A 127.0.0.2",
		`2.0.0.127.bl.example. 60 IN TXT "listed for testing"`,
		"dbl.example. 60 IN SOA ns. host. 1 3600 600 86400 60",
		"bad.example.dbl.example. 60 IN A 127.0.1.2",
	)
	cfg := filepath.Join(t.TempDir(), "mw.toml")
	text := fmt.Sprintf("[dns]\nservers = [%q]\n[envelope.dnsbl]\nenabled = true\nzones = [\"bl.example\"]\n[envelope.rhsbl]\nzones = [\"dbl.example\"]\n[envelope.uribl]\nzones = [\"dbl.example\"]\n", srv.Addr())
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		status int
		want   []string
	}{
		{"status only", nil, 0, []string{"DNSBL status: enabled (mode reject, budget 5s)\n  RBLList: bl.example", "RHSBL status: disabled", "UBLList: dbl.example"}},
		{"listed ip", []string{"127.0.0.2"}, 1, []string{"127.0.0.2 bl.example: listed (listed 127.0.0.2) listed for testing"}},
		{"clean ip", []string{"192.0.2.1"}, 0, []string{"192.0.2.1 bl.example: clean"}},
		{"listed domain", []string{"bad.example"}, 1, []string{"bad.example dbl.example: listed"}},
		{"neither", []string{"not a name"}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := dispatch(append([]string{"dnsbl", "-c", cfg}, tt.args...), &out, &errb)
			if code != tt.status {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.status, out.String(), errb.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
