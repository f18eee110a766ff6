package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportSMECommand runs the verb on the sample databases, then `config
// check` on what it wrote; a second run without --force refuses to overwrite.
func TestImportSMECommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "mailwarden.toml")
	var so, se bytes.Buffer
	if rc := dispatch([]string{"import-sme", "../../internal/smeimport/testdata/full", "-o", out}, &so, &se); rc != 0 {
		t.Fatalf("rc %d: %s", rc, se.String())
	}
	if !strings.Contains(se.String(), "settings carried over") {
		t.Errorf("stderr: %s", se.String())
	}
	data, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(data), `zones = ["zen.spamhaus.org", "bl.spamcop.net"]`) {
		t.Fatalf("output %v:\n%s", err, data)
	}
	so.Reset()
	if rc := dispatch([]string{"config", "check", out}, &so, &se); rc != 0 {
		t.Fatalf("config check: rc %d: %s", rc, se.String())
	}
	if rc := dispatch([]string{"import-sme", "../../internal/smeimport/testdata/full", "-o", out}, &so, &se); rc == 0 {
		t.Error("overwrote an existing file without --force")
	}
	if rc := dispatch([]string{"import-sme", t.TempDir()}, &so, &se); rc != 1 {
		t.Errorf("empty dir: rc %d, want 1", rc)
	}
}
