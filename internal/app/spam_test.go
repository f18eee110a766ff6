package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTemp(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRulesConfig: rule files load with the engine; a Perl-only regexp is a
// config error naming the rule file and line; a missing default rules
// directory is tolerated, a missing configured one is not.
func TestRulesConfig(t *testing.T) {
	dir := t.TempDir()
	good := writeTemp(t, dir, "good.cf", "body LOCAL_X /cheap meds/i\nscore LOCAL_X 2.5\n")
	bad := writeTemp(t, dir, "bad.cf", "body OK_RULE /fine/\nbody LOCAL_Y /foo(?!bar)/\n")
	tests := []struct {
		name, toml string
		errs       []string
	}{
		{"good rules and score override", "[rules]\npaths = [\"good.cf\"]\n[scores]\nLOCAL_X = 4.0\n", nil},
		{"default dir missing is fine", "[load]\nenabled = false\n", nil},
		{"perl look-ahead", "[rules]\npaths = [\"bad.cf\"]\n", []string{"cfg.toml:2: rules.paths", bad + ":2: body LOCAL_Y: Perl negative look-ahead"}},
		{"configured path missing", "[rules]\npaths = [\"nope.cf\"]\n", []string{"rules.paths", "nope.cf"}},
		{"unknown symbol in scores", "[rules]\npaths = [\"good.cf\"]\n[scores]\nLOCAL_Z = 1\n", []string{"scores.LOCAL_Z"}},
	}
	_ = good
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfgPath := writeTemp(t, dir, "cfg.toml", tc.toml)
			_, e, err := LoadEngine(cfgPath, Deps{})
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(tc.toml, "LOCAL_X = 4.0") {
					if w, ok := e.Weight("LOCAL_X"); !ok || w != 4 {
						t.Errorf("LOCAL_X weight %v %v", w, ok)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.errs)
			}
			for _, want := range tc.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}
