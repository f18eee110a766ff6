package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite want.txt golden files")

// TestBadConfigs loads every testdata/bad/NAME/config.toml and compares the
// error with want.txt (chasquid's t-20-bad_configs, in Go).
func TestBadConfigs(t *testing.T) {
	dirs, err := filepath.Glob("testdata/bad/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "config.toml"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse("config.toml", data)
			if err == nil {
				t.Fatal("bad config accepted")
			}
			wantFile := filepath.Join(dir, "want.txt")
			if *update {
				os.WriteFile(wantFile, []byte(err.Error()+"\n"), 0o644)
			}
			want, _ := os.ReadFile(wantFile)
			if got := err.Error(); got != strings.TrimSpace(string(want)) {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestShippedExampleConfigLoads(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "mailwarden.toml")
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("deploy/mailwarden.toml: %v", err)
	}
	d := Defaults()
	// The example documents the defaults: it must not silently change them.
	if cfg.Spam != d.Spam || cfg.Limits != d.Limits || cfg.Engine != d.Engine {
		t.Errorf("example config differs from the defaults:\n%+v\n%+v", cfg.Spam, d.Spam)
	}
}

func TestSMEDefaults(t *testing.T) {
	d := Defaults()
	if d.Spam.TagLevel != 4 || d.Spam.RejectLevel != 12 || d.Limits.ScanSizeLimit != 500000 {
		t.Fatalf("SME defaults changed: %+v %+v", d.Spam, d.Limits)
	}
	if !strings.HasPrefix(d.Server.MilterListen, "inet:127.0.0.1:") {
		t.Fatalf("milter must default to loopback, got %s", d.Server.MilterListen)
	}
}

func TestEffectiveLevels(t *testing.T) {
	tests := []struct {
		sens        string
		tag, reject float64
		wantTag     float64
		wantReject  bool
	}{
		{"custom", 4, 12, 4, true},
		{"custom", 4, 0, 4, false},
		{"veryhigh", 4, 12, 2, false},
		{"high", 4, 12, 3, false},
		{"medium", 4, 12, 5, false},
		{"low", 4, 12, 7, false},
		{"verylow", 4, 12, 9, false},
	}
	for _, tt := range tests {
		t.Run(tt.sens, func(t *testing.T) {
			tag, _, on := Spam{Sensitivity: tt.sens, TagLevel: tt.tag, RejectLevel: tt.reject}.EffectiveLevels()
			if tag != tt.wantTag || on != tt.wantReject {
				t.Fatalf("tag %.0f reject %v, want %.0f %v", tag, on, tt.wantTag, tt.wantReject)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{"500000", 500000, false}, {"500k", 500000, false}, {"25M", 25000000, false},
		{"1MiB", 1 << 20, false}, {"512 KiB", 512 << 10, false}, {"1G", 1000000000, false},
		{"-1", 0, true}, {"lots", 0, true}, {"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if (err != nil) != tt.bad || got != tt.want {
				t.Fatalf("ParseSize(%q) = %d, %v", tt.in, got, err)
			}
		})
	}
}

func TestParseListen(t *testing.T) {
	tests := []struct{ in, network, addr string }{
		{"inet:127.0.0.1:8891", "tcp", "127.0.0.1:8891"},
		{"unix:/run/mailwarden/milter.sock", "unix", "/run/mailwarden/milter.sock"},
		{"127.0.0.1:10040", "tcp", "127.0.0.1:10040"},
		{"inet6:[::1]:8891", "tcp", "[::1]:8891"},
	}
	for _, tt := range tests {
		n, a, err := ParseListen(tt.in)
		if err != nil || n != tt.network || a != tt.addr {
			t.Errorf("ParseListen(%q) = %s %s %v", tt.in, n, a, err)
		}
	}
	for _, bad := range []string{"unix:relative.sock", "8891", "inet:host:port"} {
		if _, _, err := ParseListen(bad); err == nil {
			t.Errorf("ParseListen(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/bad/*/config.toml")
	seeds = append(seeds, filepath.Join("..", "..", "deploy", "mailwarden.toml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.toml", data)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

func TestIsSetIsExact(t *testing.T) {
	cfg, err := Parse("c.toml", []byte("[rules]\nenabled = true\n[spam]\ntag_level = 5.0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IsSet("rules.paths") || !cfg.IsSet("rules.enabled") || !cfg.IsSet("spam.tag_level") {
		t.Fatal("IsSet must not fall back to the enclosing table")
	}
	if cfg.Line("rules.paths") != 1 {
		t.Fatal("Line falls back to the table's line for error messages")
	}
}
