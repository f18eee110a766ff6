// Package testenv gives integration tests their real components: it finds
// (or, in CI, insists on) Debian programs such as postfix, redis-server,
// clamd and opendkim-testmsg, builds the mailwarden binary once, locates the
// shared test data beside the repository, and runs private instances of
// Postfix and mailwarden on loopback (postfix.go, daemon.go).
//
// In CI (CI=true) a missing component fails the test; elsewhere the test is
// skipped with a message saying what to install (`make test-deps`).
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips the test, or fails it in CI, for want of a component.
func Missing(t testing.TB, what, hint string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is required in CI but missing: %s", what, hint)
	}
	t.Skipf("%s missing (%s); run `make test-deps`", what, hint)
}

// RequireBinary returns the path of a program, looking in PATH and in the
// sbin directories Debian installs daemons to.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/lib/postfix/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	Missing(t, name, "Debian package providing "+name)
	return ""
}

// RequireShort skips integration tests under `go test -short`.
func RequireLong(t testing.TB) {
	t.Helper()
	if testing.Short() && !InCI() {
		t.Skip("integration test skipped with -short")
	}
}

// RepoRoot returns the repository's root directory (where go.mod is).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedDir returns ../shared beside the repository, skipping the test (or
// failing it in CI) when absent. sub is a path inside it, e.g. "testdata/spf".
func SharedDir(t testing.TB, sub string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(), "..", "shared", sub)
	if _, err := os.Stat(p); err != nil {
		if InCI() {
			t.Fatalf("shared test data %s missing in CI: %v", p, err)
		}
		t.Skipf("shared test data %s not found (it lives beside the repository as ../shared); skipping", p)
	}
	return p
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	buildOut  []byte
)

// Mailwarden builds the mailwarden binary once per test process and returns
// its path.
func Mailwarden(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mailwarden-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "mailwarden")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/mailwarden")
		cmd.Dir = RepoRoot()
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building mailwarden: %v\n%s", buildErr, buildOut)
	}
	return buildPath
}
